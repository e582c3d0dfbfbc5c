//! The public indicator lookup by hash prefix, as a bank, a browser and an attacker use it: only
//! confirmed TLP:CLEAR or TLP:GREEN indicators that have not expired, never a restricted one;
//! every answer holds its matches and only them, padded to one size class; cacheable; a
//! revocation and an expiry take an indicator out; a decision on one replica is served by
//! another over the same PostgreSQL within 2 s; hostile prefixes get a clear `422`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;
use crate::response_centre::{analyst, post_report};

both_backends!(the_lookup_serves_confirmed_indicators_by_prefix_and_only_them);

async fn lookup(base: &str, prefix: &str) -> (u16, Value, usize) {
    let resp = reqwest::get(format!("{base}/lookup/v1/hashes/{prefix}"))
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let len = text.len();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        len,
    )
}

/// The hashes an answer holds.
fn hashes(v: &Value) -> Vec<String> {
    v["matches"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["hash"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn decide(net: &Net, token: &str, hash: &str, body: Value) {
    let (status, v) = net
        .call_as(
            token,
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{hash}/decision"),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

async fn found_within(base: &str, hash: &str, present: bool, within: Duration) -> bool {
    eventually(within, || async {
        let (_, v, _) = lookup(base, &hash[..6]).await;
        hashes(&v).iter().any(|h| h == hash) == present
    })
    .await
}

async fn the_lookup_serves_confirmed_indicators_by_prefix_and_only_them(
    backend: hanoinet_store::testing::Backend,
) {
    let clock = Arc::new(hanoinet_core::ManualClock::new(jiff::Timestamp::now()));
    let net = crate::response_centre::centre_on(backend, clock.clone()).await;
    let base = crate::response_centre::public(&net);
    // Six indicators, one per fate, in three reports.
    let mut hash = std::collections::HashMap::new();
    for (category, items) in [
        ("scam_call", vec![("clear", "phone", "0912 345 678")]),
        (
            "phishing_site",
            vec![("green", "domain", "fake-bank.example")],
        ),
        (
            "other",
            vec![
                ("amber", "iban", "GB82 WEST 1234 5698 7654 32"),
                ("revoked", "url", "https://parcel-fee.example/pay"),
                ("undecided", "phone", "0987 654 321"),
                ("expiring", "email", "shop@cheap-phones.example"),
            ],
        ),
    ] {
        let list: Vec<Value> = items
            .iter()
            .map(|(_, kind, value)| json!({"type": kind, "value": value}))
            .collect();
        let (status, r) = post_report(
            &net,
            json!({"category": category, "description": "Lookup test.", "indicators": list}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        for (i, (name, _, _)) in items.iter().enumerate() {
            hash.insert(
                *name,
                r["indicators"][i]["hash"].as_str().unwrap().to_owned(),
            );
        }
    }
    let (status, r) = post_report(
        &net,
        json!({"category": "child_sexual_abuse_material",
               "indicators": [{"type": "url", "value": "http://abuse.example/a"}]}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let restricted = r["indicators"][0]["hash"].as_str().unwrap().to_owned();

    let later = |days: i64| {
        (hanoinet_core::Clock::now(&*clock) + jiff::SignedDuration::from_hours(24 * days))
            .to_string()
    };
    let a = analyst(&net).to_owned();
    for (name, tlp, days) in [
        ("clear", "clear", 90),
        ("green", "green", 90),
        ("amber", "amber", 90),
        ("revoked", "clear", 90),
        ("expiring", "clear", 1),
    ] {
        decide(
            &net,
            &a,
            &hash[name],
            json!({"decision": "confirm", "tlp": tlp, "expires": later(days)}),
        )
        .await;
    }
    decide(
        &net,
        &net.file.nodes[VNM].csam_analyst_token,
        &restricted,
        json!({"decision": "confirm", "tlp": "clear", "expires": later(90)}),
    )
    .await;
    decide(
        &net,
        &a,
        &hash["revoked"],
        json!({"decision": "false_positive"}),
    )
    .await;

    for name in ["clear", "green", "expiring"] {
        assert!(
            found_within(&base, &hash[name], true, Duration::from_secs(5)).await,
            "{name} is served"
        );
    }
    for name in ["amber", "revoked", "undecided"] {
        assert!(
            found_within(&base, &hash[name], false, Duration::from_secs(1)).await,
            "{name} is not served"
        );
    }
    assert!(found_within(&base, &restricted, false, Duration::from_secs(1)).await);

    // Every answer holds only hashes with its prefix, at every prefix length, and the same
    // length whatever it holds (one match, or none).
    let h = &hash["clear"];
    let mut lengths = Vec::new();
    for n in 4..=8 {
        let (status, v, len) = lookup(&base, &h[..n]).await;
        assert_eq!(status, 200, "{v}");
        assert!(hashes(&v).contains(h), "{n}: {v}");
        assert!(hashes(&v).iter().all(|x| x.starts_with(&h[..n])), "{v}");
        assert_eq!(v["matches"][0]["category"], "scam_call", "{v}");
        lengths.push(len);
    }
    let other = if h.starts_with('0') {
        "ffffffff"
    } else {
        "00000000"
    };
    let (status, v, len) = lookup(&base, other).await;
    assert_eq!((status, hashes(&v).len()), (200, 0), "{v}");
    lengths.push(len);
    assert!(
        lengths
            .iter()
            .all(|l| *l == hanoinet_node::http::lookup::SIZE_CLASS),
        "padded to one size class: {lengths:?}"
    );

    // Cacheable: an ETag that a second ask presents gets 304.
    let client = reqwest::Client::new();
    let first = client
        .get(format!("{base}/lookup/v1/hashes/{}", &h[..5]))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"),
    );
    let again = client
        .get(format!("{base}/lookup/v1/hashes/{}", &h[..5]))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // Hostile prefixes: too short, too long, upper case, not hex, a path trick.
    for bad in [
        "abc",
        "abcdefabc",
        "ABCDEF",
        "zzzz",
        "12%2034",
        "..%2F..",
        "-1234",
    ] {
        let (status, v, _) = lookup(&base, bad).await;
        assert_eq!(status, 422, "{bad}: {v}");
        assert_eq!(v["details"][0]["field"], "prefix", "{bad}: {v}");
    }
    // Not on the officers' listener.
    let (status, _, _) = lookup(net.url(VNM).trim_end_matches('/'), &h[..6]).await;
    assert_eq!(status, 404);

    // An expiry takes it out (at query time, by the node's clock).
    clock.advance(jiff::SignedDuration::from_hours(48));
    assert!(found_within(&base, &hash["expiring"], false, Duration::from_secs(1)).await);
    assert!(found_within(&base, h, true, Duration::from_secs(1)).await);

    // Two replicas over one PostgreSQL: a revocation through the first is served by the second
    // within 2 s.
    if backend == hanoinet_store::testing::Backend::Postgres {
        let replica = net.replica(VNM).await;
        let other = format!("http://{}", replica.public_addr.expect("its public side"));
        assert!(found_within(&other, h, true, Duration::from_secs(2)).await);
        decide(&net, &a, h, json!({"decision": "false_positive"})).await;
        let t = std::time::Instant::now();
        assert!(
            found_within(&other, h, false, Duration::from_secs(2)).await,
            "the replica drops it within 2 s"
        );
        tracing::info!(elapsed = ?t.elapsed(), "a revocation reached the replica");
        replica.shutdown().await;
    }
}
