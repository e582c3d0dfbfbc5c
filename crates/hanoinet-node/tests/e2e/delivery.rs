//! Durable delivery: a peer that is down for a whole burst, and replicas sharing one database.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::*;

both_backends!(
    backlog_drains_when_the_peer_returns,
    requests_survive_a_sender_restart,
    a_peer_back_from_an_outage_gets_its_backlog_at_once
);

/// After an outage long enough for every envelope to be deep in backoff, the peer is probed
/// and, once it answers, its whole backlog goes at once (not each envelope at the end of its
/// own backoff).
async fn a_peer_back_from_an_outage_gets_its_backlog_at_once(
    backend: hanoinet_store::testing::Backend,
) {
    let tunables = hanoinet_node::Tunables {
        base_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(60),
        probe_interval: Duration::from_millis(500),
        ..fast()
    };
    let mut net = Net::start_tuned(
        backend,
        &IDS,
        std::sync::Arc::new(hanoinet_core::SystemClock),
        |_| {},
        tunables,
    )
    .await;
    net.stop(FRA).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(net.send(VNM, FRA).await);
    }
    // 0.5 + 1 + 2 + 4 s of failures: the next attempts are 4 to 8 s away.
    tokio::time::sleep(Duration::from_secs(8)).await;
    // The sender sees why and when next.
    let waiting = net.get(VNM, &ids[0]).await;
    assert_eq!(waiting["status"], "queued");
    assert!(waiting["attempts"].as_i64().unwrap() >= 3, "{waiting}");
    assert!(waiting["last_error"].is_string(), "{waiting}");
    assert!(waiting["next_attempt_at"].is_string(), "{waiting}");
    net.restart(FRA).await;
    let back = std::time::Instant::now();
    for id in &ids {
        net.wait_status(VNM, id, "delivered").await;
    }
    assert!(
        back.elapsed() < Duration::from_secs(3),
        "the backlog took {:?} after the peer's return",
        back.elapsed()
    );
    let done = net.get(VNM, &ids[0]).await;
    assert!(
        done["next_attempt_at"].is_null() && done["last_error"].is_null(),
        "{done}"
    );
    assert!(done["attempts"].as_i64().unwrap() >= 3, "{done}");
}

async fn backlog_drains_when_the_peer_returns(backend: hanoinet_store::testing::Backend) {
    let mut net = Net::start(backend).await;
    net.stop(FRA).await;
    let mut ids = BTreeSet::new();
    for _ in 0..40 {
        ids.insert(net.send(VNM, FRA).await);
    }
    // Nothing can be delivered while the peer is down, and nothing is lost: every attempt failed
    // and was rescheduled.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for id in &ids {
        assert_eq!(net.get(VNM, id).await["status"], "queued");
    }
    assert_eq!(net.store(VNM).outbox_counts().await.unwrap(), (40, 0));

    net.restart(FRA).await;
    let drained = eventually(Duration::from_secs(30), || async {
        net.store(VNM).outbox_counts().await.unwrap() == (0, 40)
    })
    .await;
    assert!(
        drained,
        "backlog did not drain: {:?}",
        net.store(VNM).outbox_counts().await
    );
    let received: BTreeSet<String> = net
        .list(FRA, "incoming")
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received, ids);
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (40, 40));
    for id in &ids {
        assert_eq!(net.get(VNM, id).await["status"], "delivered");
    }
}

async fn requests_survive_a_sender_restart(backend: hanoinet_store::testing::Backend) {
    let mut net = Net::start(backend).await;
    net.stop(FRA).await;
    let id = net.send(VNM, FRA).await;
    // The sender goes down with the request still queued, and comes back.
    net.stop(VNM).await;
    net.restart(VNM).await;
    net.restart(FRA).await;
    net.wait_status(VNM, &id, "delivered").await;
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (1, 1));
}

/// Two processes over one PostgreSQL database serve one node: both take requests, their workers
/// share the outbox, and every request is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_over_one_postgres_database_deliver_exactly_once() {
    let net = Net::start(hanoinet_store::testing::Backend::Postgres).await;
    let replica = net.replica(VNM).await;
    let replica_url = format!("http://{}", replica.addr);
    let mut ids = BTreeSet::new();
    for i in 0..30 {
        let url = if i % 2 == 0 {
            net.url(VNM).to_owned()
        } else {
            replica_url.clone()
        };
        let resp = net
            .http
            .post(format!("{url}/api/v1/requests"))
            .bearer_auth(net.token(VNM))
            .json(&preservation("FRA/247"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let v: serde_json::Value = resp.json().await.unwrap();
        ids.insert(v["id"].as_str().unwrap().to_owned());
    }
    let done = eventually(Duration::from_secs(30), || async {
        net.store(VNM).outbox_counts().await.unwrap() == (0, 30)
    })
    .await;
    assert!(done);
    let received: BTreeSet<String> = net
        .list(FRA, "incoming")
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received, ids);
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (30, 30));
    replica.shutdown().await;
}
