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

/// Creates a preservation request to FRA on `node`; returns its id.
async fn create(http: &reqwest::Client, node: &network::NetworkNode) -> String {
    let created: Value = http
        .post(format!("{}/api/v1/requests", node.api_url))
        .bearer_auth(&node.token)
        .json(&preservation())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// Waits until request `id` on `node` is `delivered`, for at most `within`.
async fn wait_delivered(
    http: &reqwest::Client,
    node: &network::NetworkNode,
    id: &str,
    within: Duration,
) {
    let start = Instant::now();
    loop {
        let shown: Value = http
            .get(format!("{}/api/v1/requests/{id}", node.api_url))
            .bearer_auth(&node.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if shown["status"] == "delivered" {
            return;
        }
        assert!(
            start.elapsed() < within,
            "still {} {} ms later",
            shown["status"],
            start.elapsed().as_millis()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let id = create(&http, vnm).await;
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
    wait_delivered(&http, vnm, &id, Duration::from_secs(5)).await;
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

fn ok(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        c,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn serial_of(http: &reqwest::Client, url: &str) -> u64 {
    let v: Value = http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["checks"]["registry_serial"].as_u64().unwrap()
}

async fn wait_serial(http: &reqwest::Client, url: &str, serial: u64) {
    let start = Instant::now();
    while serial_of(http, url).await != serial {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{url} never served registry serial {serial}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The administrator's round, with the real binary: `doctor` finds a peer down (exit 1) and
/// then nothing; the depositary publishes serial 2 from the node's own registry (`registry show
/// --json`, `bump-serial`, `sign`), `registry install` puts it in a running node, an older file
/// is refused; FRA rotates its keys (`keys rotate`, `add-node`, `sign --serial`), the registry
/// reaches VNM by SIGHUP and FRA by `registry install`, and requests keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_registry_roll_out_and_key_rotation() {
    let tmp = TempDir::new("rollout");
    let mut dbs = Vec::new();
    let net = two_nodes(tmp.path(), Backend::Sqlite, &mut dbs).await;
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let vnm_proc = serve(&vnm.dir, &[]);
    wait_up(&http, &vnm.api_url).await;

    // FRA is down: doctor says so and exits 1.
    let out = bin()
        .args(["doctor", "--dir"])
        .arg(&vnm.dir)
        .args(["--timeout-secs", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  peer FRA/247"), "{text}");
    assert!(text.contains("ok    database"), "{text}");
    let mut fra_proc = serve(&fra.dir, &[]);
    wait_up(&http, &fra.api_url).await;
    let out = bin()
        .args(["doctor", "--json", "--dir"])
        .arg(&vnm.dir)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["failed"], 0);

    // Serial 2, from the registry the node serves.
    let dep = tmp.path().join("depositary");
    let draft = tmp.path().join("draft.json");
    let shown = ok({
        let mut c = bin();
        c.args(["registry", "show", "--json"])
            .arg(dep.join("registry.json"));
        c
    });
    std::fs::write(&draft, shown).unwrap();
    ok({
        let mut c = bin();
        c.args(["registry", "bump-serial", "--file"]).arg(&draft);
        c
    });
    let r2 = tmp.path().join("r2.json");
    ok({
        let mut c = bin();
        c.args(["registry", "sign", "--file"])
            .arg(&draft)
            .arg("--key")
            .arg(dep.join("depositary.key"))
            .arg("--out")
            .arg(&r2);
        c
    });
    let installed = ok({
        let mut c = bin();
        c.args(["registry", "install"])
            .arg(&r2)
            .arg("--dir")
            .arg(&vnm.dir);
        c
    });
    assert!(
        installed.contains("installed registry serial 2 (was 1)"),
        "{installed}"
    );
    wait_serial(&http, &vnm.api_url, 2).await;
    // The first registry again: refused as a rollback (exit 7).
    let out = bin()
        .args(["registry", "install"])
        .arg(dep.join("registry.json"))
        .arg("--dir")
        .arg(&vnm.dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("never rolled back"));

    // FRA rotates its keys while a request is on its way to it.
    ok({
        let mut c = bin();
        c.args(["keys", "rotate", "--dir"]).arg(&fra.dir);
        c
    });
    ok({
        let mut c = bin();
        c.args(["registry", "add-node", "--overlap", "2h", "--file"])
            .arg(&draft)
            .arg("--identity")
            .arg(fra.dir.join("identity.json"));
        c
    });
    let r3 = tmp.path().join("r3.json");
    ok({
        let mut c = bin();
        c.args(["registry", "sign", "--serial", "3", "--file"])
            .arg(&draft)
            .arg("--key")
            .arg(dep.join("depositary.key"))
            .arg("--out")
            .arg(&r3);
        c
    });
    // VNM by SIGHUP, after the file is replaced.
    std::fs::copy(&r3, vnm.dir.join("registry.json")).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &vnm_proc.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    wait_serial(&http, &vnm.api_url, 3).await;
    // FRA still runs on serial 1 with its old key: VNM seals to FRA's new key, FRA opens it
    // with the new private key it holds, and signs the receipt with its old key (valid for 2 h).
    wait_delivered(
        &http,
        vnm,
        &create(&http, vnm).await,
        Duration::from_secs(10),
    )
    .await;
    // FRA restarts with the new registry installed: it signs with its new key.
    ok({
        let mut c = bin();
        c.args(["registry", "install"])
            .arg(&r3)
            .arg("--dir")
            .arg(&fra.dir);
        c
    });
    wait_serial(&http, &fra.api_url, 3).await;
    fra_proc.kill().unwrap();
    fra_proc.wait().unwrap();
    fra_proc = serve(&fra.dir, &[]);
    wait_up(&http, &fra.api_url).await;
    assert_eq!(serial_of(&http, &fra.api_url).await, 3);
    wait_delivered(
        &http,
        vnm,
        &create(&http, vnm).await,
        Duration::from_secs(10),
    )
    .await;
    for p in [vnm_proc, fra_proc] {
        stderr_of(p);
    }
}

/// Backup while the node runs (a private file whose ledger verifies), a tampered backup refused,
/// no restore under a running node, and a restore that brings the node back with its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_running_and_restore_a_verified_copy() {
    let tmp = TempDir::new("backup");
    let mut dbs = Vec::new();
    let net = two_nodes(tmp.path(), Backend::Sqlite, &mut dbs).await;
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut vnm_proc = serve(&vnm.dir, &[]);
    let fra_proc = serve(&fra.dir, &[]);
    wait_up(&http, &vnm.api_url).await;
    wait_up(&http, &fra.api_url).await;
    let id = create(&http, vnm).await;
    // Let the ledger sign a head over the creation.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let good = tmp.path().join("vnm-backup.db");
    let out = ok({
        let mut c = bin();
        c.args(["backup", "--dir"])
            .arg(&vnm.dir)
            .arg("--out")
            .arg(&good);
        c
    });
    assert!(out.contains("its ledger verifies"), "{out}");
    assert_eq!(mode(&good), 0o600);
    let again = bin()
        .args(["backup", "--dir"])
        .arg(&vnm.dir)
        .arg("--out")
        .arg(&good)
        .output()
        .unwrap();
    assert!(!again.status.success(), "a backup overwrote a file");

    // A copy whose ledger was altered is refused.
    let bad = tmp.path().join("tampered.db");
    std::fs::copy(&good, &bad).unwrap();
    let store = hanoinet_store::Store::connect(&format!("sqlite://{}", bad.display()))
        .await
        .unwrap();
    hanoinet_store::tamper::execute_raw(
        &store,
        "UPDATE ledger_entries SET entry = X'00' WHERE idx = 0",
    )
    .await
    .unwrap();
    store.close().await;
    let out = bin()
        .args(["restore", "--force", "--dir"])
        .arg(&vnm.dir)
        .arg("--from")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));

    // Not under a running node.
    let out = bin()
        .args(["restore", "--force", "--dir"])
        .arg(&vnm.dir)
        .arg("--from")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop the node first"));

    let _ = Command::new("kill")
        .args(["-TERM", &vnm_proc.id().to_string()])
        .status();
    vnm_proc.wait().unwrap();
    let out = bin()
        .args(["restore", "--dir"])
        .arg(&vnm.dir)
        .arg("--from")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(7),
        "without --force an existing database stays"
    );
    let out = ok({
        let mut c = bin();
        c.args(["restore", "--force", "--dir"])
            .arg(&vnm.dir)
            .arg("--from")
            .arg(&good);
        c
    });
    assert!(out.contains("the previous database is kept as"), "{out}");
    assert_eq!(mode(&vnm.dir.join("node.db")), 0o600);
    vnm_proc = serve(&vnm.dir, &[]);
    wait_up(&http, &vnm.api_url).await;
    let shown = http
        .get(format!("{}/api/v1/requests/{id}", vnm.api_url))
        .bearer_auth(&vnm.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        shown.status().as_u16(),
        200,
        "the restored node lost the request"
    );
    for p in [vnm_proc, fra_proc] {
        stderr_of(p);
    }
}

/// Evidence at size, with the real binaries: an attachment of `size_mib` goes from an officer's
/// file through two `serve` processes to the other officer's disk, intact, while the heap and
/// the mapped file pages of every process stay within a bound that does not grow with the
/// attachment (`hanoinet bench evidence`; BENCHMARKS.md has the release figures).
fn moves_in_flat_memory(size_mib: u64) {
    let out = run(&[
        "bench",
        "evidence",
        "--size-mib",
        &size_mib.to_string(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["size_bytes"], json!(size_mib << 20));
    assert_eq!(v["sha256_matches"], json!(true));
    let mib = |x: &Value| x.as_u64().unwrap() as f64 / f64::from(1 << 20);
    for who in ["sender", "receiver", "client"] {
        let m = &v[who];
        let heap = mib(&m["anon_peak"]) - mib(&m["anon_at_rest"]);
        let mapped = mib(&m["file_peak"]) - mib(&m["file_at_rest"]);
        // Holding the attachment, or a quarter of it, would pass these by far.
        assert!(
            heap < 64.0,
            "{who}: heap grew by {heap:.1} MiB while {size_mib} MiB passed: {m}"
        );
        assert!(
            mapped < 32.0,
            "{who}: mapped file pages grew by {mapped:.1} MiB while {size_mib} MiB passed: {m}"
        );
    }
}

#[test]
fn a_large_attachment_moves_in_flat_memory() {
    moves_in_flat_memory(256);
}

/// The figure, 2 GiB: five minutes of a debug build, so `scripts/test` runs it on its
/// own after the suite (`--run-ignored only`), where it competes with no other test.
#[test]
#[ignore = "2 GiB: run alone by scripts/test"]
fn two_gib_move_between_two_nodes_in_flat_memory() {
    moves_in_flat_memory(2048);
}

/// `request attach` killed in the middle goes on where the node stands when run again (the same
/// upload: nothing sent twice); `request download` resumes from an `OUT.part` left by a broken
/// run, throws away a part whose bytes do not hash to the attachment, refuses to overwrite
/// without `--force`, and leaves a 0600 file whose SHA-256 is the sender's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_and_download_resume_after_an_interruption() {
    use sha2::Digest;
    use std::io::{BufRead, Write};
    let tmp = TempDir::new("resume");
    let mut dbs = Vec::new();
    let net = two_nodes(tmp.path(), Backend::Sqlite, &mut dbs).await;
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let http = reqwest::Client::new();
    let procs = [serve(&vnm.dir, &[]), serve(&fra.dir, &[])];
    for n in [vnm, fra] {
        wait_up(&http, &n.api_url).await;
    }
    let mut body = hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::StoredData,
        "FRA/247",
        "",
    );
    body.as_object_mut().unwrap().remove("follows_request");
    let created: Value = http
        .post(format!("{}/api/v1/requests", vnm.api_url))
        .bearer_auth(&vnm.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let start = Instant::now();
    loop {
        let r = http
            .post(format!("{}/api/v1/requests/{id}/responses", fra.api_url))
            .bearer_auth(&fra.token)
            .json(&json!({"decision": "accept"}))
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 64 MiB that do not compress: four of attach's 16 MiB pieces.
    let file = tmp.path().join("disk.img");
    let mut data = vec![0u8; 64 << 20];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for w in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w.copy_from_slice(&x.to_le_bytes());
    }
    std::fs::File::create(&file)
        .unwrap()
        .write_all(&data)
        .unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&data));
    let attach = || {
        let mut c = bin();
        c.args(["request", "attach", &id]).arg(&file).args([
            "--url",
            &fra.api_url,
            "--token",
            &fra.token,
        ]);
        c
    };
    // Killed once the node holds the first piece.
    let mut first = attach().stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(first.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("attach ended first: {seen:?}"))
            .unwrap();
        let moved = line.starts_with("uploading") && !line.contains("0 B of");
        seen.push(line);
        if moved {
            break;
        }
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let again = attach().output().unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{err}");
    assert!(
        err.contains("uploading") && err.contains("resuming at"),
        "the second run went on from where the node stood: {err}"
    );
    let attachment: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(attachment["sha256"], json!(sha), "{attachment}");
    assert_eq!(attachment["size"], json!(64 << 20));
    let aid = attachment["id"].as_str().unwrap();

    // Given to VNM; its copy checked complete.
    let r = http
        .post(format!("{}/api/v1/requests/{id}/data", fra.api_url))
        .bearer_auth(&fra.token)
        .json(
            &json!({"conditions": {"purpose": "Case 7", "use_limitation": "None",
            "retention_until": "2030-01-01", "onward_transfer": "prohibited"},
            "attachments": [aid]}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let start = Instant::now();
    let received = loop {
        let v: Value = http
            .get(format!("{}/api/v1/requests/{id}/data", vnm.api_url))
            .bearer_auth(&vnm.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let a = &v["transfers"][0]["attachments"][0];
        if a["state"] == "complete" {
            break a["id"].as_str().unwrap().to_owned();
        }
        assert_ne!(a["state"], "corrupt");
        assert!(start.elapsed() < Duration::from_secs(120), "{v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let out = tmp.path().join("received.img");
    let part = tmp.path().join("received.img.part");
    let download = |force: bool| {
        let mut c = bin();
        c.args(["request", "download", &id, &received, "--out"])
            .arg(&out)
            .args(["--url", &vnm.api_url, "--token", &vnm.token]);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    // A part file whose bytes are not the attachment's: found out and thrown away.
    std::fs::write(&part, vec![7u8; 10 << 20]).unwrap();
    let bad = download(false);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("discarded"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(!part.exists() && !out.exists());
    // A broken run's part file (the first 10 MiB): resumed, then checked.
    std::fs::write(&part, &data[..10 << 20]).unwrap();
    let ok = download(false);
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{err}");
    assert!(err.contains("resuming at 10.0 MiB"), "{err}");
    let done: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(done["sha256"], json!(sha));
    assert_eq!(std::fs::read(&out).unwrap(), data);
    assert_eq!(mode(&out), 0o600);
    assert!(!part.exists());
    // An existing file is not overwritten without --force (exit 7).
    let refused = download(false);
    assert_eq!(refused.status.code(), Some(7));
    assert!(download(true).status.success());
    for p in procs {
        stderr_of(p);
    }
}
