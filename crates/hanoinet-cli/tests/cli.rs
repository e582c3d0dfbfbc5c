//! The `hanoinet` binary as a new operator uses it: help, depositary tools, init, users, serve,
//! and the request client, in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use hanoinet_store::testing::{TempDir, free_port};

fn hanoinet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hanoinet"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = hanoinet(args);
    assert!(
        out.status.success(),
        "hanoinet {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = hanoinet(args);
    assert!(
        !out.status.success(),
        "hanoinet {args:?} should have failed"
    );
    String::from_utf8(out.stderr).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec![],
        vec!["demo"],
        vec!["init"],
        vec!["serve"],
        vec!["registry"],
        vec!["registry", "keygen"],
        vec!["registry", "new"],
        vec!["registry", "add-state"],
        vec!["registry", "add-node"],
        vec!["registry", "sign"],
        vec!["registry", "verify"],
        vec!["user"],
        vec!["user", "add"],
        vec!["user", "list"],
        vec!["user", "disable"],
        vec!["user", "rotate-token"],
        vec!["request"],
        vec!["request", "send"],
        vec!["request", "list"],
        vec!["request", "show"],
        vec!["request", "respond"],
        vec!["request", "move"],
        vec!["request", "enquire"],
        vec!["bench"],
        vec!["bench", "delivery"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = ok(&args);
        assert!(out.contains("Usage: hanoinet"), "{cmd:?}: {out}");
    }
}

fn wait_ready(url: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(url.trim_start_matches("http://")).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{url} did not come up");
}

#[test]
fn an_operator_sets_up_two_nodes_and_exchanges_a_request() {
    let tmp = TempDir::new("cli");
    let t = tmp.path();
    let dep = t.join("depositary");
    let depositary_pub = ok(&["registry", "keygen", "--out", p(&dep)])
        .trim()
        .to_owned();
    assert_eq!(
        std::fs::read_to_string(dep.join("depositary.pub"))
            .unwrap()
            .trim(),
        depositary_pub
    );

    let (vnm_port, fra_port) = (free_port(), free_port());
    let (vnm_dir, fra_dir) = (t.join("vnm"), t.join("fra"));
    for (dir, id, port) in [
        (&vnm_dir, "VNM/247", vnm_port),
        (&fra_dir, "FRA/247", fra_port),
    ] {
        let url = format!("http://127.0.0.1:{port}");
        let listen = format!("127.0.0.1:{port}");
        ok(&[
            "init",
            "--dir",
            p(dir),
            "--id",
            id,
            "--url",
            &url,
            "--listen",
            &listen,
            "--depositary-key",
            &depositary_pub,
        ]);
    }
    // init never overwrites keys.
    let err = fails(&[
        "init",
        "--dir",
        p(&vnm_dir),
        "--id",
        "VNM/247",
        "--url",
        "http://x",
        "--depositary-key",
        &depositary_pub,
    ]);
    assert!(err.contains("refusing to overwrite"), "{err}");

    let draft = t.join("draft.json");
    ok(&["registry", "new", "--file", p(&draft)]);
    ok(&[
        "registry",
        "add-state",
        "--file",
        p(&draft),
        "--code",
        "VNM",
        "--name",
        "Viet Nam",
        "--signed",
        "2025-10-25",
        "--instrument",
        "ratification",
        "--deposited",
        "2026-02-14",
        "--languages",
        "vi,en",
    ]);
    ok(&[
        "registry",
        "add-state",
        "--file",
        p(&draft),
        "--code",
        "FRA",
        "--name",
        "France",
        "--signed",
        "2025-10-25",
        "--reservation",
        "42(5)=2026-03-10=dual criminality",
    ]);
    ok(&[
        "registry",
        "add-node",
        "--file",
        p(&draft),
        "--identity",
        p(&vnm_dir.join("identity.json")),
    ]);
    ok(&[
        "registry",
        "add-node",
        "--file",
        p(&draft),
        "--identity",
        p(&fra_dir.join("identity.json")),
    ]);
    let signed = t.join("registry.json");
    ok(&[
        "registry",
        "sign",
        "--file",
        p(&draft),
        "--key",
        p(&dep.join("depositary.key")),
        "--out",
        p(&signed),
    ]);
    let summary = ok(&[
        "registry",
        "verify",
        "--registry",
        p(&signed),
        "--depositary-key",
        p(&dep.join("depositary.pub")),
    ]);
    assert!(
        summary.contains("signature verifies") && summary.contains("VNM/247"),
        "{summary}"
    );

    // A tampered registry, or one signed by another key, is refused with a clear message.
    let text = std::fs::read_to_string(&signed).unwrap();
    let tampered = t.join("tampered.json");
    std::fs::write(&tampered, text.replace("Viet Nam", "Viet Nan")).unwrap();
    let err = fails(&["serve", "--dir", p(&vnm_dir), "--registry", p(&tampered)]);
    assert!(err.contains("signature does not verify"), "{err}");
    let other = t.join("other");
    ok(&["registry", "keygen", "--out", p(&other)]);
    let forged = t.join("forged.json");
    ok(&[
        "registry",
        "sign",
        "--file",
        p(&draft),
        "--key",
        p(&other.join("depositary.key")),
        "--out",
        p(&forged),
    ]);
    let err = fails(&["serve", "--dir", p(&vnm_dir), "--registry", p(&forged)]);
    assert!(err.contains("not by the trusted depositary key"), "{err}");
    let err = fails(&["serve", "--dir", p(&vnm_dir)]);
    assert!(err.contains("no registry"), "{err}");

    for dir in [&vnm_dir, &fra_dir] {
        std::fs::copy(&signed, dir.join("registry.json")).unwrap();
    }
    let vnm_token = ok(&["user", "add", "--dir", p(&vnm_dir), "--name", "lan"])
        .trim()
        .to_owned();
    let fra_token = ok(&["user", "add", "--dir", p(&fra_dir), "--name", "claire"])
        .trim()
        .to_owned();
    assert!(vnm_token.starts_with("hnt_"));
    let err = fails(&["user", "add", "--dir", p(&vnm_dir), "--name", "lan"]);
    assert!(err.contains("already exists"), "{err}");

    let spawn = |dir: &Path| {
        Command::new(env!("CARGO_BIN_EXE_hanoinet"))
            .args(["serve", "--dir", p(dir)])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut vnm = spawn(&vnm_dir);
    let mut fra = spawn(&fra_dir);
    let (vnm_url, fra_url) = (
        format!("http://127.0.0.1:{vnm_port}"),
        format!("http://127.0.0.1:{fra_port}"),
    );
    wait_ready(&vnm_url);
    wait_ready(&fra_url);

    let sent: Value = serde_json::from_str(&ok(&[
        "request",
        "send",
        "--url",
        &vnm_url,
        "--token",
        &vnm_token,
        "--to",
        "FRA/247",
        "--requesting-authority",
        "Cybercrime Unit",
        "--offence",
        "ICT fraud",
        "--summary-of-facts",
        "Phishing",
        "--data-to-preserve",
        "Login records",
        "--relationship-to-offence",
        "Registered the domain",
        "--custodian-or-location",
        "unknown",
        "--necessity",
        "Short retention",
        "--mla-request-to-follow",
        "--offence-category",
        "ict_theft_or_fraud",
        "--language",
        "fr",
        "--proportionality-justification",
        "One account, two months",
        // Two States do not put the Convention in force (forty instruments do): this request
        // rests on a treaty, recorded on it.
        "--legal-basis",
        "bilateral_treaty",
        "--legal-basis-detail",
        "VNM-FRA MLA treaty (demo)",
    ]))
    .unwrap();
    let id = sent["id"].as_str().unwrap().to_owned();
    // A missing field is explained with its paragraph.
    let err = fails(&[
        "request",
        "send",
        "--url",
        &vnm_url,
        "--token",
        &vnm_token,
        "--to",
        "FRA/247",
        "--offence",
        "x",
    ]);
    assert!(
        err.contains("validation_failed") && err.contains("Art. 42(2)(a)"),
        "{err}"
    );

    let start = Instant::now();
    loop {
        let list = ok(&[
            "request",
            "list",
            "--url",
            &fra_url,
            "--token",
            &fra_token,
            "--direction",
            "incoming",
        ]);
        if list.contains(&id) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never arrived: {list}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let answered: Value = serde_json::from_str(&ok(&[
        "request", "respond", "--url", &fra_url, "--token", &fra_token, &id, "--accept",
    ]))
    .unwrap();
    assert_eq!(answered["status"], "accepted");
    let start = Instant::now();
    loop {
        let shown: Value = serde_json::from_str(&ok(&[
            "request", "show", "--url", &vnm_url, "--token", &vnm_token, &id,
        ]))
        .unwrap();
        if shown["status"] == "accepted" {
            assert!(shown["preserved_until"].is_string());
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never accepted: {shown}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The lifecycle from the command line: a move the requesting side may not make names the
    // allowed ones; the requested side executes; the requesting side asks for the status.
    let err = fails(&[
        "request", "move", "--url", &vnm_url, "--token", &vnm_token, &id, "--status", "executed",
    ]);
    assert!(
        err.contains("conflict") && err.contains("allowed now: no_longer_needed"),
        "{err}"
    );
    let moved: Value = serde_json::from_str(&ok(&[
        "request", "move", "--url", &fra_url, "--token", &fra_token, &id, "--status", "executed",
    ]))
    .unwrap();
    assert_eq!(moved["status"], "executed");
    let asked: Value = serde_json::from_str(&ok(&[
        "request",
        "enquire",
        "--url",
        &vnm_url,
        "--token",
        &vnm_token,
        &id,
        "--note",
        "Any news?",
    ]))
    .unwrap();
    assert_eq!(asked["kind"], "status_enquiry");
    let err = fails(&[
        "request",
        "show",
        "--url",
        &vnm_url,
        "--token",
        "hnt_wrong",
        &id,
    ]);
    assert!(err.contains("unauthorized"), "{err}");

    // Tokens: listed with their last use and expiry, rotated, and cut off.
    let users: Value =
        serde_json::from_str(&ok(&["user", "list", "--dir", p(&vnm_dir), "--json"])).unwrap();
    let lan = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "lan")
        .unwrap()
        .clone();
    assert!(lan["last_used_at"].is_string(), "{lan}");
    assert!(
        lan["token_expires_at"].is_string(),
        "default policy: 90 days: {lan}"
    );
    assert!(lan["disabled_at"].is_null());
    assert!(ok(&["user", "list", "--dir", p(&vnm_dir)]).contains("lan"));
    let show =
        |token: &str| hanoinet(&["request", "show", "--url", &vnm_url, "--token", token, &id]);
    let new_token = ok(&[
        "user",
        "rotate-token",
        "--dir",
        p(&vnm_dir),
        "--name",
        "lan",
    ])
    .trim()
    .to_owned();
    assert!(new_token.starts_with("hnt_") && new_token != vnm_token);
    assert!(!show(&vnm_token).status.success(), "the old token is dead");
    assert!(show(&new_token).status.success());
    let out = ok(&["user", "disable", "--dir", p(&vnm_dir), "--name", "lan"]);
    assert!(out.contains("disabled lan"), "{out}");
    let refused = show(&new_token);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("disabled"),
        "{refused:?}"
    );
    let err = fails(&["user", "disable", "--dir", p(&vnm_dir), "--name", "lan"]);
    assert!(err.contains("no enabled user"), "{err}");
    let err = fails(&[
        "user",
        "rotate-token",
        "--dir",
        p(&vnm_dir),
        "--name",
        "lan",
    ]);
    assert!(err.contains("no enabled user"), "{err}");
    vnm.kill().unwrap();
    fra.kill().unwrap();
    let _ = (vnm.wait(), fra.wait());
}

/// Kills the demo when the test ends, passed or not.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hanoinet demo` as a new user runs it: Viet Nam's node is a response centre with a public
/// side, sample reports and an analyst, all named in network.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_response_centre() {
    let tmp = TempDir::new("demo");
    let dir = tmp.path().join("net");
    let port = free_port();
    let _demo = Child(
        Command::new(env!("CARGO_BIN_EXE_hanoinet"))
            .args(["demo", "--dir", p(&dir), "--base-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let public = format!("127.0.0.1:{}", port + 10);
    wait_ready(&format!("http://{public}"));
    let http = reqwest::Client::new();
    // Ready once the sample reports are in: the confirmed number is on the public list.
    let check = format!("http://{public}/public/v1/check?type=phone&value=0799%20123%20456");
    let mut listed = Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        listed = http.get(&check).send().await.unwrap().json().await.unwrap();
        if listed["listed"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed["listed"], true, "{listed}");
    assert_eq!(listed["canonical"], "+84799123456");
    // The lookup by prefix (docs/lookup.md's example) finds it too, within its refresh.
    let hash = "b0aae98a80daaa51ce8ebe3f6acd792685470061f7b648a9256dab22ca6a1e21";
    let mut found = Value::Null;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        found = http
            .get(format!("http://{public}/lookup/v1/hashes/b0aae"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if found["matches"].to_string().contains(hash) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found["matches"][0]["hash"], hash, "{found}");
    assert_eq!(
        found["matches"][0]["category"],
        "impersonation_of_authority"
    );
    let net: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("network.json")).unwrap()).unwrap();
    let vnm = &net["nodes"][0];
    assert_eq!(vnm["public_url"], format!("http://{public}/"));
    let roles: Vec<&str> = vnm["console"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"analyst"), "{roles:?}");
    let reports: Value = http
        .get(format!(
            "{}/api/v1/reports",
            vnm["api_url"].as_str().unwrap()
        ))
        .bearer_auth(vnm["analyst_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reports["reports"].as_array().unwrap().len(), 8, "{reports}");
}
