//! Every request type of Chapter V end to end, the legal gate on both sides, links between
//! requests, language warnings, and the catalogue and registry the API publishes.

use jiff::Timestamp;
use serde_json::{Value, json};

use hanoinet_core::catalogue::examples::example;
use hanoinet_core::request::{RefusalGround, RequestType};
use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_node::provision::dir;
use hanoinet_protocol::{Envelope, Header, KindName, NodeKeys};

use crate::harness::*;

both_backends!(
    mla_goes_to_the_central_authority,
    every_type_travels_and_is_answered,
    the_legal_gate_holds_on_both_sides,
    links_warnings_and_time_limits,
    catalogue_and_registry_are_published
);

const NO_LINK: &str = "0190f0a0-0000-7000-8000-000000000001";

/// Sends a preservation, then one request of every type, each answered with a refusal ground
/// its type allows or accepted; both sides end with the same fields, type and outcome.
async fn every_type_travels_and_is_answered(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let preservation_id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &preservation_id, "delivered").await;

    let mut sent = Vec::new();
    for t in RequestType::ALL {
        let body = example(t, "FRA/247", &preservation_id);
        let (status, v) = net.create(VNM, body.clone()).await;
        assert_eq!(status, 201, "{t:?}: {v}");
        assert_eq!(v["type"], t.as_str());
        let id = v["id"].as_str().unwrap().to_owned();
        // The default policy: intrusive measures wait for a supervisor's approval.
        let intrusive = matches!(
            t,
            RequestType::RealtimeTraffic
                | RequestType::Interception
                | RequestType::JointInvestigation
        );
        if intrusive {
            assert_eq!(v["status"], "awaiting_approval", "{t:?}");
            let (s, v) = net.move_to(VNM, &id, json!({"status": "queued"})).await;
            assert_eq!(s, 403, "an officer does not approve: {v}");
            let (s, v) = net
                .move_as(net.supervisor(VNM), VNM, &id, json!({"status": "queued"}))
                .await;
            assert_eq!(s, 201, "{v}");
            let approval = &v["history"][1]["details"]["approval"];
            assert_eq!(approval["role"], "supervisor", "{v}");
            assert!(approval["approver"].as_str().unwrap().starts_with("user:"));
            assert_eq!(&v["approval"], approval);
        } else {
            assert_eq!(v["status"], "queued", "{t:?}");
        }
        sent.push((t, id, body));
    }
    for (t, id, body) in &sent {
        let got = net.wait_status(FRA, id, "delivered").await;
        assert_eq!(got["type"], t.as_str());
        for (k, v) in body.as_object().unwrap() {
            if k != "type" && k != "to" {
                assert_eq!(&got[k], v, "{t:?} field {k}");
            }
        }
        // Defaults are recorded on both sides.
        assert_eq!(got["legal_basis"], "convention");
        assert!(got["urgency"].is_string());
    }
    // A traffic disclosure follows the preservation: the link is kept.
    let (_, td, _) = &sent[1];
    assert_eq!(
        net.get(FRA, td).await["follows_request"],
        preservation_id.as_str()
    );

    for (t, id, _) in &sent {
        if *t == RequestType::SpontaneousInformation {
            // Information is not accepted or refused: it is acknowledged, and its sender closes.
            let (status, v) = net.respond(FRA, id, json!({"decision": "accept"})).await;
            assert_eq!(status, 409, "{v}");
            let (status, v) = net
                .move_to(FRA, id, json!({"status": "acknowledged"}))
                .await;
            assert_eq!(status, 201, "{v}");
            net.wait_status(VNM, id, "acknowledged").await;
            let (status, v) = net.move_to(VNM, id, json!({"status": "closed"})).await;
            assert_eq!(status, 202, "proposed to the requested node: {v}");
            net.wait_status(VNM, id, "closed").await;
            continue;
        }
        if t.consult_before_refusal() {
            // Art. 40: consultation before a refusal.
            let (status, v) = net
                .move_to(FRA, id, json!({"status": "consultation", "note": "Could the request be limited to subscriber data?"}))
                .await;
            assert_eq!(status, 201, "{t:?}: {v}");
            net.wait_status(VNM, id, "consultation").await;
        }
        let answer = match t {
            RequestType::Interception | RequestType::RealtimeTraffic => json!({
                "decision": "refuse",
                "grounds": ["not_permitted_domestically"],
                "explanation": "Domestic law permits this measure for terrorism offences only."
            }),
            RequestType::Mla | RequestType::StoredData => json!({
                "decision": "refuse",
                "grounds": ["not_in_conformity"],
                "explanation": "The facts are not summarized."
            }),
            _ => json!({"decision": "accept"}),
        };
        let (status, v) = net.respond(FRA, id, answer.clone()).await;
        assert_eq!(status, 201, "{t:?}: {v}");
        let want = if answer["decision"] == "accept" {
            "accepted"
        } else {
            "refused"
        };
        let back = net.wait_status(VNM, id, want).await;
        // Only an accepted preservation is preserved until a date.
        assert_eq!(
            back["preserved_until"].is_string(),
            *t == RequestType::Preservation,
            "{t:?}"
        );
        // Both nodes hold the same history.
        assert_eq!(back["history"], net.get(FRA, id).await["history"], "{t:?}");
    }

    // A ground a type does not allow is refused with the allowed ones named.
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (status, v) = net
        .respond(
            FRA,
            &id,
            json!({"decision": "refuse", "grounds": ["not_in_conformity"], "explanation": "x"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["details"][0]["code"], "not_a_ground");
    assert!(
        v["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("essential_interests"),
        "{v}"
    );
    let (status, v) = net
        .respond(
            FRA,
            &id,
            json!({"decision": "refuse", "grounds": ["bank_secrecy"], "explanation": "x"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a ground"),
        "{v}"
    );
    // France made the Art. 42(5) reservation, but it covers only offences other than the
    // Convention's own: not this request's (an Art. 7-17 offence).
    let dual = json!({"decision": "refuse", "grounds": ["dual_criminality_reservation"], "explanation": "Not an offence in France."});
    let (status, v) = net.respond(FRA, &id, dual.clone()).await;
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
    // A serious crime outside them: France may cite it.
    let mut serious = example(RequestType::Preservation, "FRA/247", NO_LINK);
    serious["offence_category"] = json!("serious_crime");
    serious["max_penalty_years"] = json!(6);
    let (status, v) = net.create(VNM, serious).await;
    assert_eq!(status, 201, "{v}");
    let serious_id = v["id"].as_str().unwrap().to_owned();
    net.wait_status(FRA, &serious_id, "delivered").await;
    let (status, v) = net.respond(FRA, &serious_id, dual).await;
    assert_eq!(status, 201, "{v}");
    // The reservation concerns preservation only (Art. 42(5)), not traffic disclosure.
    let td = hanoinet_core::catalogue::forms::TRAFFIC_DISCLOSURE.refusal;
    assert!(!RefusalGround::DualCriminalityReservation.allowed_under(td, true));
}

/// A State that only signed: the sender refuses a request under the Convention with the reason,
/// another recorded legal basis goes through, and the receiver checks the same on its own.
async fn the_legal_gate_holds_on_both_sides(backend: hanoinet_store::testing::Backend) {
    let net = Net::start_with_chile(backend).await;
    let body = example(RequestType::Preservation, "CHL/247", NO_LINK);
    let (status, v) = net.create(VNM, body.clone()).await;
    assert_eq!(status, 422, "{v}");
    let d = &v["details"][0];
    assert_eq!(d["field"], "legal_basis");
    assert_eq!(d["code"], "convention_not_in_force");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.contains("CHL has signed on 2025-10-25 but deposited no instrument"),
        "{msg}"
    );
    assert!(msg.contains("another recorded legal basis"), "{msg}");
    assert!(
        d.get("possible_from").is_none(),
        "no date can be given for a State that only signed"
    );
    assert!(net.list(VNM, "outgoing").await.is_empty(), "nothing stored");

    // Sweden deposited ten days ago: possible from the 30th day after its deposit.
    let (status, v) = net
        .create(VNM, example(RequestType::Preservation, "SWE/247", NO_LINK))
        .await;
    assert_eq!(status, 422, "{v}");
    let d = &v["details"][0];
    assert_eq!(d["code"], "convention_not_in_force");
    let from: jiff::civil::Date = d["possible_from"].as_str().unwrap().parse().unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    assert_eq!(from, today.saturating_add(jiff::ToSpan::days(20)));
    assert!(d["message"].as_str().unwrap().contains(&from.to_string()));

    // The same request under a bilateral treaty is sent, and shows its basis on both sides.
    let mut treaty = body.clone();
    treaty["legal_basis"] = json!("bilateral_treaty");
    treaty["legal_basis_detail"] = json!("Viet Nam-Chile treaty on mutual legal assistance (demo)");
    treaty["language"] = json!("es");
    let (status, v) = net.create(VNM, treaty).await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"diplomatic_channel_required"), "{v}");
    let got = net.wait_status(CHL, &id, "delivered").await;
    assert_eq!(got["legal_basis"], "bilateral_treaty");
    assert_eq!(
        got["legal_basis_detail"],
        "Viet Nam-Chile treaty on mutual legal assistance (demo)"
    );

    // A sender that skips its own check meets the receiver's: invalid_payload, nothing stored.
    let vnm_keys = NodeKeys::from_key_file_json(
        &dir::read(&net.file.nodes[VNM].dir.join(dir::KEYS_FILE)).unwrap(),
    )
    .unwrap();
    let chl_keys = NodeKeys::from_key_file_json(
        &dir::read(&net.file.nodes[CHL].dir.join(dir::KEYS_FILE)).unwrap(),
    )
    .unwrap();
    let mut fields = body.clone();
    fields.as_object_mut().unwrap().remove("type");
    fields.as_object_mut().unwrap().remove("to");
    let payload = json!({
        "request_id": hanoinet_core::RequestId::new_v7(),
        "type": "preservation",
        "created_at": Timestamp::now(),
        "fields": fields,
    });
    let header = Header {
        id: EnvelopeId::new_v7(),
        from: "VNM/247".parse::<NodeId>().unwrap(),
        to: "CHL/247".parse::<NodeId>().unwrap(),
        kind: KindName::new(KindName::PRESERVATION_REQUEST).unwrap(),
        created_at: hanoinet_core::time::truncate_to_micros(Timestamp::now()),
        in_reply_to: None,
    };
    let env = Envelope::seal(
        header,
        &serde_json::to_vec(&payload).unwrap(),
        &vnm_keys,
        chl_keys.public(),
        &mut rand::rng(),
    )
    .unwrap();
    let resp = net
        .http
        .post(format!("{}/federation/v1/envelopes", net.url(CHL)))
        .header("Content-Type", "application/json")
        .body(env.to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "invalid_payload");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("convention_not_in_force"),
        "{v}"
    );
    assert_eq!(
        net.list(CHL, "incoming").await.len(),
        1,
        "only the treaty request"
    );
}

/// `follows_request` must name a request between the same States; a language the requested
/// State does not list is a warning on both sides; lists sort on the requested time limit.
async fn links_warnings_and_time_limits(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let unknown = example(RequestType::StoredData, "FRA/247", NO_LINK);
    let (status, v) = net.create(VNM, unknown).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["details"][0]["field"], "follows_request");
    assert_eq!(v["details"][0]["code"], "unknown_request");

    // A preservation to Kenya cannot be followed up in France.
    let kenya = net.send(VNM, KEN).await;
    let (status, _) = net
        .create(VNM, example(RequestType::StoredData, "FRA/247", &kenya))
        .await;
    assert_eq!(status, 422);

    let preservation = net.send(VNM, FRA).await;
    let mut follow = example(RequestType::StoredData, "FRA/247", &preservation);
    follow["language"] = json!("vi");
    follow["time_limit"] = json!("2027-03-01");
    follow["time_limit_reasons"] = json!("Trial opens on 2027-03-15");
    let (status, v) = net.create(VNM, follow).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["warnings"][0]["code"], "language_not_accepted", "{v}");
    assert_eq!(v["warnings"][0]["article"], "Art. 40(14)");
    let id = v["id"].as_str().unwrap().to_owned();
    let got = net.wait_status(FRA, &id, "delivered").await;
    assert_eq!(got["follows_request"], preservation.as_str());
    assert_eq!(got["warnings"][0]["code"], "language_not_accepted");

    let mut sooner = example(RequestType::Mla, "FRA/247", NO_LINK);
    sooner["time_limit"] = json!("2026-12-20");
    sooner["time_limit_reasons"] = json!("Custody ends");
    let (status, v) = net.create(VNM, sooner).await;
    assert_eq!(status, 201, "{v}");
    let sooner_id = v["id"].as_str().unwrap().to_owned();
    let (status, list) = net
        .call(
            VNM,
            reqwest::Method::GET,
            "/api/v1/requests?sort=time_limit",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(&ids[..2], [sooner_id.as_str(), id.as_str()], "{list}");
    let (status, _) = net
        .call(
            VNM,
            reqwest::Method::GET,
            "/api/v1/requests?sort=colour",
            None,
        )
        .await;
    assert_eq!(status, 422);
}

async fn catalogue_and_registry_are_published(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let get = |path: &'static str| {
        let http = net.http.clone();
        let url = format!("{}{path}", net.url(VNM));
        async move {
            let resp = http.get(url).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200, "{path}");
            resp.json::<Value>().await.unwrap()
        }
    };
    let cat = get("/api/v1/catalogue").await;
    let types = cat["request_types"].as_array().unwrap();
    assert_eq!(types.len(), 13);
    // Art. 41(3)(c): the 24/7 network also collects evidence and gives legal information.
    let evidence = types
        .iter()
        .find(|t| t["type"] == "evidence_and_legal_information")
        .unwrap();
    assert_eq!(evidence["article"]["ref"], "Art. 41(3)(c)", "{evidence}");
    let p = types.iter().find(|t| t["type"] == "preservation").unwrap();
    let authority = p["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "requesting_authority")
        .unwrap();
    assert_eq!(authority["article"], "Art. 42(2)(a)");
    assert_eq!(authority["required"], true);
    assert!(
        !p["refusal_grounds"]
            .as_array()
            .unwrap()
            .contains(&json!("not_in_conformity"))
    );
    assert_eq!(cat["offence_categories"].as_array().unwrap().len(), 12);
    assert!(
        cat["common_fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "offence_category")
    );
    assert_eq!(cat["not_grounds"][0]["code"], "fiscal_matters");
    // Every example in the catalogue is a request this node accepts (links aside).
    for t in types {
        let mut ex = t["example"].clone();
        ex.as_object_mut().unwrap().remove("follows_request");
        if t["type"] == "traffic_disclosure" {
            continue;
        }
        let (status, v) = net.create(VNM, ex).await;
        assert_eq!(status, 201, "{}: {v}", t["type"]);
    }

    let reg = get("/api/v1/registry").await;
    let general = reg["general_in_force_from"].as_str().unwrap();
    let state = |code: &str| {
        reg["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == code)
            .unwrap()
            .clone()
    };
    let today: jiff::civil::Date = reg["today"].as_str().unwrap().parse().unwrap();
    let vnm = state("VNM");
    assert_eq!(vnm["in_force_from"], general);
    assert_eq!(vnm["instrument"]["kind"], "ratification");
    assert_eq!(vnm["nodes"][0]["id"], "VNM/247");
    let chl = state("CHL");
    assert!(chl["instrument"].is_null() && chl["in_force_from"].is_null());
    assert_eq!(chl["signed"], "2025-10-25");
    let swe = state("SWE");
    let swe_from: jiff::civil::Date = swe["in_force_from"].as_str().unwrap().parse().unwrap();
    assert!(swe_from > today, "Sweden is within its 30-day window");
    assert_eq!(swe["in_force_today"], false);
    let eu = state("EU");
    assert_eq!(eu["regional_organization"], true);
    assert!(eu["members"].as_array().unwrap().contains(&json!("FRA")));
    assert_eq!(state("FRA")["reservations"][0]["article"], "42(5)");
    let ury = state("URY");
    assert!(ury["in_force_until"].is_string() && ury["denounced"].is_string());
    let parties = reg["states"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["instrument"].is_null() && s["regional_organization"] == false)
        .count();
    assert!(parties >= 40, "{parties} instruments");
}

/// Art. 40: mutual legal assistance goes to the central authority. Sent to a 24/7 point of
/// contact of a State whose central authority has a node, the request carries a warning naming it.
async fn mla_goes_to_the_central_authority(backend: hanoinet_store::testing::Backend) {
    let net = Net::start_with(
        backend,
        &["VNM/247", "FRA/247", "KEN/247", "FRA/CA"],
        std::sync::Arc::new(hanoinet_core::SystemClock),
        |_| {},
    )
    .await;
    let codes = |v: &Value| -> Vec<String> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, v) = net
        .create(VNM, example(RequestType::Mla, "FRA/247", NO_LINK))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(codes(&v), ["not_central_authority"]);
    assert!(
        v["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("FRA/CA")
    );
    let (s, v) = net
        .create(VNM, example(RequestType::Mla, "FRA/CA", NO_LINK))
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
    // A preservation goes to the 24/7 point of contact without a warning.
    let (s, v) = net
        .create(VNM, example(RequestType::Preservation, "FRA/247", NO_LINK))
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(codes(&v).is_empty(), "{v}");
    let reg = net
        .call(VNM, reqwest::Method::GET, "/api/v1/registry", None)
        .await
        .1;
    let fra = reg["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "FRA")
        .unwrap()
        .clone();
    assert!(
        fra["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == "FRA/CA" && n["role"] == "central_authority")
    );
}
