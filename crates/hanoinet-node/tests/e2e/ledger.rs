//! The tamper-evident log through the API: every step is logged without case content, heads are
//! signed, proofs verify independently, and a peer that rewrites its log is caught by gossip.

use std::time::Duration;

use serde_json::Value;

use hanoinet_ledger::entry::Event;
use hanoinet_ledger::tree::Hash;
use hanoinet_ledger::{Entry, SignedTreeHead, verify};
use hanoinet_store::tamper::rebuild_ledger;

use crate::harness::*;

both_backends!(
    every_step_is_logged_and_provable,
    gossip_catches_a_log_that_was_edited,
    gossip_catches_a_log_that_lost_an_entry,
    gossip_catches_a_log_that_was_reordered,
    gossip_catches_a_log_that_was_truncated_and_regrown,
);

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

pub(crate) async fn head(net: &Net, i: usize) -> SignedTreeHead {
    let (s, v) = net.audit(i, "/api/v1/ledger/head").await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["root_hash"].as_str().unwrap().len() == 64
            && v["signature"].is_string()
            && v["timestamp"].is_string()
    );
    serde_json::from_value(v).unwrap()
}

pub(crate) async fn entries(net: &Net, i: usize, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let (s, v) = net
            .audit(
                i,
                &format!("/api/v1/ledger/entries?start={}&end={size}", out.len()),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        for e in v["entries"].as_array().unwrap() {
            assert_eq!(e["index"].as_u64().unwrap(), out.len() as u64);
            out.push(hanoinet_protocol::b64::decode(e["leaf"].as_str().unwrap()).unwrap());
        }
    }
    out
}

pub(crate) fn events_of(entries: &[Vec<u8>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| Entry::decode(e).unwrap().event)
        .collect()
}

async fn every_step_is_logged_and_provable(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, _) = net
        .respond(FRA, &id, serde_json::json!({"decision": "accept"}))
        .await;
    assert_eq!(s, 201);
    net.wait_status(VNM, &id, "accepted").await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            !net.get(FRA, &id).await["response_receipt"].is_null()
        })
        .await
    );
    // Let the ledgers integrate the last deliveries.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let vnm_keys = net
        .node(FRA)
        .state
        .registry()
        .node(&"VNM/247".parse().unwrap())
        .unwrap()
        .public_keys()
        .unwrap();
    let h = head(&net, VNM).await;
    assert!(h.verify(&vnm_keys), "head signed with VNM's registry key");
    assert_eq!(h.head.log_id, "VNM/247");
    let vnm = entries(&net, VNM, h.head.tree_size).await;
    let ev = events_of(&vnm);
    for e in [
        Event::UserCreated,
        Event::NodeStarted,
        Event::RequestCreated,
        Event::RequestDelivered,
        Event::StatusReceived,
        Event::RequestOpened,
    ] {
        assert!(
            ev.iter().any(|x| x == e.as_str()),
            "VNM log lacks {e}: {ev:?}"
        );
    }
    let fra_head = head(&net, FRA).await;
    let fra = entries(&net, FRA, fra_head.head.tree_size).await;
    let ev = events_of(&fra);
    for e in [
        Event::RequestReceived,
        Event::StatusChanged,
        Event::ResponseDelivered,
    ] {
        assert!(
            ev.iter().any(|x| x == e.as_str()),
            "FRA log lacks {e}: {ev:?}"
        );
    }
    // Auditors read the log without reading the case.
    let body = preservation("FRA/247");
    for leaf in vnm.iter().chain(&fra) {
        let text = String::from_utf8_lossy(leaf);
        for field in [
            "summary_of_facts",
            "data_to_preserve",
            "requesting_authority",
            "necessity",
        ] {
            assert!(
                !text.contains(body[field].as_str().unwrap()),
                "{field} leaked into the log"
            );
        }
        // Actors are ids, never names.
        let e = Entry::decode(leaf).unwrap();
        let ok = e.actor == "system"
            || e.actor == "operator"
            || e.actor.starts_with("node:")
            || e.actor
                .strip_prefix("user:")
                .is_some_and(|id| id.parse::<hanoinet_core::RequestId>().is_ok());
        assert!(ok, "actor {:?} is not an id", e.actor);
    }
    // Every entry's inclusion proof verifies against the signed root, with an independent verifier.
    let size = h.head.tree_size;
    for (index, leaf) in vnm.iter().enumerate() {
        let (s, p) = net
            .audit(
                VNM,
                &format!("/api/v1/ledger/proof/inclusion?index={index}&tree_size={size}"),
            )
            .await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(
            (p["leaf_index"].as_u64(), p["tree_size"].as_u64()),
            (Some(index as u64), Some(size))
        );
        assert!(verify::inclusion(
            leaf,
            index as u64,
            size,
            &hashes(&p["inclusion_path"]),
            &h.head.root_hash
        ));
    }
    // The log only grows: a later head is consistent with an earlier one.
    net.send(VNM, FRA).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            head(&net, VNM).await.head.tree_size > size
        })
        .await
    );
    let h2 = head(&net, VNM).await;
    let (s, p) = net
        .audit(
            VNM,
            &format!(
                "/api/v1/ledger/proof/consistency?first={size}&second={}",
                h2.head.tree_size
            ),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (p["first"].as_u64(), p["second"].as_u64()),
        (Some(size), Some(h2.head.tree_size))
    );
    assert!(verify::consistency(
        size,
        &h.head.root_hash,
        h2.head.tree_size,
        &h2.head.root_hash,
        &hashes(&p["consistency_path"])
    ));
    // Out-of-range questions are refused with a code.
    for bad in [
        format!("/api/v1/ledger/proof/inclusion?index={size}&tree_size={size}"),
        format!(
            "/api/v1/ledger/proof/inclusion?index=0&tree_size={}",
            h2.head.tree_size + 100
        ),
        "/api/v1/ledger/proof/consistency?first=0&second=1".to_owned(),
        "/api/v1/ledger/proof/consistency?first=5&second=4".to_owned(),
        "/api/v1/ledger/proof/inclusion?index=x&tree_size=1".to_owned(),
    ] {
        let (s, v) = net.audit(VNM, &bad).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("validation_failed")),
            "{bad}: {v}"
        );
    }
    // Peers fetch heads and proofs without tokens.
    let resp = net
        .http
        .get(format!("{}/federation/v1/ledger/head", net.url(VNM)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Each node keeps the heads it saw from its peer, checked for consistency.
    assert!(
        eventually(Duration::from_secs(10), || async {
            net.store(VNM)
                .peer_heads()
                .await
                .unwrap()
                .iter()
                .any(|h| h.peer == "FRA/247" && h.checked)
        })
        .await
    );
    let (s, v) = net
        .call(VNM, reqwest::Method::GET, "/api/v1/alerts", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["alerts"], serde_json::json!([]));
}

/// Runs traffic, lets VNM see FRA's head, rewrites FRA's log with `tamper` (recomputing every
/// hash, as a careful attacker would), runs more traffic, and expects VNM to raise an alert.
async fn gossip_catches(backend: hanoinet_store::testing::Backend, tamper: fn(&mut Vec<Vec<u8>>)) {
    let net = Net::start(backend).await;
    for _ in 0..3 {
        let id = net.send(VNM, FRA).await;
        net.wait_status(VNM, &id, "delivered").await;
    }
    let fra_size = head(&net, FRA).await.head.tree_size;
    // VNM must have checked a head of FRA's that covers the history about to be rewritten.
    let seen = eventually(Duration::from_secs(15), || async {
        let _ = net.send(VNM, FRA).await;
        net.store(VNM)
            .peer_heads()
            .await
            .unwrap()
            .iter()
            .any(|h| h.peer == "FRA/247" && h.checked && h.tree_size >= fra_size)
    })
    .await;
    assert!(seen, "VNM never saw FRA's head");

    let size = net.store(FRA).ledger_size().await.unwrap();
    let mut log: Vec<Vec<u8>> = net
        .store(FRA)
        .ledger_entries(0, size)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    tamper(&mut log);
    rebuild_ledger(net.store(FRA), &log).await.unwrap();

    let caught = eventually(Duration::from_secs(20), || async {
        let _ = net.send(VNM, FRA).await;
        let (_, v) = net
            .call(VNM, reqwest::Method::GET, "/api/v1/alerts", None)
            .await;
        !v["alerts"].as_array().unwrap().is_empty()
    })
    .await;
    assert!(caught, "VNM did not notice that FRA rewrote its log");
    let (_, v) = net
        .call(VNM, reqwest::Method::GET, "/api/v1/alerts", None)
        .await;
    let alert = &v["alerts"][0];
    assert_eq!(alert["kind"], "ledger_inconsistent");
    assert_eq!(alert["subject"], "FRA/247");
    let first: SignedTreeHead =
        serde_json::from_value(alert["evidence"]["first_head"].clone()).unwrap();
    let second: SignedTreeHead =
        serde_json::from_value(alert["evidence"]["second_head"].clone()).unwrap();
    let fra_keys = net
        .node(VNM)
        .state
        .registry()
        .node(&"FRA/247".parse().unwrap())
        .unwrap()
        .public_keys()
        .unwrap();
    assert!(
        first.verify(&fra_keys) && second.verify(&fra_keys),
        "both heads are FRA's own signed statements"
    );
    assert!(first.head.tree_size <= second.head.tree_size);
    // The alert is in VNM's own log too.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = head(&net, VNM).await;
    assert!(
        events_of(&entries(&net, VNM, h.head.tree_size).await)
            .iter()
            .any(|e| e == Event::PeerLogInconsistent.as_str())
    );
}

async fn gossip_catches_a_log_that_was_edited(backend: hanoinet_store::testing::Backend) {
    gossip_catches(backend, |log| {
        let mut e = Entry::decode(&log[2]).unwrap();
        e.actor = "user:someone-else".into();
        log[2] = e.encode();
    })
    .await;
}

async fn gossip_catches_a_log_that_lost_an_entry(backend: hanoinet_store::testing::Backend) {
    gossip_catches(backend, |log| {
        log.remove(2);
    })
    .await;
}

async fn gossip_catches_a_log_that_was_reordered(backend: hanoinet_store::testing::Backend) {
    gossip_catches(backend, |log| log.swap(1, 2)).await;
}

async fn gossip_catches_a_log_that_was_truncated_and_regrown(
    backend: hanoinet_store::testing::Backend,
) {
    gossip_catches(backend, |log| {
        let keep = log.len() / 2;
        let fill: Vec<Vec<u8>> = log[keep..]
            .iter()
            .map(|_| b"innocent-looking entry".to_vec())
            .collect();
        log.truncate(keep);
        log.extend(fill);
    })
    .await;
}
