//! The adversary's side: an officer who tries to skip four eyes, a requested node that forges
//! the requesting side's moves or rewrites a history, a peer that replays, floods or reuses ids.
//! Each case is one that held on an earlier main and must stay closed.

use jiff::Timestamp;
use serde_json::{Value, json};

use hanoinet_core::request::RequestType;

use crate::harness::*;

both_backends!(
    four_eyes_cannot_be_skipped,
    a_forged_approval_is_refused,
    the_requested_node_cannot_forge_the_requesting_sides_moves,
    a_history_is_never_rewritten,
    onward_authorizations_bind_purpose_and_uses_and_purges_purge,
    one_genuine_envelope_cannot_flood_the_ledger,
    envelope_ids_are_per_sender,
    tokens_expire_and_reads_of_cases_are_logged,
    abusive_text_and_dates_are_refused_on_the_api_and_on_receipt,
    strangers_learn_nothing_and_stray_uploads_are_cleaned_up,
    ledger_commitments_cannot_be_checked_by_guessing,
);

fn interception(to: &str) -> Value {
    hanoinet_core::catalogue::examples::example(RequestType::Interception, to, "")
}

fn payload_fields(body: &Value) -> Value {
    let mut f = body.clone();
    let o = f.as_object_mut().unwrap();
    o.remove("type");
    o.remove("to");
    o.remove("draft");
    f
}

async fn four_eyes_cannot_be_skipped(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    // A draft of a type that needs approval cannot be queued by its author...
    let mut body = interception("FRA/247");
    body["draft"] = json!(true);
    let (s, v) = net.create(VNM, body).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("draft")), "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(
        v["allowed_transitions"],
        json!(["awaiting_approval", "withdrawn"]),
        "queued is not offered: {v}"
    );
    let (s, v) = net.move_to(VNM, &id, json!({"status": "queued"})).await;
    assert_eq!((s, v["error"].as_str()), (409, Some("conflict")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("four eyes"), "{v}");
    // ...nor by a supervisor straight from the draft.
    let (s, v) = net
        .move_as(net.supervisor(VNM), VNM, &id, json!({"status": "queued"}))
        .await;
    assert_eq!(s, 409, "{v}");
    // Submitted, returned to the draft, and queued from there: still refused.
    let (s, _) = net
        .move_to(VNM, &id, json!({"status": "awaiting_approval"}))
        .await;
    assert_eq!(s, 201);
    let (s, _) = net
        .move_as(
            net.supervisor(VNM),
            VNM,
            &id,
            json!({"status": "draft", "note": "Narrow the period"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, v) = net.move_to(VNM, &id, json!({"status": "queued"})).await;
    assert_eq!(s, 409, "{v}");
    // Nothing left the node.
    assert_eq!(net.store(VNM).outbox_counts().await.unwrap(), (0, 0));
    assert!(net.list(FRA, "incoming").await.is_empty());

    // The proper way: submitted, approved by a supervisor who is not the author.
    net.move_to(VNM, &id, json!({"status": "awaiting_approval"}))
        .await;
    let (s, v) = net
        .move_as(net.supervisor(VNM), VNM, &id, json!({"status": "queued"}))
        .await;
    assert_eq!((s, v["status"].as_str()), (201, Some("queued")), "{v}");
    let got = net.wait_status(FRA, &id, "delivered").await;
    // The peer sees the approval, signed by VNM, with pseudonymous ids and no user names.
    let approval = &got["approval"];
    assert_eq!(approval["node"], "VNM/247", "{got}");
    assert_eq!(approval["role"], "supervisor");
    assert_eq!(approval["request_id"], id.as_str());
    let approver = approval["approver"].as_str().unwrap();
    let author = approval["author"].as_str().unwrap();
    assert!(approver.starts_with("user:") && author.starts_with("user:"));
    assert_ne!(approver, author);
    let a: hanoinet_protocol::approval::Approval =
        serde_json::from_value(approval.clone()).unwrap();
    assert!(a.verify(node_keys(&net, VNM).public()));
    let text = got.to_string();
    for name in ["\"officer\"", "\"supervisor\":", "approved_by"] {
        assert!(!text.contains(name), "{name} travels to the peer: {text}");
    }
    assert_eq!(got["created_by"], Value::Null);
    let vnm = net.wait_status(VNM, &id, "delivered").await;
    assert_eq!(vnm["history"], got["history"]);
}

async fn a_forged_approval_is_refused(backend: hanoinet_store::testing::Backend) {
    use hanoinet_protocol::approval::{Approval, SUPERVISOR};
    let net = Net::start(backend).await;
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    let fields = payload_fields(&interception("FRA/247"));
    let vnm = node_keys(&net, VNM);
    let stranger = hanoinet_protocol::NodeKeys::generate();
    // (case, approver, role, author, signing key, for another request, queued from a draft)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a hanoinet_protocol::NodeKeys,
        bool,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "signed by another key",
            "user:a",
            SUPERVISOR,
            "user:b",
            &stranger,
            false,
            false,
        ),
        (
            "approver is the author",
            "user:a",
            SUPERVISOR,
            "user:a",
            &vnm,
            false,
            false,
        ),
        (
            "an officer approved",
            "user:a",
            "officer",
            "user:b",
            &vnm,
            false,
            false,
        ),
        (
            "for another request",
            "user:a",
            SUPERVISOR,
            "user:b",
            &vnm,
            true,
            false,
        ),
        (
            "approval on a request never submitted",
            "user:a",
            SUPERVISOR,
            "user:b",
            &vnm,
            false,
            true,
        ),
    ];
    for (name, approver, role, author, key, other_request, from_draft) in cases {
        let request_id = hanoinet_core::RequestId::new_v7();
        let envelope_id = hanoinet_core::EnvelopeId::new_v7();
        let approval = Approval::sign(
            if other_request {
                hanoinet_core::RequestId::new_v7()
            } else {
                request_id
            },
            envelope_id,
            "VNM/247".parse().unwrap(),
            approver,
            role,
            author,
            now,
            key,
        );
        let first = if from_draft {
            "draft"
        } else {
            "awaiting_approval"
        };
        let payload = json!({
            "request_id": request_id, "type": "interception", "created_at": now, "fields": fields,
            "history": [{"status": first, "at": now, "by": "requesting"},
                        {"status": "queued", "at": now, "by": "requesting"}],
            "approval": approval,
        });
        let env = net.forge_with_id(VNM, FRA, "preservation_request", envelope_id, &payload);
        let (s, v) = net.post_envelope(FRA, &env).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("invalid_payload")),
            "{name}: {v}"
        );
    }
    // Approved, but no approval travels with it.
    let payload = json!({
        "request_id": hanoinet_core::RequestId::new_v7(), "type": "interception", "created_at": now,
        "fields": fields,
        "history": [{"status": "awaiting_approval", "at": now, "by": "requesting"},
                    {"status": "queued", "at": now, "by": "requesting"}],
    });
    let (s, v) = net
        .forge_post(VNM, FRA, "preservation_request", payload)
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    // Steps dated after the envelope, or made by the other side, are not the sender's history.
    for history in [
        json!([{"status": "queued", "at": "2099-01-01T00:00:00Z", "by": "requesting"}]),
        json!([{"status": "queued", "at": now, "by": "requested"}]),
    ] {
        let payload = json!({
            "request_id": hanoinet_core::RequestId::new_v7(), "type": "interception",
            "created_at": now, "fields": fields, "history": history,
        });
        let (s, v) = net
            .forge_post(VNM, FRA, "preservation_request", payload)
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("invalid_payload")),
            "{history}: {v}"
        );
    }
    assert!(net.list(FRA, "incoming").await.is_empty());
}

/// Sends a preservation VNM → FRA and waits until FRA holds it; returns its id.
async fn delivered(net: &Net) -> String {
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    net.wait_status(VNM, &id, "delivered").await;
    id
}

fn seq_of(v: &Value) -> i64 {
    v["history"].as_array().unwrap().len() as i64
}

async fn the_requested_node_cannot_forge_the_requesting_sides_moves(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let id = delivered(&net).await;
    let vnm = net.get(VNM, &id).await;
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    let delivered_at = vnm["history"][1]["at"].clone();
    let update = |steps: Value| json!({"request_id": id, "expect_seq": seq_of(&vnm), "steps": steps, "delivered_at": delivered_at});
    // "Withdrawn" by the requesting side, which never proposed it.
    for steps in [
        json!([{"status": "withdrawn", "at": now, "by": "requesting"}]),
        json!([{"status": "withdrawn", "at": now, "by": "requesting",
                "details": {"proposal_id": uuid::Uuid::now_v7().to_string()}}]),
        json!([{"status": "acknowledged", "at": now, "by": "requested"},
               {"status": "withdrawn", "at": now, "by": "requesting"}]),
    ] {
        let (s, v) = net
            .forge_post(FRA, VNM, "status_update", update(steps.clone()))
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("invalid_payload")),
            "{steps}: {v}"
        );
    }
    assert_eq!(net.get(VNM, &id).await["status"], "delivered");

    // A real proposal is applied once, and its answer cannot be replayed for another move.
    let (s, v) = net.move_to(VNM, &id, json!({"status": "withdrawn"})).await;
    assert_eq!(s, 202, "{v}");
    let got = net.wait_status(VNM, &id, "withdrawn").await;
    let step = got["history"].as_array().unwrap().last().unwrap().clone();
    let pid = step["details"]["proposal_id"].as_str().unwrap().to_owned();
    let proposal = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == pid.as_str())
        .unwrap();
    assert_eq!(proposal["state"], "applied");
    // The same proposal answered again for "closed": refused.
    let (s, v) = net
        .forge_post(
            FRA,
            VNM,
            "status_update",
            json!({"request_id": id, "expect_seq": seq_of(&got), "delivered_at": delivered_at,
                   "steps": [{"status": "closed", "at": now, "by": "requesting", "details": {"proposal_id": pid}}]}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    assert_eq!(net.get(VNM, &id).await["status"], "withdrawn");
}

async fn a_history_is_never_rewritten(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = delivered(&net).await;
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");
    let vnm = net.wait_status(VNM, &id, "accepted").await;
    let before = net.get(VNM, &id).await["history"].clone();
    let (_, head) = net.audit(VNM, "/api/v1/ledger/head").await;
    // FRA now claims that, at the same position, it refused instead.
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    let decision = json!({"decision": "refuse", "grounds": ["essential_interests"], "explanation": "Changed our mind"});
    let forged = json!({
        "request_id": id, "expect_seq": 3, "delivered_at": vnm["history"][1]["at"],
        "steps": [{"status": "acknowledged", "at": now, "by": "requested"},
                  {"status": "refused", "at": now, "by": "requested", "details": decision}],
        "decision": decision,
    });
    let (s, v) = net.forge_post(FRA, VNM, "status_update", forged).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("history_conflict")),
        "{v}"
    );
    // Or at an earlier position, keeping the acknowledgement and changing the decision.
    let fra = net.get(FRA, &id).await;
    let forged = json!({
        "request_id": id, "expect_seq": 2, "delivered_at": vnm["history"][1]["at"],
        "steps": [fra["history"][2], {"status": "refused", "at": now, "by": "requested", "details": decision}],
        "decision": decision,
    });
    let (s, v) = net.forge_post(FRA, VNM, "status_update", forged).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("history_conflict")),
        "{v}"
    );
    // The same steps again (under a new envelope id) change nothing and are not logged.
    let again = json!({
        "request_id": id, "expect_seq": 2, "delivered_at": vnm["history"][1]["at"],
        "steps": [fra["history"][2], fra["history"][3]],
        "decision": {"decision": "accept"}, "preserved_until": fra["preserved_until"],
    });
    let (s, v) = net.forge_post(FRA, VNM, "status_update", again).await;
    assert_eq!(s, 201, "{v}");
    let after = net.get(VNM, &id).await;
    assert_eq!(after["history"], before);
    assert_eq!(after["status"], "accepted");
    // Nothing about it entered the ledger but the (authenticated) rejection.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, head2) = net.audit(VNM, "/api/v1/ledger/head").await;
    let (_, entries) = net
        .audit(
            VNM,
            &format!(
                "/api/v1/ledger/entries?start={}&end={}",
                head["tree_size"], head2["tree_size"]
            ),
        )
        .await;
    let events = ledger_events(&entries);
    assert!(
        !events.iter().any(|e| e == "status_received"),
        "a move that never happened was logged: {events:?}"
    );
}

/// The event names of a page of ledger entries.
pub fn ledger_events(page: &Value) -> Vec<String> {
    use base64::Engine;
    page["entries"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(e["leaf"].as_str().unwrap())
                .unwrap();
            hanoinet_ledger::Entry::decode(&bytes).unwrap().event
        })
        .collect()
}

/// A stored-data request VNM → FRA, accepted by FRA; returns its id.
async fn accepted_stored_data(net: &Net) -> String {
    let mut body =
        hanoinet_core::catalogue::examples::example(RequestType::StoredData, "FRA/247", "");
    body.as_object_mut().unwrap().remove("follows_request");
    let (s, v) = net.create(VNM, body).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    net.wait_status(FRA, &id, "delivered").await;
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");
    id
}

const RESULT_MARKER: &str = "MARKER-subscriber-Nguyen-Van-A";

async fn onward_authorizations_bind_purpose_and_uses_and_purges_purge(
    backend: hanoinet_store::testing::Backend,
) {
    use crate::data::{clock_date, transfers, upload};
    use base64::Engine;
    use std::sync::Arc;
    let clock = Arc::new(hanoinet_core::ManualClock::new(
        hanoinet_core::time::truncate_to_micros(Timestamp::now()),
    ));
    let net = Net::start_with(backend, &IDS, clock.clone(), |_| {}).await;
    let secs = std::time::Duration::from_secs(15);
    let id = accepted_stored_data(&net).await;
    let bytes: Vec<u8> = b"login 2026-03-01 203.0.113.9 x@example.fr\n"
        .iter()
        .copied()
        .cycle()
        .take(300 * 1024)
        .collect();
    let (s, att) = upload(&net, FRA, &id, "logins.csv", bytes.clone()).await;
    assert_eq!(s, 201, "{att}");
    let retention = clock_date(&clock).saturating_add(jiff::ToSpan::days(30));
    let purpose = "Prosecution of case 2026/17";
    let conditions = json!({"purpose": purpose, "use_limitation": "This case only",
        "retention_until": retention.to_string(), "onward_transfer": "with_authorization"});
    let data = format!("/api/v1/requests/{id}/data");
    let (s, sent) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &data,
            Some(json!({"conditions": conditions,
            "results": {"subscriber": RESULT_MARKER}, "attachments": [att["id"]]})),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let tid = sent["id"].as_str().unwrap().to_owned();
    assert!(
        eventually(secs, || async {
            transfers(&net, VNM, &id)
                .await
                .first()
                .is_some_and(|t| t["attachments"][0]["state"] == "complete")
        })
        .await
    );

    // FRA authorizes passing the data on to Kenya, for one purpose, once.
    let onward = "Joint prosecution with Kenya";
    let authorize = |max_uses: Option<u32>| {
        let mut b = json!({"to": "KEN/247", "purpose": onward});
        if let Some(n) = max_uses {
            b["max_uses"] = json!(n);
        }
        b
    };
    let authorizations = |n: usize| {
        let net = &net;
        let id = id.clone();
        async move {
            eventually(secs, || async {
                net.get(VNM, &id).await["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["kind"] == "onward_transfer_authorization")
                    .count()
                    == n
            })
            .await
        }
    };
    let auth_path = format!("{data}/{tid}/onward-authorizations");
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &auth_path,
            Some(authorize(None)),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(authorizations(1).await);
    let fwd = format!("{data}/{tid}/forward");
    // Another purpose than the one authorized: refused.
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &fwd,
            Some(json!({"to": "KEN/247", "purpose": "Intelligence sharing"})),
        )
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (403, Some("onward_transfer_not_authorized")),
        "{v}"
    );
    // The purpose authorized: once.
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &fwd,
            Some(json!({"to": "KEN/247", "purpose": onward})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ken_id = v["request"]["id"].as_str().unwrap().to_owned();
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &fwd,
            Some(json!({"to": "KEN/247", "purpose": onward})),
        )
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (403, Some("onward_transfer_not_authorized")),
        "a second use: {v}"
    );
    // One that says twice allows two more.
    let (s, _) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &auth_path,
            Some(authorize(Some(2))),
        )
        .await;
    assert_eq!(s, 201);
    assert!(authorizations(2).await);
    for expected in [201, 201, 403] {
        let (s, v) = net
            .call(
                VNM,
                reqwest::Method::POST,
                &fwd,
                Some(json!({"to": "KEN/247", "purpose": onward})),
            )
            .await;
        assert_eq!(s, expected, "{v}");
    }
    // Kenya holds the data with the purpose authorized, and the authorization itself.
    assert!(
        eventually(secs, || async {
            transfers(&net, KEN, &ken_id)
                .await
                .first()
                .is_some_and(|t| t["attachments"][0]["state"] == "complete")
        })
        .await
    );
    let kt = transfers(&net, KEN, &ken_id).await[0].clone();
    assert_eq!(kt["conditions"]["purpose"], onward, "{kt}");

    // A hostile holder passes the data on with a rewritten purpose: Kenya refuses them.
    let (_, vnm_view) = net
        .call(
            VNM,
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}"),
            None,
        )
        .await;
    let auth_doc = vnm_view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "onward_transfer_authorization")
        .unwrap()["body"]["authorization"]
        .clone();
    let forged = json!({
        "transfer_id": uuid::Uuid::now_v7().to_string(), "request_id": ken_id,
        "conditions": {"purpose": "Anything we like", "use_limitation": "none",
            "retention_until": retention.to_string(), "onward_transfer": "prohibited"},
        "results": {"subscriber": RESULT_MARKER}, "attachments": [],
        "forwarded_from": tid, "authorization": auth_doc,
    });
    let (s, v) = net
        .forge_post(VNM, KEN, "data_transfer", forged.clone())
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    let mut without = forged;
    without["conditions"]["purpose"] = json!(onward);
    without.as_object_mut().unwrap().remove("authorization");
    let (s, v) = net.forge_post(VNM, KEN, "data_transfer", without).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );

    // Retention ends: VNM purges, and nothing it still holds opens to the content.
    let copies: Vec<String> = transfers(&net, VNM, &ken_id).await[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!copies.is_empty());
    clock.advance(jiff::SignedDuration::from_hours(24 * 31));
    hanoinet_node::workers::clocks::tick(&net.node(VNM).state)
        .await
        .unwrap();
    let t = transfers(&net, VNM, &id).await[0].clone();
    assert!(t["purged_at"].is_string() && t["results"].is_null(), "{t}");
    let aid = att["id"].as_str().unwrap();
    assert_eq!(net.store(VNM).chunk_count(aid).await.unwrap(), 0);
    for c in &copies {
        assert_eq!(
            net.store(VNM).chunk_count(c).await.unwrap(),
            0,
            "the copy passed on keeps nothing"
        );
    }
    let fwd_t = transfers(&net, VNM, &ken_id).await[0].clone();
    assert!(fwd_t["results"].is_null(), "{fwd_t}");
    let keys = node_keys(&net, VNM);
    let chunk_b64 = base64::engine::general_purpose::STANDARD.encode(&bytes[..1024]);
    let mut reduced = 0;
    for (kind, json) in net.store(VNM).inbox_envelopes().await.unwrap() {
        match hanoinet_protocol::Envelope::from_json(json.as_bytes()) {
            Ok(env) => {
                if let Ok(plain) = env.open(&keys) {
                    let text = String::from_utf8_lossy(&plain);
                    assert!(
                        !text.contains(RESULT_MARKER) && !text.contains(&chunk_b64[..64]),
                        "a stored {kind} envelope still opens to the purged content"
                    );
                }
            }
            Err(_) => {
                let r: hanoinet_protocol::envelope::ReducedEnvelope =
                    serde_json::from_str(&json).unwrap();
                assert!(r.header.kind.as_str().starts_with("data_"), "{kind}");
                reduced += 1;
            }
        }
    }
    assert_eq!(
        reduced, 3,
        "the transfer and its two chunks are kept as proof only"
    );
}

/// Every ledger entry of node `i` (after the integration catches up).
async fn all_entries(net: &Net, i: usize) -> Vec<hanoinet_ledger::Entry> {
    use base64::Engine;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (_, head) = net.audit(i, "/api/v1/ledger/head").await;
    let size = head["tree_size"].as_u64().unwrap();
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let (_, page) = net
            .audit(
                i,
                &format!("/api/v1/ledger/entries?start={start}&end={size}"),
            )
            .await;
        for e in page["entries"].as_array().unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(e["leaf"].as_str().unwrap())
                .unwrap();
            out.push(hanoinet_ledger::Entry::decode(&bytes).unwrap());
        }
        start = page["next"].as_u64().unwrap_or(size);
    }
    out
}

fn rejections(entries: &[hanoinet_ledger::Entry]) -> Vec<&hanoinet_ledger::Entry> {
    entries
        .iter()
        .filter(|e| e.event == "envelope_rejected")
        .collect()
}

async fn one_genuine_envelope_cannot_flood_the_ledger(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let fields = payload_fields(&preservation("FRA/247"));
    let payload = |id: hanoinet_core::RequestId| json!({"request_id": id, "type": "preservation", "created_at": Timestamp::now(), "fields": fields});
    // A genuine envelope VNM sealed for FRA, replayed to KEN by someone else, 200 times.
    let env = net.forge(
        VNM,
        FRA,
        "preservation_request",
        &payload(hanoinet_core::RequestId::new_v7()),
    );
    for _ in 0..200 {
        let (s, v) = net.post_envelope(KEN, &env).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (421, Some("wrong_recipient")),
            "{v}"
        );
    }
    let entries = all_entries(&net, KEN).await;
    let logged = rejections(&entries);
    assert_eq!(logged.len(), 1, "one envelope, one error: one entry");
    // The signer is named, not blamed as the actor: anyone can replay what it signed.
    assert_eq!(logged[0].actor, "system");
    assert!(
        logged[0]
            .attributes
            .iter()
            .any(|(k, v)| k == "signer" && v == "VNM/247"),
        "{:?}",
        logged[0].attributes
    );
    // Many different genuine envelopes: at most the per-signer budget is logged.
    for _ in 0..100 {
        let env = net.forge(
            VNM,
            FRA,
            "preservation_request",
            &payload(hanoinet_core::RequestId::new_v7()),
        );
        net.post_envelope(KEN, &env).await;
    }
    let n = rejections(&all_entries(&net, KEN).await).len();
    assert!((2..=60).contains(&n), "{n} rejections logged");
}

async fn envelope_ids_are_per_sender(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let fields = payload_fields(&preservation("FRA/247"));
    let payload = || json!({"request_id": hanoinet_core::RequestId::new_v7(), "type": "preservation", "created_at": Timestamp::now(), "fields": fields});
    let id = hanoinet_core::EnvelopeId::new_v7();
    let vnm = net.forge_with_id(VNM, FRA, "preservation_request", id, &payload());
    let (s, receipt) = net.post_envelope(FRA, &vnm).await;
    assert_eq!(s, 201, "{receipt}");
    // Kenya reuses VNM's id: not VNM's receipt, not a replay, refused.
    let ken = net.forge_with_id(KEN, FRA, "preservation_request", id, &payload());
    let (s, v) = net.post_envelope(FRA, &ken).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (409, Some("envelope_id_taken")),
        "{v}"
    );
    assert!(v.get("signature").is_none());
    // VNM's own replay still gets its receipt.
    let (s, again) = net.post_envelope(FRA, &vnm).await;
    assert_eq!((s, &again), (200, &receipt));
    assert_eq!(net.list(FRA, "incoming").await.len(), 1);
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_cut_and_capped() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tunables = hanoinet_node::Tunables {
        header_read_timeout: Duration::from_millis(600),
        body_read_timeout: Duration::from_millis(600),
        max_connections: 60,
        max_connections_per_ip: 20,
        ..fast()
    };
    let net = Net::start_tuned(
        hanoinet_store::testing::Backend::Sqlite,
        &IDS,
        std::sync::Arc::new(hanoinet_core::SystemClock),
        |_| {},
        tunables,
    )
    .await;
    let addr = net.url(VNM).trim_start_matches("http://").to_owned();
    let open = || net.node(VNM).connections.open();
    let rss_before = rss_kib();

    // A slowloris from one address: half-sent headers, held open.
    let mut slow = Vec::new();
    for _ in 0..200 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await {
            let _ = s
                .write_all(b"POST /federation/v1/envelopes HTTP/1.1\r\nHost: x\r\n")
                .await;
            slow.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(open() <= 20, "{} connections from one address", open());
    // Meanwhile another address is served.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = other
        .get(format!("{}/healthz", net.url(VNM)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The header deadline closes them all.
    assert!(
        eventually(Duration::from_secs(5), || async { open() == 0 }).await,
        "{} slow connections still open",
        open()
    );
    for s in &mut slow {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .map(|r| r.unwrap_or(0))
            .unwrap_or(usize::MAX);
        assert_ne!(n, usize::MAX, "a slow connection is still open");
    }
    drop(slow);

    // A body that stops half-way is answered 408 and the connection freed.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /federation/v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"header\":",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");

    // A kept-alive connection that goes idle is closed.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
        .await
        .expect("the idle connection is closed by the node")
        .unwrap_or(0);
    assert_eq!(n, 0);

    // A flood of connections stays within the caps, and memory stays bounded.
    let mut flood = Vec::new();
    for _ in 0..2000 {
        if let Ok(s) = tokio::net::TcpStream::connect(&addr).await {
            flood.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(open() <= 20, "{}", open());
    drop(flood);
    assert!(eventually(Duration::from_secs(5), || async { open() == 0 }).await);
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(grown < 64 * 1024, "memory grew by {grown} KiB");
}

async fn tokens_expire_and_reads_of_cases_are_logged(backend: hanoinet_store::testing::Backend) {
    use std::sync::Arc;
    let clock = Arc::new(hanoinet_core::ManualClock::new(
        hanoinet_core::time::truncate_to_micros(Timestamp::now()),
    ));
    let net = Net::start_with(backend, &IDS, clock.clone(), |_| {}).await;
    let now = hanoinet_core::Clock::now(clock.as_ref());
    let token = hanoinet_node::provision::network::add_user_until(
        net.store(VNM),
        &"VNM/247".parse().unwrap(),
        "temp",
        hanoinet_core::access::Role::Officer,
        Some(
            now.checked_add(jiff::SignedDuration::from_hours(24))
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    let get = |t: String| {
        let net = &net;
        async move {
            net.call_as(&t, VNM, reqwest::Method::GET, "/api/v1/requests", None)
                .await
        }
    };
    assert_eq!(get(token.clone()).await.0, 200);
    // The scheme is case-insensitive (RFC 7235).
    let r = net
        .http
        .get(format!("{}/api/v1/requests", net.url(VNM)))
        .header("Authorization", format!("BEARER {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    clock.advance(jiff::SignedDuration::from_hours(25));
    let (s, v) = get(token).await;
    assert_eq!(s, 401, "{v}");
    assert!(v["message"].as_str().unwrap().contains("expired"), "{v}");

    // Every read of case content leaves an entry: lists name the cases, data reads the transfers.
    let id = accepted_stored_data(&net).await;
    let (s, _) = net
        .call(VNM, reqwest::Method::GET, "/api/v1/requests?limit=10", None)
        .await;
    assert_eq!(s, 200);
    let (s, _) = net
        .call(
            VNM,
            reqwest::Method::GET,
            &format!("/api/v1/requests/{id}/data"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let entries = all_entries(&net, VNM).await;
    let listed = entries
        .iter()
        .filter(|e| e.event == "requests_listed")
        .any(|e| {
            e.attributes
                .iter()
                .any(|(k, v)| k == "requests" && v.contains(&id))
        });
    assert!(listed, "the list read names the case");
    assert!(
        entries
            .iter()
            .any(|e| e.event == "data_opened" && e.subject == format!("request:{id}")),
        "the data read is logged"
    );
}

async fn abusive_text_and_dates_are_refused_on_the_api_and_on_receipt(
    backend: hanoinet_store::testing::Backend,
) {
    use crate::data::upload;
    let net = Net::start(backend).await;
    // Creating: NUL, empty-looking values, absurd dates, repeated keys.
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "NUL in a field",
            json!({"offence": "ICT fraud\u{0}"}),
            "control_character",
        ),
        (
            "zero-width spaces only",
            json!({"necessity": "\u{200B}\u{200B} \u{FEFF}"}),
            "empty",
        ),
        (
            "NUL only",
            json!({"necessity": "\u{0}"}),
            "control_character",
        ),
        (
            "escape codes",
            json!({"offence": "a\u{1b}[2Jb"}),
            "control_character",
        ),
        (
            "bidi override",
            json!({"requesting_authority": "Police\u{202E}lanimirc"}),
            "bidi_control",
        ),
        (
            "time limit in 1900",
            json!({"time_limit": "1900-01-01", "time_limit_reasons": "x"}),
            "out_of_range",
        ),
        (
            "time limit in 9999",
            json!({"time_limit": "9999-12-31", "time_limit_reasons": "x"}),
            "out_of_range",
        ),
    ];
    for (name, patch, code) in cases {
        let mut body = preservation("FRA/247");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = net.create(VNM, body).await;
        assert_eq!(s, 422, "{name}: {v}");
        assert!(
            v["details"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["code"] == code),
            "{name}: {v}"
        );
    }
    let raw = |body: &str, content_type: &str| {
        net.http
            .post(format!("{}/api/v1/requests", net.url(VNM)))
            .bearer_auth(net.token(VNM))
            .header("Content-Type", content_type)
            .body(body.to_owned())
    };
    let dup = r#"{"type": "preservation", "to": "FRA/247", "offence": "a", "offence": "b"}"#;
    let r = raw(dup, "application/json").send().await.unwrap();
    assert_eq!(r.status(), 400, "a member named twice");
    let good = preservation("FRA/247").to_string();
    let r = raw(&good, "text/plain").send().await.unwrap();
    assert_eq!(r.status(), 415, "JSON as text/plain");
    assert!(net.list(VNM, "outgoing").await.is_empty());

    // Moves, enquiries, extensions, data: the same policy.
    let id = delivered(&net).await;
    let (s, v) = net
        .move_to(VNM, &id, json!({"status": "withdrawn", "note": "no\u{0}"}))
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (422, Some("control_character")),
        "{v}"
    );
    let enquiry = format!("/api/v1/requests/{id}/status-enquiry");
    let r = net
        .http
        .post(format!("{}{enquiry}", net.url(VNM)))
        .bearer_auth(net.token(VNM))
        .header("Content-Type", "application/json")
        .body("{\"note\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a malformed enquiry is not sent");
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &enquiry,
            Some(json!({"note": "x".repeat(20_001)})),
        )
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (422, Some("too_long")),
        "{v}"
    );
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");
    net.wait_status(VNM, &id, "accepted").await;
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &format!("/api/v1/requests/{id}/extension"),
            Some(json!({"days": 30, "note": "x".repeat(250_000)})),
        )
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (422, Some("too_long")),
        "{v}"
    );
    // Data come on a request for them.
    let sd = accepted_stored_data(&net).await;
    let (s, v) = upload(&net, FRA, &sd, "invoice\u{202E}fdp.exe", vec![1; 10]).await;
    assert_eq!(s, 422, "{v}");
    let (s, att) = upload(&net, FRA, &sd, "logins.csv", vec![1; 10]).await;
    assert_eq!(s, 201);
    let data = format!("/api/v1/requests/{sd}/data");
    let conditions = |retention: &str, purpose: &str| {
        json!({"purpose": purpose, "use_limitation": "u", "retention_until": retention,
               "onward_transfer": "prohibited"})
    };
    for (body, field) in [
        (
            json!({"conditions": conditions("2030-01-01", "p"), "results": {}}),
            "results",
        ),
        (
            json!({"conditions": conditions("9999-01-01", "p"), "attachments": [att["id"]]}),
            "conditions.retention_until",
        ),
        (
            json!({"conditions": conditions("2030-01-01", &"p".repeat(10_000)), "attachments": [att["id"]]}),
            "conditions.purpose",
        ),
    ] {
        let (s, v) = net
            .call(FRA, reqwest::Method::POST, &data, Some(body))
            .await;
        assert_eq!(
            (s, v["details"][0]["field"].as_str()),
            (422, Some(field)),
            "{v}"
        );
    }

    // On receipt, the same rules: a peer cannot store what the API refuses.
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    let mut fields = payload_fields(&preservation("FRA/247"));
    fields["offence"] = json!("fraud\u{0}");
    let (s, v) = net
        .forge_post(
            VNM,
            FRA,
            "preservation_request",
            json!({"request_id": hanoinet_core::RequestId::new_v7(),
            "type": "preservation", "created_at": now, "fields": fields}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    // A member named twice inside the fields: two readers could see two different requests.
    let mut good = payload_fields(&preservation("FRA/247"));
    good["offence"] = json!("ICT fraud");
    let text = json!({"request_id": hanoinet_core::RequestId::new_v7(), "type": "preservation",
        "created_at": now, "fields": good})
    .to_string()
    .replacen(
        "\"offence\":\"ICT fraud\"",
        "\"offence\":\"ICT fraud\",\"offence\":\"Something else\"",
        1,
    );
    assert!(text.contains("Something else"));
    let env = net.forge_bytes(
        VNM,
        FRA,
        "preservation_request",
        hanoinet_core::EnvelopeId::new_v7(),
        text.as_bytes(),
    );
    let (s, v) = net.post_envelope(FRA, &env).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("twice"), "{v}");
    let vnm = net.get(VNM, &id).await;
    let update = |steps: Value| json!({"request_id": id, "expect_seq": seq_of(&vnm), "delivered_at": vnm["history"][1]["at"], "steps": steps});
    for steps in [
        json!([{"status": "executed", "at": now, "by": "requested", "note": "done\u{0}"}]),
        json!([{"status": "executed", "at": "1970-01-01T00:00:00Z", "by": "requested"}]),
    ] {
        let (s, v) = net
            .forge_post(FRA, VNM, "status_update", update(steps.clone()))
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (422, Some("invalid_payload")),
            "{steps}: {v}"
        );
    }
    assert_eq!(net.get(VNM, &id).await["status"], "accepted");
}

async fn strangers_learn_nothing_and_stray_uploads_are_cleaned_up(
    backend: hanoinet_store::testing::Backend,
) {
    use base64::Engine;
    use std::sync::Arc;
    let clock = Arc::new(hanoinet_core::ManualClock::new(
        hanoinet_core::time::truncate_to_micros(Timestamp::now()),
    ));
    let net = Net::start_with(backend, &IDS, clock.clone(), |_| {}).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let vnm = net.wait_status(VNM, &id, "delivered").await;
    let now = hanoinet_core::Clock::now(clock.as_ref());
    // Kenya, not party to the request, gets the answer a request that does not exist gets.
    let update = |rid: &str| {
        json!({"request_id": rid, "expect_seq": seq_of(&vnm), "delivered_at": now,
               "steps": [{"status": "acknowledged", "at": now, "by": "requested"}]})
    };
    let (s1, v1) = net.forge_post(KEN, VNM, "status_update", update(&id)).await;
    let other = hanoinet_core::RequestId::new_v7().to_string();
    let (s2, v2) = net
        .forge_post(KEN, VNM, "status_update", update(&other))
        .await;
    assert_eq!(
        (s1, v1["error"].as_str()),
        (422, Some("unknown_request")),
        "{v1}"
    );
    assert_eq!(
        (s2, v2["error"].as_str()),
        (422, Some("unknown_request")),
        "{v2}"
    );
    assert_eq!(
        v1["message"].as_str().unwrap().replace(&id, "ID"),
        v2["message"].as_str().unwrap().replace(&other, "ID")
    );

    // Nothing to attach on a request this node cannot give data on.
    let (s, v) = crate::data::upload(&net, VNM, &id, "x.csv", vec![1; 10]).await;
    assert_eq!(s, 409, "{v}");
    // A staged attachment never sent, and chunks of a transfer never announced, go after a week.
    let sd = net.send_stored_data(VNM, FRA).await;
    net.wait_status(FRA, &sd, "delivered").await;
    let (s, att) = crate::data::upload(&net, FRA, &sd, "x.csv", vec![1; 10]).await;
    assert_eq!(s, 201, "{att}");
    let stray = uuid::Uuid::now_v7().to_string();
    let chunk = json!({"transfer_id": uuid::Uuid::now_v7().to_string(), "request_id": id,
        "attachment_id": stray, "idx": 0,
        "data": base64::engine::general_purpose::STANDARD.encode([7u8; 100])});
    let (s, v) = net.forge_post(FRA, VNM, "data_chunk", chunk).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(net.store(VNM).chunk_count(&stray).await.unwrap(), 1);
    let aid = att["id"].as_str().unwrap();
    assert_eq!(net.store(FRA).chunk_count(aid).await.unwrap(), 1);
    clock.advance(jiff::SignedDuration::from_hours(24 * 8));
    hanoinet_node::workers::clocks::tick(&net.node(VNM).state)
        .await
        .unwrap();
    hanoinet_node::workers::clocks::tick(&net.node(FRA).state)
        .await
        .unwrap();
    assert_eq!(net.store(VNM).chunk_count(&stray).await.unwrap(), 0);
    assert_eq!(net.store(FRA).chunk_count(aid).await.unwrap(), 0);
    assert!(net.store(FRA).attachment(aid).await.unwrap().is_none());
}

async fn ledger_commitments_cannot_be_checked_by_guessing(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let id = delivered(&net).await;
    let explanation = "The account holder is a protected witness in our proceedings.";
    let (s, v) = net
        .respond(FRA, &id, json!({"decision": "refuse", "grounds": ["essential_interests"], "explanation": explanation}))
        .await;
    assert_eq!(s, 201, "{v}");
    let entries = all_entries(&net, FRA).await;
    let committed: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.attributes.iter())
        .filter(|(k, _)| k == "explanation")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(committed.len(), 1, "{entries:?}");
    // A reader of the log who guesses the text cannot confirm it with a plain hash...
    let guess = hanoinet_ledger::Entry::commitment(explanation.as_bytes());
    assert_ne!(committed[0], guess);
    assert!(committed[0].starts_with("hmac-sha256:"));
    // ...the node computes it for an auditor who holds the content, and logs the question.
    let path = "/api/v1/ledger/commitment";
    let (s, v) = net
        .call_as(
            &net.file.nodes[FRA].auditor_token,
            FRA,
            reqwest::Method::POST,
            path,
            Some(json!({"content": explanation})),
        )
        .await;
    assert_eq!(
        (s, v["commitment"].as_str()),
        (200, Some(committed[0])),
        "{v}"
    );
    let (s, _) = net
        .call(
            FRA,
            reqwest::Method::POST,
            path,
            Some(json!({"content": explanation})),
        )
        .await;
    assert_eq!(s, 403, "officers do not audit");
    let entries = all_entries(&net, FRA).await;
    assert!(entries.iter().any(|e| e.event == "commitment_computed"));
    // Another node's key gives another commitment: nobody else can compute this one.
    let (_, other) = net
        .call_as(
            &net.file.nodes[VNM].auditor_token,
            VNM,
            reqwest::Method::POST,
            path,
            Some(json!({"content": explanation})),
        )
        .await;
    assert_ne!(other["commitment"], v["commitment"]);
}

/// A `MakeWriter` that keeps what the node logs, for tests that read the log.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// One test per process (nextest), so this test owns the process's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_forge_log_lines_and_truncated_bodies_are_named() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let log = Captured::default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(log.clone())
        .try_init();
    let net = Net::start(hanoinet_store::testing::Backend::Sqlite).await;
    let forged = "x\n2026-12-01T00:00:00.000000Z  INFO hanoinet_node: FORGED LINE \u{1b}[2J";
    let mut fields = payload_fields(&preservation("FRA/247"));
    fields[forged] = json!("y");
    let (s, v) = net
        .forge_post(
            VNM,
            FRA,
            "preservation_request",
            json!({"request_id": hanoinet_core::RequestId::new_v7(),
            "type": "preservation", "created_at": Timestamp::now(), "fields": fields}),
        )
        .await;
    assert_eq!(
        (s, v["error"].as_str()),
        (422, Some("invalid_payload")),
        "{v}"
    );
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(
        text.contains("inbound envelope rejected"),
        "the rejection is logged: {text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains("FORGED LINE") && !l.contains("inbound envelope rejected")),
        "a peer's text made a log line of its own: {text}"
    );
    assert!(!text.contains('\u{1b}'), "escape codes reach the log");

    // A body that ends before its declared length is named as such, not as too large.
    let addr = net.url(FRA).trim_start_matches("http://").to_owned();
    for (path, content_type) in [
        ("/federation/v1/envelopes".to_owned(), "application/json"),
        ("/api/v1/requests".to_owned(), "application/json"),
    ] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: 5000\r\n\r\n{{\"a\":",
            net.token(FRA)
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            s.read_to_end(&mut answer),
        )
        .await;
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 400") && text.contains("incomplete_body"),
            "{path}: {text}"
        );
    }
}
