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

both_backends!(
    retries_with_a_key_create_once,
    lists_page_through_everything_with_filters
);
