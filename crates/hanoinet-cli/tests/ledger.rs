//! `hanoinet ledger verify` as an auditor runs it: against a real node, then after someone edits,
//! deletes, reorders or truncates-and-regrows the log directly in the database. SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

use hanoinet_node::provision::network::{self, NetworkFile};
use hanoinet_node::{NodeHandle, Tunables};
use hanoinet_store::Store;
use hanoinet_store::tamper::{execute_raw, rebuild_ledger};
use hanoinet_store::testing::{Backend, TempDir, TestDb};

struct Net {
    tmp: TempDir,
    _dbs: Vec<TestDb>,
    file: NetworkFile,
    nodes: Vec<NodeHandle>,
    backend: Backend,
}

async fn start(backend: Backend) -> Net {
    let tmp = TempDir::new("ledger-cli");
    let local = network::local(tmp.path(), &["VNM/247", "FRA/247"], backend)
        .await
        .unwrap();
    let tunables = Tunables {
        ledger_interval: Duration::from_millis(50),
        ..Tunables::default()
    };
    let mut nodes = Vec::new();
    for (n, l) in local.file.nodes.iter().zip(local.listeners) {
        nodes.push(network::start_node(n, l, tunables.clone()).await.unwrap());
    }
    let net = Net {
        tmp,
        _dbs: local.databases,
        file: local.file,
        nodes,
        backend,
    };
    // Some history: requests from VNM to FRA, delivered.
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let body = serde_json::json!({
            "type": "preservation", "to": "FRA/247", "requesting_authority": "Unit", "offence": "fraud",
            "summary_of_facts": "facts", "data_to_preserve": "logs", "relationship_to_offence": "used",
            "custodian_or_location": "unknown", "necessity": "deletion", "mla_request_to_follow": true, "offence_category": "ict_theft_or_fraud", "language": "en", "proportionality_justification": "One account, two months of records"
        });
        let r = http
            .post(format!("{}/api/v1/requests", net.file.nodes[0].api_url))
            .bearer_auth(&net.file.nodes[0].token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let start = Instant::now();
    while net.nodes[1].state.store.inbox_counts().await.unwrap().0 < 3 {
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    net
}

impl Net {
    fn fra_store(&self) -> &Store {
        &self.nodes[1].state.store
    }

    /// Runs `hanoinet ledger verify` against FRA; returns (success, stdout + stderr).
    fn verify(&self, extra: &[&str]) -> (bool, String) {
        let fra = &self.file.nodes[1];
        let state = self.tmp.path().join("verifier-state.json");
        let out = Command::new(env!("CARGO_BIN_EXE_hanoinet"))
            .args([
                "ledger",
                "verify",
                "--url",
                &fra.api_url,
                "--token",
                &fra.auditor_token,
                "--state",
            ])
            .arg(&state)
            .args(extra)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn sql(&self, sqlite: &str, postgres: &str) {
        let sql = if self.backend == Backend::Sqlite {
            sqlite
        } else {
            postgres
        };
        execute_raw(self.fra_store(), sql).await.unwrap();
    }

    async fn shutdown(self) {
        for n in self.nodes {
            n.shutdown().await;
        }
    }
}

async fn verifies_then_catches(backend: Backend, tamper: &str) {
    let net = start(backend).await;
    let depositary = net.tmp.path().join("depositary/depositary.pub");
    let (ok, out) = net.verify(&["--depositary-key", depositary.to_str().unwrap()]);
    assert!(ok && out.starts_with("OK: log FRA/247 verified"), "{out}");
    // Verified again later: the log grew and stays consistent.
    let (ok, out) = net.verify(&[]);
    assert!(ok && out.contains("consistent with the head"), "{out}");

    match tamper {
        "edit" => {
            net.sql(
                "UPDATE ledger_entries SET entry = entry || X'00' WHERE idx = 2",
                r"UPDATE ledger_entries SET entry = entry || '\x00'::bytea WHERE idx = 2",
            )
            .await
        }
        "delete" => {
            net.sql(
                "DELETE FROM ledger_entries WHERE idx = 2",
                "DELETE FROM ledger_entries WHERE idx = 2",
            )
            .await
        }
        "reorder" => {
            for (a, b) in [(1, -1), (2, 1), (-1, 2)] {
                let sql = format!("UPDATE ledger_entries SET idx = {b} WHERE idx = {a}");
                net.sql(&sql, &sql).await;
            }
        }
        "truncate_and_regrow" => {
            let size = net.fra_store().ledger_size().await.unwrap();
            let mut log: Vec<Vec<u8>> = net
                .fra_store()
                .ledger_entries(0, size / 2)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, e)| e)
                .collect();
            log.extend((0..size).map(|i| format!("regrown {i}").into_bytes()));
            rebuild_ledger(net.fra_store(), &log).await.unwrap();
        }
        other => panic!("unknown tampering {other}"),
    }
    let (ok, out) = net.verify(&[]);
    assert!(!ok, "ledger verify missed a {tamper}: {out}");
    assert!(out.contains("FAIL:"), "{out}");
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_depositary_key_fails() {
    let net = start(Backend::Sqlite).await;
    let other = hanoinet_protocol::keys::DepositaryKey::generate().public_b64();
    let (ok, out) = net.verify(&["--depositary-key", &other]);
    assert!(!ok && out.contains("FAIL:"), "{out}");
    net.shutdown().await;
}

macro_rules! tamper_tests {
    ($($name:ident: $backend:expr, $tamper:literal;)*) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            verifies_then_catches($backend, $tamper).await;
        })*
    };
}

tamper_tests! {
    verify_catches_an_edited_entry_sqlite: Backend::Sqlite, "edit";
    verify_catches_a_deleted_entry_sqlite: Backend::Sqlite, "delete";
    verify_catches_reordered_entries_sqlite: Backend::Sqlite, "reorder";
    verify_catches_a_truncated_and_regrown_log_sqlite: Backend::Sqlite, "truncate_and_regrow";
    verify_catches_an_edited_entry_postgres: Backend::Postgres, "edit";
    verify_catches_a_deleted_entry_postgres: Backend::Postgres, "delete";
    verify_catches_reordered_entries_postgres: Backend::Postgres, "reorder";
    verify_catches_a_truncated_and_regrown_log_postgres: Backend::Postgres, "truncate_and_regrow";
}
