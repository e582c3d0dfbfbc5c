//! What an administrator meets on day one, with the real binary: the build's version and
//! commit, private files, one serving process per SQLite database, warnings on plain-HTTP peers,
//! logs a machine can read, fast and distinct failures, and a killed node that takes back its
//! reserved envelopes at restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use hanoinet_core::NodeId;
use hanoinet_node::provision::network::{self, NetworkFile, NodeSpec};
use hanoinet_store::testing::{Backend, TempDir, TestDb, free_port};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hanoinet"));
    c.env("RUST_LOG", "warn").env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn serve(dir: &Path, extra: &[&str]) -> Child {
    bin()
        .args(["serve", "--dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn wait_up(http: &reqwest::Client, url: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} did not come up");
}

async fn two_nodes(tmp: &Path, backend: Backend, dbs: &mut Vec<TestDb>) -> NetworkFile {
    let mut specs = Vec::new();
    for id in ["VNM/247", "FRA/247"] {
        let database = if backend == Backend::Postgres {
            let db = TestDb::new(Backend::Postgres, None).await.unwrap();
            let url = db.url.clone();
            dbs.push(db);
            Some(url)
        } else {
            None
        };
        specs.push(NodeSpec {
            id: id.parse::<NodeId>().unwrap(),
            listen: format!("127.0.0.1:{}", free_port()),
            database,
        });
    }
    network::provision(
        tmp,
        &specs,
        network::demo_states(network::today()).unwrap(),
        true,
    )
    .await
    .unwrap()
}

fn preservation() -> Value {
    json!({
        "type": "preservation", "to": "FRA/247",
        "requesting_authority": "Cybercrime Unit", "offence": "ICT fraud",
        "summary_of_facts": "Phishing", "data_to_preserve": "Login records",
        "relationship_to_offence": "Registered the domain", "custodian_or_location": "unknown",
        "necessity": "Short retention", "mla_request_to_follow": true,
        "offence_category": "ict_theft_or_fraud", "language": "en",
        "proportionality_justification": "One account, two months of records"
    })
}

fn stderr_of(mut child: Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_version_names_the_commit() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // "hanoinet 0.1.0 (commit 0123456789ab)": built from a git checkout, the commit is known.
    let commit = text
        .trim()
        .strip_prefix(&format!("hanoinet {} (commit ", env!("CARGO_PKG_VERSION")))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_on_sqlite_is_private_alone_and_says_what_went_wrong() {
    let tmp = TempDir::new("guard");
    let net = two_nodes(tmp.path(), Backend::Sqlite, &mut Vec::new()).await;
    let vnm = &net.nodes[0];
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // A port in use fails at once, before the database is touched, with exit status 3.
    let taken = std::net::TcpListener::bind(vnm.api_url.trim_start_matches("http://")).unwrap();
    let started = Instant::now();
    let out = bin()
        .args(["serve", "--dir"])
        .arg(&vnm.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on"));
    drop(taken);

    let first = serve(&vnm.dir, &[]);
    wait_up(&http, &vnm.api_url).await;

    // Case content is readable by the node's user only.
    #[cfg(unix)]
    {
        assert_eq!(mode(&vnm.dir), 0o700, "node directory");
        assert_eq!(mode(&vnm.dir.join("keys.json")), 0o600);
        for f in ["node.db", "node.db-wal", "node.db-shm"] {
            assert_eq!(mode(&vnm.dir.join(f)), 0o600, "{f}");
        }
    }

    // A second process on the same SQLite database is refused (exit 3), and its warnings are
    // JSON lines when asked for.
    let out = bin()
        .args(["--log-format", "json", "serve", "--dir"])
        .arg(&vnm.dir)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another process is serving"), "{err}");
    let json_lines: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        json_lines.iter().any(|l| l["level"] == "WARN"
            && l["message"]
                .as_str()
                .unwrap_or("")
                .contains("plain http://")),
        "{err}"
    );

    // Live and ready, with the build.
    let live: Value = http
        .get(format!("{}/healthz", vnm.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "ok");
    assert_eq!(live["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(live["commit"].as_str().unwrap().len(), 12, "{live}");
    let ready = http
        .get(format!("{}/readyz", vnm.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["registry_serial"], 1);

    // The client's exit status tells failures apart; a token can come from a file.
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, format!("{}\n", vnm.token)).unwrap();
    let list = |args: &[&str]| {
        let mut all = vec!["request", "list"];
        all.extend_from_slice(args);
        run(&all)
    };
    let ok = list(&[
        "--url",
        &vnm.api_url,
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{ok:?}");
    let nobody = format!("http://127.0.0.1:{}", free_port());
    assert_eq!(
        list(&["--url", &nobody, "--token", &vnm.token])
            .status
            .code(),
        Some(3)
    );
    let refused = list(&["--url", &vnm.api_url, "--token", "hnt_wrong"]);
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let bad = run(&[
        "request",
        "send",
        "--url",
        &vnm.api_url,
        "--token",
        &vnm.token,
        "--to",
        "FRA/247",
    ]);
    assert_eq!(bad.status.code(), Some(5), "{bad:?}");
    let missing = run(&[
        "request",
        "show",
        "--url",
        &vnm.api_url,
        "--token",
        &vnm.token,
        "01890000-0000-7000-8000-000000000000",
    ]);
    assert_eq!(missing.status.code(), Some(6), "{missing:?}");

    // Lists say how many of how many they show, page through all, and print JSON.
    for _ in 0..3 {
        let r = http
            .post(format!("{}/api/v1/requests", vnm.api_url))
            .bearer_auth(&vnm.token)
            .json(&preservation())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let conn = ["--url", vnm.api_url.as_str(), "--token", vnm.token.as_str()];
    let text = |o: Output| String::from_utf8(o.stdout).unwrap();
    let two = text(list(&[&conn[..], &["--limit", "2"]].concat()));
    assert!(two.contains("showing 2 of 3"), "{two}");
    let all = text(list(
        &[
            &conn[..],
            &["--limit", "2", "--all", "--type", "preservation"],
        ]
        .concat(),
    ));
    assert!(all.contains("showing 3 of 3"), "{all}");
    let v: Value = serde_json::from_str(&text(list(
        &[
            &conn[..],
            &["--json", "--status", "queued", "--peer", "KEN/247"],
        ]
        .concat(),
    )))
    .unwrap();
    assert_eq!(
        (v["total"].as_i64(), v["requests"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let v: Value = serde_json::from_str(&text(list(&[&conn[..], &["--json"]].concat()))).unwrap();
    assert_eq!(v["total"], 3);

    // Logs off a terminal carry no colour codes; the demo registry's http:// URLs are named.
    let err = stderr_of(first);
    assert!(!err.contains('\u{1b}'), "colour codes in {err:?}");
    assert!(err.contains("plain http:// URL"), "{err}");
}

#[tokio::test]
async fn serve_fails_fast_and_clearly_when_postgresql_is_down() {
    let tmp = TempDir::new("pgdown");
    let net = two_nodes(tmp.path(), Backend::Sqlite, &mut Vec::new()).await;
    let started = Instant::now();
    let out = bin()
        .args(["serve", "--dir"])
        .arg(&net.nodes[0].dir)
        .args([
            "--database",
            &format!("postgres://postgres:secret@127.0.0.1:{}/none", free_port()),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the database") && err.contains("reachable"),
        "{err}"
    );
    assert!(
        !err.contains("secret"),
        "the password is not printed: {err}"
    );
}

/// A node killed while it holds envelopes (sending them to a peer that does not answer) sends
/// them within 5 s of its restart, instead of waiting for its 60 s reservation to end.
async fn a_killed_node_takes_back_its_envelopes(backend: Backend) {
    let tmp = TempDir::new("leases");
    let mut dbs = Vec::new();
    let net = two_nodes(tmp.path(), backend, &mut dbs).await;
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // FRA's address accepts connections and never answers.
    let hole = tokio::net::TcpListener::bind(fra.api_url.trim_start_matches("http://"))
        .await
        .unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = hole.accept().await {
            held.push(c);
        }
    });
    let lease = ["--lease-ms", "60000"];
    let mut vnm_proc = serve(&vnm.dir, &lease);
    wait_up(&http, &vnm.api_url).await;
    let created: Value = http
        .post(format!("{}/api/v1/requests", vnm.api_url))
        .bearer_auth(&vnm.token)
        .json(&preservation())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    // The worker has reserved the envelope and is waiting on FRA.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    vnm_proc.kill().unwrap();
    vnm_proc.wait().unwrap();
    holder.abort();
    let _ = holder.await;

    let fra_proc = serve(&fra.dir, &[]);
    wait_up(&http, &fra.api_url).await;
    let vnm_proc = serve(&vnm.dir, &lease);
    wait_up(&http, &vnm.api_url).await;
    let restarted = Instant::now();
    loop {
        let shown: Value = http
            .get(format!("{}/api/v1/requests/{id}", vnm.api_url))
            .bearer_auth(&vnm.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if shown["status"] == "delivered" {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "still {} {}s after the restart",
            shown["status"],
            restarted.elapsed().as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for p in [vnm_proc, fra_proc] {
        stderr_of(p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_takes_back_its_envelopes_sqlite() {
    a_killed_node_takes_back_its_envelopes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_takes_back_its_envelopes_postgres() {
    a_killed_node_takes_back_its_envelopes(Backend::Postgres).await;
}
