//! A node killed with SIGKILL at any moment and restarted ends with every accepted request
//! delivered exactly once. Runs the real `hanoinet serve` binary, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngExt;
use serde_json::{Value, json};

use hanoinet_core::NodeId;
use hanoinet_node::provision::network::{self, NodeSpec};
use hanoinet_store::Store;
use hanoinet_store::testing::{Backend, TempDir, TestDb, free_port};

fn serve(dir: &Path) -> Child {
    let log = std::env::var_os("TEST_LOG").is_some();
    Command::new(env!("CARGO_BIN_EXE_hanoinet"))
        .args(["serve", "--dir"])
        .arg(dir)
        .args([
            "--retry-base-ms",
            "50",
            "--retry-max-ms",
            "400",
            "--lease-ms",
            "1500",
        ])
        .env("RUST_LOG", if log { "info" } else { "error" })
        .stdout(Stdio::null())
        .stderr(if log { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .expect("starting hanoinet serve")
}

async fn wait_ready(http: &reqwest::Client, url: &str) {
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

fn body() -> Value {
    json!({
        "type": "preservation", "to": "FRA/247",
        "requesting_authority": "Cybercrime Unit", "offence": "ICT fraud (Art. 13)",
        "summary_of_facts": "Phishing", "data_to_preserve": "Login records",
        "relationship_to_offence": "Registered the domain", "custodian_or_location": "unknown",
        "necessity": "Short retention", "mla_request_to_follow": true, "offence_category": "ict_theft_or_fraud", "language": "en", "proportionality_justification": "One account, two months of records"
    })
}

async fn ids(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    direction: &str,
) -> Vec<(String, String)> {
    let v: Value = http
        .get(format!(
            "{url}/api/v1/requests?direction={direction}&limit=500"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn sigkill_and_restart(backend: Backend) {
    let tmp = TempDir::new("crash");
    let mut dbs = Vec::new();
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
    let net = network::provision(
        tmp.path(),
        &specs,
        network::demo_states(network::today()).unwrap(),
        true,
    )
    .await
    .unwrap();
    let (vnm, fra) = (&net.nodes[0], &net.nodes[1]);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let mut fra_proc = serve(&fra.dir);
    let mut vnm_proc = serve(&vnm.dir);
    wait_ready(&http, &fra.api_url).await;
    wait_ready(&http, &vnm.api_url).await;

    // A steady stream of requests, recording each one the node accepted (201).
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (http, url, token, accepted, stop) = (
            http.clone(),
            vnm.api_url.clone(),
            vnm.token.clone(),
            accepted.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            // Stay under the API's list limit (500) so the checks below see every request.
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && accepted.lock().unwrap().len() < 400
            {
                match http
                    .post(format!("{url}/api/v1/requests"))
                    .bearer_auth(&token)
                    .json(&body())
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        accepted
                            .lock()
                            .unwrap()
                            .insert(v["id"].as_str().unwrap().to_owned());
                    }
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        })
    };

    // Kill the sender at random moments; now and then the receiver too.
    for round in 0..6 {
        // Each round kills a node that has made progress since the last one (on a loaded machine
        // a restarted node may take a while to answer its first request).
        let before = accepted.lock().unwrap().len();
        let start = Instant::now();
        while accepted.lock().unwrap().len() <= before.min(399)
            && start.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pause = rand::rng().random_range(50..350);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        vnm_proc.kill().unwrap();
        vnm_proc.wait().unwrap();
        if round % 2 == 1 {
            fra_proc.kill().unwrap();
            fra_proc.wait().unwrap();
            fra_proc = serve(&fra.dir);
        }
        vnm_proc = serve(&vnm.dir);
        wait_ready(&http, &vnm.api_url).await;
        wait_ready(&http, &fra.api_url).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.await.unwrap();
    let accepted = accepted.lock().unwrap().clone();
    assert!(
        accepted.len() >= 20,
        "too few requests went through to test anything: {}",
        accepted.len()
    );

    // Everything the sender holds gets delivered.
    let start = Instant::now();
    loop {
        let out = ids(&http, &vnm.api_url, &vnm.token, "outgoing").await;
        if out.iter().all(|(_, s)| s == "delivered") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not all delivered: {:?}",
            out.iter().filter(|(_, s)| s != "delivered").count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outgoing: BTreeSet<String> = ids(&http, &vnm.api_url, &vnm.token, "outgoing")
        .await
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let incoming_list = ids(&http, &fra.api_url, &fra.token, "incoming").await;
    let incoming: BTreeSet<String> = incoming_list.iter().map(|(i, _)| i.clone()).collect();
    assert_eq!(
        incoming_list.len(),
        incoming.len(),
        "a request arrived twice"
    );
    // Every request the node accepted was delivered; nothing arrived that was not sent.
    assert!(
        accepted.is_subset(&outgoing),
        "accepted requests lost: {:?}",
        accepted.difference(&outgoing).collect::<Vec<_>>()
    );
    assert_eq!(incoming, outgoing);

    vnm_proc.kill().unwrap();
    fra_proc.kill().unwrap();
    vnm_proc.wait().unwrap();
    fra_proc.wait().unwrap();
    // Exactly once: one inbox envelope per incoming request.
    let (file, _) = hanoinet_node::provision::dir::load(&fra.dir, None).unwrap();
    let store = Store::connect(&file.database).await.unwrap();
    let (inbox, requests) = store.inbox_counts().await.unwrap();
    assert_eq!(
        (inbox, requests),
        (incoming.len() as i64, incoming.len() as i64)
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_loses_and_duplicates_nothing_sqlite() {
    sigkill_and_restart(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_loses_and_duplicates_nothing_postgres() {
    sigkill_and_restart(Backend::Postgres).await;
}
