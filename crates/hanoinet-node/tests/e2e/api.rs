//! The REST API: the preservation round trip, validation, access control, conflicts.

use reqwest::Method;
use serde_json::{Value, json};

use hanoinet_protocol::Receipt;

use crate::harness::*;

both_backends!(
    accepted_preservation_round_trip,
    refused_preservation_round_trip,
    invalid_requests_store_and_send_nothing,
    tokens_and_roles_are_enforced,
    decisions_are_validated_and_happen_once,
    openapi_document_is_served,
);

fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

async fn accepted_preservation_round_trip(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let (status, created) = net.create(VNM, preservation("FRA/247")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "queued");
    assert_eq!(created["direction"], "outgoing");
    let id = created["id"].as_str().unwrap().to_owned();

    // Delivered: the sender holds the peer's signed receipt, which verifies with the registry key.
    let sent = net.wait_status(VNM, &id, "delivered").await;
    let receipt: Receipt = serde_json::from_value(sent["receipt"].clone()).unwrap();
    let fra_keys = net
        .node(VNM)
        .state
        .registry()
        .node(&"FRA/247".parse().unwrap())
        .unwrap()
        .public_keys()
        .unwrap();
    assert!(receipt.verify(&fra_keys));
    assert_eq!(
        receipt.envelope_id.to_string(),
        sent["envelope_id"].as_str().unwrap()
    );

    // The requested node knows the request by the same id, with every field.
    let incoming = net.list(FRA, "incoming").await;
    assert_eq!(incoming.len(), 1);
    assert_eq!(incoming[0]["id"], id.as_str());
    let got = net.get(FRA, &id).await;
    assert_eq!(got["status"], "delivered");
    assert_eq!(got["from"], "VNM/247");
    for field in [
        "requesting_authority",
        "offence",
        "summary_of_facts",
        "data_to_preserve",
        "relationship_to_offence",
        "custodian_or_location",
        "necessity",
        "mla_request_to_follow",
        "confidential",
    ] {
        assert_eq!(got[field], preservation("FRA/247")[field], "{field}");
    }
    assert!(net.list(FRA, "outgoing").await.is_empty());

    let (status, answered) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(status, 201, "{answered}");
    assert_eq!(answered["status"], "accepted");
    let accepted_at = ts(&answered["decision"]["decided_at"]);
    let until = ts(&answered["preserved_until"]);
    assert!(
        until
            >= accepted_at
                .checked_add(jiff::SignedDuration::from_hours(24 * 60))
                .unwrap()
    );

    // Both nodes hold the same outcome and the same dates.
    let back = net.wait_status(VNM, &id, "accepted").await;
    assert_eq!(back["preserved_until"], answered["preserved_until"]);
    let statuses: Vec<&str> = back["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    // Answering a delivered request acknowledges it first.
    assert_eq!(
        statuses,
        ["queued", "delivered", "acknowledged", "accepted"]
    );
    // Both nodes hold the same history, step for step and to the microsecond.
    let theirs = net.get(FRA, &id).await;
    assert_eq!(back["history"], theirs["history"]);
    for e in back["history"].as_array().unwrap() {
        ts(&e["at"]);
    }
    // The requested node eventually holds the requesting node's receipt for the response.
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            !net.get(FRA, &id).await["response_receipt"].is_null()
        })
        .await
    );
}

async fn refused_preservation_round_trip(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (status, v) = net
        .respond(FRA, &id, json!({"decision": "refuse", "grounds": ["essential_interests"], "explanation": "Would prejudice national security."}))
        .await;
    assert_eq!(status, 201, "{v}");
    let back = net.wait_status(VNM, &id, "refused").await;
    assert_eq!(back["decision"]["grounds"], json!(["essential_interests"]));
    assert_eq!(
        back["decision"]["explanation"],
        "Would prejudice national security."
    );
    assert!(back["preserved_until"].is_null());
}

async fn invalid_requests_store_and_send_nothing(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    for field in [
        "requesting_authority",
        "offence",
        "summary_of_facts",
        "data_to_preserve",
        "relationship_to_offence",
        "custodian_or_location",
        "necessity",
        "mla_request_to_follow",
    ] {
        let mut body = preservation("FRA/247");
        body.as_object_mut().unwrap().remove(field);
        let (status, v) = net.create(VNM, body).await;
        assert_eq!(status, 422, "{field}: {v}");
        assert_eq!(v["error"], "validation_failed");
        let details = v["details"].as_array().unwrap();
        assert_eq!(details.len(), 1, "{v}");
        assert_eq!(details[0]["field"], field);
        assert!(
            details[0]["article"]
                .as_str()
                .unwrap()
                .starts_with("Art. 42(2)("),
            "{v}"
        );

        let mut body = preservation("FRA/247");
        body[field] = json!("");
        let (status, v) = net.create(VNM, body).await;
        assert_eq!(status, 422, "{field}: {v}");
        assert_eq!(v["details"][0]["field"], field);
    }
    // Several problems: one error per field.
    let (status, v) = net
        .create(
            VNM,
            json!({"type": "preservation", "to": "FRA/247", "offence": ""}),
        )
        .await;
    assert_eq!(status, 422);
    // offence, seven missing preservation fields, three fields every request carries.
    assert_eq!(v["details"].as_array().unwrap().len(), 11, "{v}");
    // Unknown node, own State, not JSON.
    let (status, v) = net.create(VNM, preservation("ZZZ/247")).await;
    assert_eq!(
        (status, v["details"][0]["code"].as_str()),
        (422, Some("unknown_node"))
    );
    let (status, _) = net.create(VNM, preservation("VNM/247")).await;
    assert_eq!(status, 422);
    let resp = net
        .http
        .post(format!("{}/api/v1/requests", net.url(VNM)))
        .bearer_auth(net.token(VNM))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "malformed_json");

    let mut huge = preservation("FRA/247");
    huge["summary_of_facts"] = json!("x".repeat(hanoinet_node::http::extract::MAX_API_BODY));
    let (status, v) = net.create(VNM, huge).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );

    assert!(net.list(VNM, "outgoing").await.is_empty());
    assert_eq!(net.store(VNM).outbox_counts().await.unwrap(), (0, 0));
}

async fn tokens_and_roles_are_enforced(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = net.http.get(format!("{}/api/v1/requests", net.url(VNM)));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "unauthorized");
    }
    // A token of one node is worthless on another.
    let resp = net
        .http
        .get(format!("{}/api/v1/requests", net.url(FRA)))
        .bearer_auth(net.token(VNM))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // An auditor reads the ledger, not the cases, and sends nothing.
    let token = net.file.nodes[VNM].auditor_token.clone();
    let id = net.send(VNM, FRA).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/requests".to_owned(),
            Some(preservation("FRA/247")),
        ),
        (Method::GET, "/api/v1/requests".to_owned(), None),
        (Method::GET, format!("/api/v1/requests/{id}"), None),
    ] {
        let mut req = net
            .http
            .request(method.clone(), format!("{}{path}", net.url(VNM)))
            .bearer_auth(&token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    let resp = net
        .http
        .get(format!("{}/api/v1/ledger/head", net.url(VNM)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // An officer reads cases, not the ledger.
    let (status, _) = net
        .call(VNM, Method::GET, "/api/v1/ledger/head", None)
        .await;
    assert_eq!(status, 403);
    // Names are unique.
    let err = hanoinet_node::provision::network::add_user(
        net.store(VNM),
        &"VNM/247".parse().unwrap(),
        "auditor",
        hanoinet_core::access::Role::Auditor,
    )
    .await;
    assert!(err.is_err());
}

async fn decisions_are_validated_and_happen_once(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let to_fra = net.send(VNM, FRA).await;
    let to_ken = net.send(VNM, KEN).await;
    net.wait_status(FRA, &to_fra, "delivered").await;
    net.wait_status(KEN, &to_ken, "delivered").await;

    for (body, field) in [
        (
            json!({"decision": "refuse", "grounds": ["fiscal_matters"], "explanation": "x"}),
            "grounds[0]",
        ),
        (
            json!({"decision": "refuse", "grounds": ["bank_secrecy"], "explanation": "x"}),
            "grounds[0]",
        ),
        (
            json!({"decision": "refuse", "grounds": ["not_in_conformity"], "explanation": "x"}),
            "grounds[0]",
        ),
        (
            json!({"decision": "refuse", "grounds": ["essential_interests"]}),
            "explanation",
        ),
        (json!({"decision": "later"}), "decision"),
    ] {
        let (status, v) = net.respond(FRA, &to_fra, body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_eq!(v["details"][0]["field"], field, "{v}");
    }
    // Kenya made no Art. 42(5) reservation in the demo registry; France did.
    let dual = json!({"decision": "refuse", "grounds": ["dual_criminality_reservation"], "explanation": "Not an offence here."});
    let (status, v) = net.respond(KEN, &to_ken, dual.clone()).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["details"][0]["code"], "not_a_ground");
    // France did, but it covers only offences other than the Convention's own (Art. 42(5)):
    // not this ICT fraud.
    let (status, v) = net.respond(FRA, &to_fra, dual.clone()).await;
    assert_eq!(
        (status, v["details"][0]["code"].as_str()),
        (422, Some("not_a_ground")),
        "{v}"
    );
    assert!(
        v["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Arts. 7-17"),
        "{v}"
    );
    let (status, v) = net
        .respond(FRA, &to_fra, json!({"decision": "refuse", "grounds": ["essential_interests"], "explanation": "Security."}))
        .await;
    assert_eq!(status, 201, "{v}");
    // A serious crime outside the Convention's offences: the reservation applies.
    let mut serious = preservation("FRA/247");
    serious["offence_category"] = json!("serious_crime");
    serious["max_penalty_years"] = json!(5);
    serious["offence"] = json!("Aggravated tax evasion through shell companies");
    let (status, v) = net.create(VNM, serious).await;
    assert_eq!(status, 201, "{v}");
    let other = v["id"].as_str().unwrap().to_owned();
    net.wait_status(FRA, &other, "delivered").await;
    let (status, v) = net.respond(FRA, &other, dual).await;
    assert_eq!(status, 201, "{v}");

    // Once only; never by the requesting side; unknown ids are 404.
    let (status, v) = net
        .respond(FRA, &to_fra, json!({"decision": "accept"}))
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"], "conflict");
    let (status, _) = net
        .respond(VNM, &to_fra, json!({"decision": "accept"}))
        .await;
    assert_eq!(status, 409);
    let (status, _) = net
        .respond(
            FRA,
            "01a20000-0000-7000-8000-000000000000",
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = net
        .call(FRA, Method::GET, "/api/v1/requests/not-a-uuid", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = net
        .call(
            FRA,
            Method::GET,
            "/api/v1/requests?direction=sideways",
            None,
        )
        .await;
    assert_eq!(status, 422);
    net.wait_status(VNM, &to_fra, "refused").await;
}

async fn openapi_document_is_served(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let resp = net
        .http
        .get(format!("{}/api/v1/openapi.json", net.url(VNM)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // The router's paths (recorded as they are registered) and the document's, both ways.
    let served: std::collections::BTreeSet<&str> =
        hanoinet_node::http::paths().into_iter().collect();
    assert!(
        served.contains("/healthz") && served.len() > 25,
        "{served:?}"
    );
    let documented: std::collections::BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented paths the router lacks: {unserved:?}"
    );
}
