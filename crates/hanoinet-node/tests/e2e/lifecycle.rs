//! The lifecycle end to end: drafts and four-eyes approval, every kind of move on both sides,
//! proposals applied or declined, status enquiries answered, and both nodes holding the same
//! history throughout.

use jiff::Timestamp;
use serde_json::{Value, json};

use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_node::provision::dir;
use hanoinet_protocol::{Envelope, Header, KindName, NodeKeys};

use crate::harness::*;

both_backends!(
    drafts_and_four_eyes_approval,
    moves_on_both_sides_keep_one_history,
    proposals_are_declined_when_the_request_moved_on,
    status_enquiries_are_answered,
    a_requested_state_says_when_it_cannot_keep_a_request_confidential,
    an_mla_request_is_postponed_after_consultation,
);

fn statuses(v: &Value) -> Vec<String> {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until both nodes hold `status` and the same history; returns the requesting view.
async fn both_at(net: &Net, id: &str, status: &str) -> Value {
    let fra = net.wait_status(FRA, id, status).await;
    let vnm = net.wait_status(VNM, id, status).await;
    assert_eq!(vnm["history"], fra["history"], "one history on both nodes");
    vnm
}

async fn drafts_and_four_eyes_approval(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let mut body = preservation("FRA/247");
    body["draft"] = json!(true);
    let (s, v) = net.create(VNM, body).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "draft");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(
        net.store(VNM).outbox_counts().await.unwrap(),
        (0, 0),
        "a draft is not sent"
    );
    assert_eq!(
        v["allowed_transitions"],
        json!(["awaiting_approval", "queued", "withdrawn"])
    );

    // Submitted for approval; the officer who wrote it cannot approve it.
    let (s, v) = net
        .move_to(VNM, &id, json!({"status": "awaiting_approval"}))
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (201, Some("awaiting_approval")),
        "{v}"
    );
    let (s, v) = net.move_to(VNM, &id, json!({"status": "queued"})).await;
    assert_eq!(s, 403, "{v}");
    // Returned for changes needs a note saying why.
    let (s, v) = net
        .move_as(net.supervisor(VNM), VNM, &id, json!({"status": "draft"}))
        .await;
    assert_eq!(
        (s, v["details"][0]["field"].as_str()),
        (422, Some("note")),
        "{v}"
    );
    let (s, v) = net
        .move_as(
            net.supervisor(VNM),
            VNM,
            &id,
            json!({"status": "draft", "note": "Name the provider"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    net.move_to(VNM, &id, json!({"status": "awaiting_approval"}))
        .await;
    let (s, v) = net
        .move_as(net.supervisor(VNM), VNM, &id, json!({"status": "queued"}))
        .await;
    assert_eq!((s, v["status"].as_str()), (201, Some("queued")), "{v}");
    let got = both_at(&net, &id, "delivered").await;
    assert_eq!(
        statuses(&got),
        [
            "draft",
            "awaiting_approval",
            "draft",
            "awaiting_approval",
            "queued",
            "delivered"
        ]
    );
    assert_eq!(got["history"][2]["note"], "Name the provider");

    // A supervisor who wrote a request may not approve it either.
    let mut body = example_interception();
    body["to"] = json!("FRA/247");
    let (s, v) = net
        .call_as(
            net.supervisor(VNM),
            VNM,
            reqwest::Method::POST,
            "/api/v1/requests",
            Some(body),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (201, Some("awaiting_approval")),
        "{v}"
    );
    let own = v["id"].as_str().unwrap().to_owned();
    let (s, v) = net
        .move_as(net.supervisor(VNM), VNM, &own, json!({"status": "queued"}))
        .await;
    assert_eq!(s, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("four eyes"), "{v}");
    let approve = format!("/api/v1/requests/{own}/approve");
    let (s, _) = net
        .call_as(
            net.supervisor(VNM),
            VNM,
            reqwest::Method::POST,
            &approve,
            None,
        )
        .await;
    assert_eq!(s, 403, "nor through /approve");
    // Withdrawn before it was ever sent: nothing leaves the node.
    let (s, v) = net.move_to(VNM, &own, json!({"status": "withdrawn"})).await;
    assert_eq!((s, v["status"].as_str()), (201, Some("withdrawn")), "{v}");
    assert_eq!(net.list(FRA, "incoming").await.len(), 1);
}

fn example_interception() -> Value {
    hanoinet_core::catalogue::examples::example(
        hanoinet_core::request::RequestType::Interception,
        "FRA/247",
        "",
    )
}

async fn moves_on_both_sides_keep_one_history(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;

    // Not a move the requesting side makes: 409 naming the allowed ones.
    let (s, v) = net.move_to(VNM, &id, json!({"status": "accepted"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"], "conflict");
    assert_eq!(v["details"][0]["allowed"], json!(["withdrawn"]));
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("allowed now: withdrawn"),
        "{v}"
    );
    // Nor one the requested side may make from here.
    let (s, v) = net.move_to(FRA, &id, json!({"status": "executed"})).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["details"][0]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("acknowledged"))
    );

    // More information, asked and given (Art. 40).
    let (s, v) = net
        .move_to(FRA, &id, json!({"status": "more_information_requested"}))
        .await;
    assert_eq!(
        (s, v["details"][0]["code"].as_str()),
        (422, Some("missing")),
        "{v}"
    );
    let (s, v) = net
        .move_to(
            FRA,
            &id,
            json!({"status": "more_information_requested", "note": "Which account exactly?"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        statuses(&v)[2..],
        ["acknowledged", "more_information_requested"]
    );
    both_at(&net, &id, "more_information_requested").await;
    let (s, v) = net
        .move_to(
            VNM,
            &id,
            json!({"status": "acknowledged", "note": "x@example.fr only"}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["messages"][0]["kind"], "proposal");
    let got = both_at(&net, &id, "acknowledged").await;
    assert_eq!(got["history"][4]["by"], "requesting");
    assert_eq!(got["history"][4]["note"], "x@example.fr only");
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(VNM, &id).await["messages"][0]["state"] == "applied"
        })
        .await
    );

    // A preservation is never postponed (Art. 40 postponement is for MLA; Art. 42(7) is the
    // path here).
    let (s, v) = net
        .move_to(
            FRA,
            &id,
            json!({"status": "postponed", "note": "A domestic search is under way this week"}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["details"][0]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("informed_requester_decides"))
    );
    // Accepted with conditions, executed in part and then in full.
    for (status, extra) in [
        (
            "accepted_with_conditions",
            json!({"conditions": "Use only in case 2026/17"}),
        ),
        (
            "partially_executed",
            json!({"note": "Login records preserved; subscriber data pending"}),
        ),
        ("executed", json!({})),
    ] {
        let mut body = extra.clone();
        body["status"] = json!(status);
        let (s, v) = net.move_to(FRA, &id, body).await;
        assert_eq!(s, 201, "{status}: {v}");
        both_at(&net, &id, status).await;
    }
    let fra = net.get(FRA, &id).await;
    assert_eq!(fra["decision"]["decision"], "accept_with_conditions");
    assert_eq!(fra["decision"]["conditions"], "Use only in case 2026/17");
    assert!(
        fra["preserved_until"].is_string(),
        "a conditional acceptance preserves"
    );
    // The requesting side closes the case.
    let (s, v) = net.move_to(VNM, &id, json!({"status": "closed"})).await;
    assert_eq!(s, 202, "{v}");
    let got = both_at(&net, &id, "closed").await;
    assert_eq!(
        statuses(&got),
        [
            "queued",
            "delivered",
            "acknowledged",
            "more_information_requested",
            "acknowledged",
            "accepted_with_conditions",
            "partially_executed",
            "executed",
            "closed"
        ]
    );
    assert!(
        net.get(VNM, &id).await["allowed_transitions"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Art. 42(7): the requested State informs, the requesting State decides to proceed.
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, v) = net
        .move_to(FRA, &id, json!({"status": "informed_requester_decides", "note": "The provider deletes logs daily; preservation may not ensure availability"}))
        .await;
    assert_eq!(s, 201, "{v}");
    both_at(&net, &id, "informed_requester_decides").await;
    let (s, v) = net
        .move_to(VNM, &id, json!({"status": "acknowledged"}))
        .await;
    assert_eq!(s, 202, "{v}");
    both_at(&net, &id, "acknowledged").await;
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");
    both_at(&net, &id, "accepted").await;
    // Accepted: the requesting side can no longer withdraw, only say it is no longer needed.
    let (s, v) = net.move_to(VNM, &id, json!({"status": "withdrawn"})).await;
    assert_eq!(s, 409, "{v}");
    let (s, _) = net
        .move_to(VNM, &id, json!({"status": "no_longer_needed"}))
        .await;
    assert_eq!(s, 202);
    both_at(&net, &id, "no_longer_needed").await;

    // Withdrawn while delivered.
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, _) = net.move_to(VNM, &id, json!({"status": "withdrawn"})).await;
    assert_eq!(s, 202);
    both_at(&net, &id, "withdrawn").await;
}

/// A proposal that arrives after the requested node moved on is declined with a message that
/// names the current status; nothing changes.
async fn proposals_are_declined_when_the_request_moved_on(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, _) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201);
    both_at(&net, &id, "accepted").await;
    // What a requesting node that had not yet heard of the acceptance would send.
    let keys = |i: usize| {
        NodeKeys::from_key_file_json(
            &dir::read(&net.file.nodes[i].dir.join(dir::KEYS_FILE)).unwrap(),
        )
        .unwrap()
    };
    let payload = json!({
        "request_id": id,
        "proposal_id": "0190f0a0-0000-7000-8000-0000000000aa",
        "status": "withdrawn",
        "seen_seq": 2,
    });
    let header = Header {
        id: EnvelopeId::new_v7(),
        from: "VNM/247".parse::<NodeId>().unwrap(),
        to: "FRA/247".parse::<NodeId>().unwrap(),
        kind: KindName::new(KindName::STATUS_PROPOSAL).unwrap(),
        created_at: hanoinet_core::time::truncate_to_micros(Timestamp::now()),
        in_reply_to: None,
    };
    let env = Envelope::seal(
        header,
        &serde_json::to_vec(&payload).unwrap(),
        &keys(VNM),
        keys(FRA).public(),
        &mut rand::rng(),
    )
    .unwrap();
    let resp = net
        .http
        .post(format!("{}/federation/v1/envelopes", net.url(FRA)))
        .header("Content-Type", "application/json")
        .body(env.to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let fra = net.get(FRA, &id).await;
    assert_eq!(fra["status"], "accepted", "nothing changed");
    let declined = fra["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "proposal_declined")
        .unwrap()
        .clone();
    assert_eq!(declined["body"]["status"], "accepted");
    assert!(
        declined["body"]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("no_longer_needed"))
    );
    // The requesting node hears of it.
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(VNM, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "proposal_declined" && m["direction"] == "received")
        })
        .await
    );
    assert_eq!(
        net.get(VNM, &id).await["history"],
        net.get(FRA, &id).await["history"]
    );
}

async fn status_enquiries_are_answered(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let path = format!("/api/v1/requests/{id}/status-enquiry");
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &path,
            Some(json!({"note": "The provider's retention ends Friday"})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["kind"], "status_enquiry");
    // Only the requesting node asks.
    let (s, _) = net.call(FRA, reqwest::Method::POST, &path, None).await;
    assert_eq!(s, 409);
    let (s, _) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &path,
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(VNM, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "status_reply" && m["body"]["status"] == "delivered")
        })
        .await,
        "the requested node answers with the status: {}",
        net.get(VNM, &id).await
    );
    let fra = net.get(FRA, &id).await;
    let kinds: Vec<&str> = fra["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["status_enquiry", "status_reply"]);
    assert_eq!(
        fra["messages"][0]["body"]["note"],
        "The provider's retention ends Friday"
    );
}

/// Art. 40(20): the requested State that cannot keep a request confidential says so promptly.
async fn a_requested_state_says_when_it_cannot_keep_a_request_confidential(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let path = format!("/api/v1/requests/{id}/confidentiality-notice");
    let (s, v) = net
        .call(FRA, reqwest::Method::POST, &path, Some(json!({})))
        .await;
    assert_eq!(
        (s, v["details"][0]["field"].as_str()),
        (422, Some("note")),
        "{v}"
    );
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &path,
            Some(json!({"note": "x"})),
        )
        .await;
    assert_eq!(s, 409, "only the requested node gives it: {v}");
    let note = "The provider must be served an order that it may disclose to the account holder.";
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &path,
            Some(json!({"note": note})),
        )
        .await;
    assert_eq!(
        (s, v["kind"].as_str()),
        (202, Some("confidentiality_cannot_be_kept")),
        "{v}"
    );
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(VNM, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "confidentiality_cannot_be_kept" && m["body"]["note"] == note)
        })
        .await,
        "the requesting node hears of it"
    );
}

/// Art. 40 postponement, for mutual legal assistance (never for a preservation): consulted,
/// postponed with the reason, resumed and accepted; both nodes hold the same history.
async fn an_mla_request_is_postponed_after_consultation(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send_stored_data(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, v) = net
        .move_to(FRA, &id, json!({"status": "postponed", "note": "x"}))
        .await;
    assert_eq!(s, 409, "consultation comes first: {v}");
    for (status, extra) in [
        (
            "consultation",
            json!({"note": "Execution now would alert the suspect"}),
        ),
        (
            "postponed",
            json!({"note": "A domestic search is under way this week"}),
        ),
        ("acknowledged", json!({})),
        ("accepted", json!({})),
    ] {
        let mut body = extra;
        body["status"] = json!(status);
        let (s, v) = net.move_to(FRA, &id, body).await;
        assert_eq!(s, 201, "{status}: {v}");
        both_at(&net, &id, status).await;
    }
    let got = both_at(&net, &id, "accepted").await;
    assert_eq!(
        statuses(&got),
        [
            "queued",
            "delivered",
            "acknowledged",
            "consultation",
            "postponed",
            "acknowledged",
            "accepted"
        ]
    );
}
