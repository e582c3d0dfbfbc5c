//! Data with Art. 36 conditions end to end: streamed attachments with hashes, conditions that
//! travel with the data, onward transfer refused without and allowed with the original sender's
//! signed authorization, and content purged at the end of retention (metadata and hashes kept).

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use hanoinet_core::ManualClock;
use hanoinet_node::workers::clocks;

use crate::harness::*;

both_backends!(data_with_conditions_onward_transfer_and_purge);

pub(crate) async fn upload(
    net: &Net,
    i: usize,
    id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let resp = net
        .http
        .post(format!(
            "{}/api/v1/requests/{id}/attachments?name={name}",
            net.url(i)
        ))
        .bearer_auth(net.token(i))
        .body(bytes)
        .send()
        .await
        .unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// Makes every insert into `table` fail, as a full disk or a lost connection would, halfway
/// through whatever transaction tries it.
pub(crate) async fn fail_inserts(store: &hanoinet_store::Store, table: &str) {
    use hanoinet_store::tamper::execute_raw;
    let sql = match store {
        hanoinet_store::Store::Sqlite { .. } => vec![format!(
            "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
        hanoinet_store::Store::Postgres(_) => vec![
            "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql".to_owned(),
            format!("CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION injected_failure()"),
        ],
    };
    for q in sql {
        execute_raw(store, &q).await.unwrap();
    }
}

/// How many stored chunks belong to no attachment (removing them, to count them).
pub(crate) async fn orphan_chunks(store: &hanoinet_store::Store) -> u64 {
    hanoinet_store::tamper::execute_raw(
        store,
        "DELETE FROM attachment_chunks WHERE attachment_id NOT IN (SELECT id FROM attachments)",
    )
    .await
    .unwrap()
}

pub(crate) async fn stop_failing(store: &hanoinet_store::Store, table: &str) {
    let sql = match store {
        hanoinet_store::Store::Sqlite { .. } => format!("DROP TRIGGER fail_{table}"),
        hanoinet_store::Store::Postgres(_) => format!("DROP TRIGGER fail_{table} ON {table}"),
    };
    hanoinet_store::tamper::execute_raw(store, &sql)
        .await
        .unwrap();
}

pub(crate) async fn transfers(net: &Net, i: usize, id: &str) -> Vec<Value> {
    let (s, v) = net
        .call(
            i,
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}/data"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["transfers"].as_array().unwrap().clone()
}

pub(crate) async fn download(net: &Net, i: usize, id: &str, aid: &str) -> (u16, Vec<u8>) {
    let resp = net
        .http
        .get(format!(
            "{}/api/v1/requests/{id}/attachments/{aid}",
            net.url(i)
        ))
        .bearer_auth(net.token(i))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

async fn data_with_conditions_onward_transfer_and_purge(backend: hanoinet_store::testing::Backend) {
    let clock = Arc::new(ManualClock::new(hanoinet_core::time::truncate_to_micros(
        Timestamp::now(),
    )));
    let net = Net::start_with(backend, &IDS, clock.clone(), |_| {}).await;
    let secs = std::time::Duration::from_secs(15);
    // A preservation secures data and discloses none (Art. 42): no data on it.
    let preservation = net.send(VNM, FRA).await;
    net.wait_status(FRA, &preservation, "delivered").await;
    net.respond(FRA, &preservation, json!({"decision": "accept"}))
        .await;
    let (s, v) = upload(&net, FRA, &preservation, "logins.csv", vec![1; 10]).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = net
        .call(FRA, reqwest::Method::POST, &format!("/api/v1/requests/{preservation}/data"),
            Some(json!({"conditions": {"purpose": "p", "use_limitation": "u", "retention_until": "2099-01-01", "onward_transfer": "prohibited"}, "results": {"a": 1}})))
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (409, Some("preservation_discloses_nothing")),
        "{v}"
    );
    // A peer cannot push data on a preservation either.
    let forged = json!({"transfer_id": uuid::Uuid::now_v7().to_string(), "request_id": preservation,
        "conditions": {"purpose": "p", "use_limitation": "u", "retention_until": "2030-01-01", "onward_transfer": "prohibited"},
        "results": {"subscriber": "A. Example"}, "attachments": []});
    let (s, v) = net.forge_post(FRA, VNM, "data_transfer", forged).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );

    // Art. 43(1): the preserving State discloses, on its own initiative, enough traffic data to
    // identify a provider in another State and the path, with the Art. 36 conditions.
    let disclose = format!("/api/v1/requests/{preservation}/traffic-disclosure");
    let conditions43 = json!({"purpose": "Identify the provider", "use_limitation": "This case only",
        "retention_until": "2030-01-01", "onward_transfer": "prohibited"});
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &disclose,
            Some(json!({"conditions": conditions43, "service_provider": "Example Hosting KE"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = net
        .call(VNM, reqwest::Method::POST, &disclose, Some(json!({})))
        .await;
    assert_eq!(s, 409, "only the preserving node discloses: {v}");
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &disclose,
            Some(json!({"conditions": conditions43,
            "service_provider": "Example Hosting Ltd, Nairobi (AS64500)",
            "transmission_path": "203.0.113.9 -> 198.51.100.7 (KE) -> mail relay in FR",
            "traffic_data": "2026-03-01T10:02Z SMTP from 198.51.100.7"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(
        eventually(secs, || async {
            transfers(&net, VNM, &preservation)
                .await
                .first()
                .is_some_and(|t| {
                    t["results"]["service_provider"] == "Example Hosting Ltd, Nairobi (AS64500)"
                })
        })
        .await,
        "the requesting node holds the disclosure"
    );
    // Anything else on a preservation, or from the requesting side, is refused on receipt.
    let forged = json!({"transfer_id": uuid::Uuid::now_v7().to_string(), "request_id": preservation,
        "conditions": conditions43, "basis": "art43_1",
        "results": {"service_provider": "x", "transmission_path": "y", "traffic_data": "z", "subscriber": "A. Example"},
        "attachments": []});
    let (s, v) = net
        .forge_post(FRA, VNM, "data_transfer", forged.clone())
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    let mut backwards = forged;
    backwards["results"] =
        json!({"service_provider": "x", "transmission_path": "y", "traffic_data": "z"});
    let (s, v) = net.forge_post(VNM, FRA, "data_transfer", backwards).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );

    // The request for the data (Art. 44).
    let id = net.send_stored_data(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let data_path = format!("/api/v1/requests/{id}/data");

    // Data are given once the request is accepted.
    let (s, v) = upload(&net, FRA, &id, "logins.csv", vec![1; 10]).await;
    assert_eq!(s, 201, "{v}");
    let early = json!({"conditions": {"purpose": "p", "use_limitation": "u", "retention_until": "2099-01-01", "onward_transfer": "prohibited"}, "attachments": [v["id"]]});
    let (s, _) = net
        .call(FRA, reqwest::Method::POST, &data_path, Some(early))
        .await;
    assert_eq!(s, 409);
    net.respond(FRA, &id, json!({"decision": "accept"})).await;

    // A 600 KiB attachment in three chunks; an oversized one is refused.
    let bytes: Vec<u8> = (0..600 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = hex::encode(Sha256::digest(&bytes));
    // An upload that fails at its one commit leaves no attachment and no staged chunks.
    fail_inserts(net.store(FRA), "attachments").await;
    let (s, v) = upload(&net, FRA, &id, "logins.csv", bytes.clone()).await;
    assert_eq!(s, 500, "{v}");
    stop_failing(net.store(FRA), "attachments").await;
    assert_eq!(
        orphan_chunks(net.store(FRA)).await,
        0,
        "chunks of a failed upload"
    );
    let (s, att) = upload(&net, FRA, &id, "logins.csv", bytes.clone()).await;
    assert_eq!(s, 201, "{att}");
    assert_eq!(
        (
            att["sha256"].as_str(),
            att["size"].as_i64(),
            att["chunks"].as_i64()
        ),
        (Some(sha.as_str()), Some(600 * 1024), Some(3))
    );
    let (s, v) = upload(&net, FRA, &id, "huge.bin", vec![0; 1024 * 1024 + 1]).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    let (s, _) = upload(&net, FRA, &id, "a/b", vec![1]).await;
    assert_eq!(s, 422);

    // Conditions are required and checked.
    let today = clock_date(&clock);
    let retention = today.saturating_add(jiff::ToSpan::days(30));
    for (conditions, field) in [
        (
            json!({"purpose": "p", "use_limitation": "u", "retention_until": retention.to_string()}),
            "conditions.onward_transfer",
        ),
        (
            json!({"purpose": "p", "use_limitation": "u", "retention_until": "2020-01-01", "onward_transfer": "prohibited"}),
            "conditions.retention_until",
        ),
        (
            json!({"use_limitation": "u", "retention_until": retention.to_string(), "onward_transfer": "prohibited"}),
            "conditions.purpose",
        ),
    ] {
        let (s, v) = net
            .call(
                FRA,
                reqwest::Method::POST,
                &data_path,
                Some(json!({"conditions": conditions, "attachments": [att["id"]]})),
            )
            .await;
        assert_eq!(
            (s, v["details"][0]["field"].as_str()),
            (422, Some(field)),
            "{v}"
        );
    }
    let conditions = json!({
        "purpose": "Prosecution of case 2026/17",
        "use_limitation": "Not to be used in other proceedings without consent",
        "retention_until": retention.to_string(),
        "onward_transfer": "with_authorization",
    });
    let (s, sent) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &data_path,
            Some(json!({"conditions": conditions, "results": {"subscriber": "A. Example"}, "attachments": [att["id"]]})),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let tid = sent["id"].as_str().unwrap().to_owned();

    // The requesting node holds the data with their conditions; the content matches its hash.
    assert!(
        eventually(secs, || async {
            transfers(&net, VNM, &id)
                .await
                .first()
                .is_some_and(|t| t["attachments"][0]["state"] == "complete")
        })
        .await
    );
    let t = transfers(&net, VNM, &id).await[0].clone();
    assert_eq!(t["id"], tid.as_str());
    assert_eq!(t["conditions"], conditions);
    assert_eq!(t["results"], json!({"subscriber": "A. Example"}));
    assert_eq!(t["attachments"][0]["sha256"], sha.as_str());
    let aid = att["id"].as_str().unwrap();
    let (s, got) = download(&net, VNM, &id, aid).await;
    assert_eq!((s, got == bytes), (200, true));

    // Onward transfer: refused without the sender's authorization...
    let fwd = format!("{data_path}/{tid}/forward");
    let body = json!({"to": "KEN/247", "purpose": "Joint prosecution with Kenya"});
    let (s, v) = net
        .call(VNM, reqwest::Method::POST, &fwd, Some(body.clone()))
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["details"][0]["code"], "onward_transfer_not_authorized");
    // ...asked for, signed by France for Kenya only...
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &format!("{data_path}/{tid}/onward-requests"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    assert!(
        eventually(secs, || async {
            net.get(FRA, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "onward_transfer_request")
        })
        .await
    );
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &format!("{data_path}/{tid}/onward-authorizations"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(
        eventually(secs, || async {
            net.get(VNM, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "onward_transfer_authorization")
        })
        .await
    );
    let (s, _) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &fwd,
            Some(json!({"to": "CHL/247", "purpose": "x"})),
        )
        .await;
    assert_eq!(s, 403, "authorized for Kenya, not for another node");
    // A failure while the forward is recorded leaves nothing behind: no request to Kenya in
    // flight without its data, no orphan copies, and the authorization's use not taken.
    let requests_before = net.list(VNM, "outgoing").await.len();
    let outbox_before = net.store(VNM).outbox_counts().await.unwrap();
    fail_inserts(net.store(VNM), "data_transfers").await;
    let (s, v) = net
        .call(VNM, reqwest::Method::POST, &fwd, Some(body.clone()))
        .await;
    assert_eq!(s, 500, "{v}");
    assert_eq!(net.list(VNM, "outgoing").await.len(), requests_before);
    assert_eq!(net.store(VNM).outbox_counts().await.unwrap(), outbox_before);
    assert_eq!(
        orphan_chunks(net.store(VNM)).await,
        0,
        "chunks copied for a forward that failed"
    );
    stop_failing(net.store(VNM), "data_transfers").await;
    // ...then forwarded (the one use the authorization allows is still there), with onward
    // transfer prohibited for Kenya.
    let (s, v) = net.call(VNM, reqwest::Method::POST, &fwd, Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let ken_id = v["request"]["id"].as_str().unwrap().to_owned();
    // The request and its data were queued together; the data may arrive first and wait.
    assert!(
        eventually(secs, || async {
            net.call(
                KEN,
                reqwest::Method::GET,
                &format!("/api/v1/requests/{ken_id}"),
                None,
            )
            .await
            .0 == 200
        })
        .await
    );
    assert!(
        eventually(secs, || async {
            transfers(&net, KEN, &ken_id)
                .await
                .first()
                .is_some_and(|t| t["attachments"][0]["state"] == "complete")
        })
        .await,
        "{:?}",
        transfers(&net, KEN, &ken_id).await
    );
    let kt = transfers(&net, KEN, &ken_id).await[0].clone();
    assert_eq!(kt["forwarded_from"], tid.as_str());
    assert_eq!(kt["conditions"]["onward_transfer"], "prohibited");
    assert_eq!(kt["attachments"][0]["sha256"], sha.as_str());
    let (s, v) = net
        .call(
            KEN,
            reqwest::Method::POST,
            &format!(
                "/api/v1/requests/{ken_id}/data/{}/forward",
                kt["id"].as_str().unwrap()
            ),
            Some(json!({"to": "CHL/247", "purpose": "x"})),
        )
        .await;
    assert_eq!(s, 403, "{v}");

    // At the end of retention the receiving nodes purge the content and keep the hashes.
    clock.advance(SignedDuration::from_hours(24 * 31));
    clocks::tick(&net.node(VNM).state).await.unwrap();
    let t = transfers(&net, VNM, &id).await[0].clone();
    assert!(t["purged_at"].is_string() && t["results"].is_null(), "{t}");
    assert_eq!(t["attachments"][0]["state"], "purged");
    assert_eq!(t["attachments"][0]["sha256"], sha.as_str());
    let (s, _) = download(&net, VNM, &id, aid).await;
    assert_eq!(s, 410);
    assert_eq!(net.store(VNM).chunk_count(aid).await.unwrap(), 0);
    // The sender keeps its own copy.
    let (s, _) = download(&net, FRA, &id, aid).await;
    assert_eq!(s, 200);
}

pub(crate) fn clock_date(clock: &ManualClock) -> jiff::civil::Date {
    use hanoinet_core::Clock;
    clock.now().to_zoned(jiff::tz::TimeZone::UTC).date()
}
