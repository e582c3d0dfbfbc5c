//! What an operator relies on: retries that create nothing twice (`Idempotency-Key`), and lists
//! that page through everything with filters (cursor pagination).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use hanoinet_store::testing::Backend;

use crate::harness::*;

async fn post_keyed(
    net: &Net,
    i: usize,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let resp = net
        .http
        .post(format!("{}{path}", net.url(i)))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, resp.json().await.unwrap_or(Value::Null))
}

async fn retries_with_a_key_create_once(backend: Backend) {
    let net = Net::start(backend).await;
    let body = preservation(IDS[FRA]);
    let token = net.token(VNM).to_owned();
    let path = "/api/v1/requests";
    let (s, replayed, first) = post_keyed(&net, VNM, &token, path, "key-1", &body).await;
    assert_eq!((s, replayed), (201, None), "{first}");
    // The client lost the answer and sends the same call again: the first answer, marked.
    let (s, replayed, again) = post_keyed(&net, VNM, &token, path, "key-1", &body).await;
    assert_eq!((s, replayed.as_deref()), (201, Some("true")));
    assert_eq!(again, first);
    // Another replica over the same database answers the same.
    let replica = net.replica(VNM).await;
    let resp = net
        .http
        .post(format!("http://{}{path}", replica.addr))
        .bearer_auth(&token)
        .header("Idempotency-Key", "key-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(net.list(VNM, "outgoing").await.len(), 1, "created once");

    // The same key for another call is refused; keys are per user; a bad key is named.
    let mut other = body.clone();
    other["offence"] = json!("Another offence");
    let (s, _, v) = post_keyed(&net, VNM, &token, path, "key-1", &other).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{v}"
    );
    let (s, _, v) = post_keyed(&net, VNM, net.supervisor(VNM), path, "key-1", &body).await;
    assert_eq!(s, 201, "{v}");
    assert_ne!(v["id"], first["id"]);
    let (s, _, v) = post_keyed(&net, VNM, &token, path, "not a key", &body).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("validation_failed")),
        "{v}"
    );
    // Without a key, a call is a new call.
    let (s, _) = net.create(VNM, body.clone()).await;
    assert_eq!(s, 201);
    assert_eq!(net.list(VNM, "outgoing").await.len(), 3);

    // A refused call is answered the same way again (nothing ran, nothing runs).
    let (s, _, bad) = post_keyed(
        &net,
        VNM,
        &token,
        path,
        "key-2",
        &json!({"type": "preservation"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, replayed, bad_again) = post_keyed(
        &net,
        VNM,
        &token,
        path,
        "key-2",
        &json!({"type": "preservation"}),
    )
    .await;
    assert_eq!((s, replayed.as_deref()), (422, Some("true")));
    assert_eq!(bad, bad_again);

    // A move sent twice with its key is made once and answered twice alike.
    let id = first["id"].as_str().unwrap();
    net.wait_status(FRA, id, "delivered").await;
    let accept = json!({"decision": "accept"});
    let respond = format!("/api/v1/requests/{id}/responses");
    let fra = net.token(FRA).to_owned();
    let (s, _, a) = post_keyed(&net, FRA, &fra, &respond, "accept-1", &accept).await;
    assert_eq!(s, 201, "{a}");
    let (s, replayed, b) = post_keyed(&net, FRA, &fra, &respond, "accept-1", &accept).await;
    assert_eq!((s, replayed.as_deref()), (201, Some("true")));
    assert_eq!(a, b);
    replica.shutdown().await;
}

async fn lists_page_through_everything_with_filters(backend: Backend) {
    let net = Net::start(backend).await;
    let mut ids = BTreeSet::new();
    for _ in 0..7 {
        ids.insert(net.send(VNM, FRA).await);
    }
    let mut to_ken = BTreeSet::new();
    for _ in 0..2 {
        let id = net.send(VNM, KEN).await;
        to_ken.insert(id.clone());
        ids.insert(id);
    }
    let page = |q: String| {
        let net = &net;
        async move {
            let (s, v) = net
                .call(
                    VNM,
                    reqwest::Method::GET,
                    &format!("/api/v1/requests?{q}"),
                    None,
                )
                .await;
            (s, v)
        }
    };
    // Pages of three: every request once, the last page without a cursor; a request created
    // between pages shifts nothing.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("direction=outgoing&limit=3&cursor={c}"),
            None => "direction=outgoing&limit=3".into(),
        };
        let (s, v) = page(q).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["total"], if pages == 0 { 9 } else { 10 }, "{v}");
        for r in v["requests"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if pages == 1 {
            net.send(VNM, FRA).await;
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), ids);
    // Newest first across pages.
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "UUIDv7 ids sort by creation");

    // Filters.
    let ken = |v: &Value| {
        v["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect::<BTreeSet<_>>()
    };
    let (s, v) = page("peer=KEN/247".into()).await;
    assert_eq!((s, v["total"].as_i64()), (200, Some(2)), "{v}");
    assert_eq!(ken(&v), to_ken);
    let (_, v) = page("type=preservation&urgency=normal&direction=outgoing".into()).await;
    assert_eq!(v["total"], 10);
    let (_, v) = page("type=mla".into()).await;
    assert_eq!(v["total"], 0);
    let (_, v) = page("since=2999-01-01T00:00:00Z".into()).await;
    assert_eq!(v["total"], 0);
    let (_, v) = page("until=2999-01-01T00:00:00Z&since=2000-01-01T00:00:00Z".into()).await;
    assert_eq!(v["total"], 10);
    let (_, v) = page("direction=incoming".into()).await;
    assert_eq!(v["total"], 0);
    assert!(
        eventually(std::time::Duration::from_secs(20), || async {
            page("status=delivered&peer=FRA/247".into()).await.1["total"] == 8
        })
        .await,
        "status and peer filters"
    );

    // Bad parameters are named, each.
    let (s, v) =
        page("status=bogus&type=nope&peer=x&since=yesterday&cursor=zzz&limit=0".into()).await;
    assert_eq!(s, 422, "{v}");
    let fields: BTreeSet<&str> = v["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["field"].as_str())
        .collect();
    for f in ["status", "type", "peer", "since", "cursor", "limit"] {
        assert!(fields.contains(f), "{f} not named in {v}");
    }
    let (_, v) = page("limit=2&sort=time_limit".into()).await;
    let c = v["next_cursor"].as_str().unwrap().to_owned();
    let (s, v) = page(format!("limit=2&sort=created_at&cursor={c}")).await;
    assert_eq!(s, 422, "a cursor of another order: {v}");
    // The time-limit order pages too.
    let mut all = BTreeSet::new();
    let mut cursor = None::<String>;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=4&sort=time_limit&cursor={c}"),
            None => "limit=4&sort=time_limit".into(),
        };
        let (s, v) = page(q).await;
        assert_eq!(s, 200, "{v}");
        for r in v["requests"].as_array().unwrap() {
            assert!(all.insert(r["id"].as_str().unwrap().to_owned()), "twice");
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(all.len(), 10);
}

/// `GET /metrics` in the Prometheus text format: every sample line parses, and the figures
/// follow what happened (one delivery, its HTTP call, no backlog).
async fn metrics_follow_what_happened(backend: Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(VNM, &id, "delivered").await;
    // A made-up method does not make up a label.
    let _ = net
        .http
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            format!("{}/healthz", net.url(VNM)),
        )
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let resp = net
        .http
        .get(format!("{}/metrics", net.url(VNM)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = resp.text().await.unwrap();
    let mut samples = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ').unwrap();
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad sample {line:?}"));
        let metric = name.split('{').next().unwrap();
        assert!(
            text.contains(&format!(
                "# TYPE {}",
                metric
                    .trim_end_matches("_bucket")
                    .trim_end_matches("_sum")
                    .trim_end_matches("_count")
            )),
            "{metric} has no TYPE line"
        );
        samples.insert(name.to_owned(), v);
    }
    assert_eq!(
        samples["hanoinet_outbox_backlog{peer=\"FRA/247\"}"], 0.0,
        "{text}"
    );
    assert_eq!(
        samples["hanoinet_delivery_latency_seconds_count"], 1.0,
        "{text}"
    );
    assert_eq!(
        samples["hanoinet_http_requests_total{route=\"/api/v1/requests\",method=\"POST\",status=\"201\"}"],
        1.0,
        "{text}"
    );
    assert!(samples["hanoinet_ledger_entries"] > 0.0);
    assert_eq!(samples["hanoinet_registry_serial"], 1.0);
    assert_eq!(samples["hanoinet_ack_deadlines_missed"], 0.0);
    // The request's id or content appears nowhere; nor does the made-up method.
    assert!(!text.contains(&id));
    assert!(!text.contains("BREW"));
    assert!(text.contains("method=\"other\""), "{text}");
    // With a token it must be an auditor's or an administrator's.
    let (s, v) = net.call(VNM, reqwest::Method::GET, "/metrics", None).await;
    assert_eq!((s, v["error"].as_str()), (403, Some("forbidden")), "{v}");
    let (s, _) = net.audit(VNM, "/metrics").await;
    assert_eq!(s, 200);
}

both_backends!(
    metrics_follow_what_happened,
    retries_with_a_key_create_once,
    lists_page_through_everything_with_filters,
    an_unreachable_peer_is_alerted_and_its_recovery_too
);

/// A peer down longer than the policy's `peer_unreachable_minutes` raises one alert (API,
/// ledger), and another when it answers again; the backlog then goes out.
async fn an_unreachable_peer_is_alerted_and_its_recovery_too(backend: Backend) {
    use hanoinet_core::ManualClock;
    let clock = std::sync::Arc::new(ManualClock::new(hanoinet_core::time::truncate_to_micros(
        jiff::Timestamp::now(),
    )));
    let tunables = hanoinet_node::Tunables {
        clock_interval: std::time::Duration::from_millis(100),
        ..fast()
    };
    let mut net = Net::start_tuned(backend, &IDS[..2], clock.clone(), |_| {}, tunables).await;
    let alerts = |net: &Net| {
        let url = format!("{}/api/v1/alerts", net.url(VNM));
        let token = net.token(VNM).to_owned();
        let http = net.http.clone();
        async move {
            let v: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["alerts"].as_array().unwrap().clone()
        }
    };
    let of_kind = |all: &[Value], kind: &str| {
        all.iter()
            .filter(|a| a["kind"] == kind && a["subject"] == "node:FRA/247")
            .count()
    };

    net.stop(FRA).await;
    let id = net.send(VNM, FRA).await;
    let store = net.store(VNM).clone();
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            !store.peer_outages().await.unwrap().is_empty()
        })
        .await,
        "the failed delivery did not start an outage"
    );
    // Nine minutes: not yet.
    clock.advance(jiff::SignedDuration::from_mins(9));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(of_kind(&alerts(&net).await, "peer_unreachable"), 0);
    // Eleven: one alert, however many times the clocks look.
    clock.advance(jiff::SignedDuration::from_mins(2));
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            of_kind(&alerts(&net).await, "peer_unreachable") == 1
        })
        .await,
        "no peer_unreachable alert after 11 minutes"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let all = alerts(&net).await;
    assert_eq!(of_kind(&all, "peer_unreachable"), 1, "{all:?}");
    assert_eq!(of_kind(&all, "peer_recovered"), 0);

    // FRA is back: the next attempt reaches it, the request is delivered, the recovery alerted.
    net.restart(FRA).await;
    clock.advance(jiff::SignedDuration::from_mins(10));
    net.wait_status(VNM, &id, "delivered").await;
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            of_kind(&alerts(&net).await, "peer_recovered") == 1
        })
        .await,
        "no peer_recovered alert"
    );
    assert!(store.peer_outages().await.unwrap().is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, head) = net.audit(VNM, "/api/v1/ledger/head").await;
    let size = head["tree_size"].as_u64().unwrap();
    let events = crate::ledger::events_of(&crate::ledger::entries(&net, VNM, size).await);
    assert_eq!(
        events.iter().filter(|e| *e == "peer_unreachable").count(),
        1
    );
    assert_eq!(events.iter().filter(|e| *e == "peer_recovered").count(), 1);
}
