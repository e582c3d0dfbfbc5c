//! The response centre end to end, over the public listener: a citizen reports, an analyst
//! triages and confirms, the public check finds it, the reporter's status follows; the rate
//! limit; the restricted category; who may do what.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

both_backends!(
    report_triage_confirm_and_the_public_check_finds_it,
    the_public_side_refuses_what_it_should,
    child_sexual_abuse_reports_stay_in_the_restricted_queue,
    escalation_drafts_a_request_that_officers_send,
    reports_past_the_retention_period_are_purged_unless_a_case_holds_them,
    citizens_report_through_the_form_without_javascript,
    warnings_feeds_and_statistics_carry_no_personal_data,
    screenshots_are_kept_without_their_metadata,
    the_form_takes_screenshots_but_never_for_the_restricted_category,
);

/// The usual network, VNM with a public side on a port of its own.
pub(crate) async fn centre(backend: hanoinet_store::testing::Backend) -> Net {
    centre_on(backend, std::sync::Arc::new(hanoinet_core::SystemClock)).await
}

pub(crate) async fn centre_on(
    backend: hanoinet_store::testing::Backend,
    clock: std::sync::Arc<dyn hanoinet_core::Clock>,
) -> Net {
    Net::start_with(backend, &IDS, clock, |n| {
        if n.id.as_str() == "VNM/247" {
            let path = n.dir.join("node.json");
            let mut config: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            config["public"] = json!({"listen": "127.0.0.1:0", "reports_per_hour": 6});
            std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        }
    })
    .await
}

pub(crate) fn public(net: &Net) -> String {
    format!(
        "http://{}",
        net.node(VNM).public_addr.expect("a public listener")
    )
}

pub(crate) async fn post_report(net: &Net, body: Value) -> (u16, Value) {
    let resp = net
        .http
        .post(format!("{}/public/v1/reports", public(net)))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn report_status(net: &Net, code: &str, secret: Option<&str>) -> (u16, Value) {
    let mut req = net
        .http
        .get(format!("{}/public/v1/reports/{code}", public(net)));
    if let Some(s) = secret {
        req = req.header("X-Report-Secret", s);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn check(net: &Net, kind: &str, value: &str) -> (u16, Value) {
    let resp = net
        .http
        .get(format!("{}/public/v1/check", public(net)))
        .query(&[("type", kind), ("value", value)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) fn analyst(net: &Net) -> &str {
    &net.file.nodes[VNM].analyst_token
}

async fn report_triage_confirm_and_the_public_check_finds_it(
    backend: hanoinet_store::testing::Backend,
) {
    let net = centre(backend).await;
    // The officers' listener does not serve the public side, nor the public one the API.
    let resp = net
        .http
        .get(format!("{}/public/v1/categories", net.url(VNM)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = net
        .http
        .get(format!("{}/api/v1/reports", public(&net)))
        .bearer_auth(analyst(&net))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let cats: Value = net
        .http
        .get(format!("{}/public/v1/categories", public(&net)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        cats["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "child_sexual_abuse_material" && c["files"] == false)
    );

    let (status, first) = post_report(
        &net,
        json!({
            "category": "scam_call",
            "description": "Caller said he was a police officer and asked me to move my savings.",
            "occurred_at": "2026-11-30",
            "loss": {"amount": 15000000, "currency": "VND"},
            "payment_method": "bank_transfer",
            "contact": "0912 000 111",
            "consent": true,
            "indicators": [
                {"type": "phone", "value": "091 234 5678"},
                {"type": "bank_account", "value": "0071-0001-23456", "bank": "VCB"}
            ]
        }),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let code = first["code"].as_str().unwrap().to_owned();
    let secret = first["secret"].as_str().unwrap().to_owned();
    assert!(code.starts_with("VN-"), "{code}");
    assert_eq!(first["indicators"][0]["type"], "phone");
    assert_eq!(first["indicators"][0]["canonical"], "+84912345678");
    let phone_hash = first["indicators"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(
        phone_hash,
        "d07be91eb53b4f981be2b12739d551dd8a98148635c05a30e48e625f545e9d31"
    );
    // A second report of the same number in its international form: the same indicator.
    let (status, second) = post_report(
        &net,
        json!({"category": "scam_sms", "description": "SMS with a link to pay a fine.",
               "loss": {"amount": "250000", "currency": "VND"},
               "indicators": [{"type": "phone", "value": "+84 91 234 56 78"}, {"type": "url", "value": "HTTP://Phat-Nguoi.example.COM:80/pay/../thanh-toan#x"}]}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["indicators"][0]["hash"], phone_hash.as_str());
    assert_eq!(
        second["indicators"][1]["canonical"],
        "http://phat-nguoi.example.com/thanh-toan"
    );

    // The reporter sees "received", and only that.
    let (status, seen) = report_status(&net, &code, Some(&secret)).await;
    assert_eq!(
        (status, seen.clone()),
        (200, json!({"code": code, "status": "received"}))
    );
    let (status, _) = report_status(&net, &code, Some("WRONGSECRETWRONGSECRET")).await;
    assert_eq!(status, 404);
    let (status, _) = report_status(&net, "VN-AAAA-AAAA", Some(&secret)).await;
    assert_eq!(status, 404);
    let (status, _) = report_status(&net, &code, None).await;
    assert_eq!(status, 401);

    // Not public yet.
    let (status, c) = check(&net, "phone", "0912345678").await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        (c["hash"].as_str(), c["listed"].as_bool()),
        (Some(phone_hash.as_str()), Some(false))
    );

    // Officers do not triage; analysts do not read cases.
    let (status, _) = net
        .call_as(net.token(VNM), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/requests", None)
        .await;
    assert_eq!(status, 403);

    // The queue; the indicator groups both reports, with both losses.
    let (status, queue) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            "/api/v1/reports?status=received",
            None,
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["reports"].as_array().unwrap().len(), 2);
    let (status, inds) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            "/api/v1/indicators?type=phone",
            None,
        )
        .await;
    assert_eq!(status, 200, "{inds}");
    let top = &inds["indicators"][0];
    assert_eq!(
        (top["hash"].as_str(), top["reports"].as_i64()),
        (Some(phone_hash.as_str()), Some(2))
    );
    assert_eq!(
        top["losses"],
        json!([{"currency": "VND", "amount": "15250000", "reports": 2}])
    );
    let (_, grouped) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports?indicator={phone_hash}"),
            None,
        )
        .await;
    assert_eq!(grouped["reports"].as_array().unwrap().len(), 2);

    // Opening a report puts it in review; it shows the related report and its contact.
    let id = queue["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, file) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["status"], "in_review");
    assert_eq!(file["contact"], "0912 000 111");
    assert_eq!(file["related"][0]["code"], second["code"]);
    assert_eq!(
        report_status(&net, &code, Some(&secret)).await.1["status"],
        "in_review"
    );
    let (status, note) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/reports/{id}/notes"),
            Some(json!({"body": "Same number as last week's wave."})),
        )
        .await;
    assert_eq!(status, 201, "{note}");

    // Decisions: bad ones named field by field; a confirmation moves both reports.
    let decide = |body: Value| {
        let path = format!("/api/v1/indicators/{phone_hash}/decision");
        let net = &net;
        async move {
            net.call_as(analyst(net), VNM, Method::POST, &path, Some(body))
                .await
        }
    };
    let (status, bad) = decide(json!({"decision": "confirm"})).await;
    assert_eq!(status, 422, "{bad}");
    let fields: Vec<&str> = bad["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tlp", "expires"]);
    assert_eq!(
        decide(json!({"decision": "confirm", "tlp": "white", "expires": "2030-01-01T00:00:00Z"}))
            .await
            .0,
        422
    );
    assert_eq!(
        decide(json!({"decision": "confirm", "tlp": "clear", "expires": "2020-01-01T00:00:00Z"}))
            .await
            .0,
        422
    );
    assert_eq!(
        decide(json!({"decision": "false_positive", "tlp": "clear"}))
            .await
            .0,
        422
    );
    assert_eq!(decide(json!({"decision": "maybe"})).await.0, 422);
    let (status, _) = net
        .call_as(
            net.token(VNM),
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{phone_hash}/decision"),
            Some(json!({"decision": "false_positive"})),
        )
        .await;
    assert_eq!(status, 403, "an officer does not decide indicators");
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 90)).to_string();
    let (status, decided) =
        decide(json!({"decision": "confirm", "tlp": "clear", "expires": expires})).await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(
        (decided["status"].as_str(), decided["tlp"].as_str()),
        (Some("confirmed"), Some("clear"))
    );
    assert_eq!(
        report_status(&net, &code, Some(&secret)).await.1["status"],
        "confirmed"
    );
    assert_eq!(
        report_status(
            &net,
            second["code"].as_str().unwrap(),
            Some(second["secret"].as_str().unwrap())
        )
        .await
        .1["status"],
        "confirmed"
    );

    // The public check now finds it, from any written form.
    for form in ["0912345678", "+84 91 234 5678", "0084912345678"] {
        let (status, c) = check(&net, "phone", form).await;
        assert_eq!(
            (status, c["listed"].as_bool()),
            (200, Some(true)),
            "{form}: {c}"
        );
    }
    // Not the bank account: nobody decided it.
    assert_eq!(
        check(&net, "bank_account", "VN:VCB:0071000123456").await.1["listed"],
        false
    );
    // Amber is not public.
    let acct = first["indicators"][1]["hash"].as_str().unwrap();
    let (status, _) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{acct}/decision"),
            Some(json!({"decision": "confirm", "tlp": "amber", "expires": expires})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        check(&net, "bank_account", "VN:VCB:0071000123456").await.1["listed"],
        false
    );

    // Closing: the reporter's status follows; a second close is a conflict.
    let (status, closed) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/reports/{id}/close"),
            None,
        )
        .await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("closed")));
    assert_eq!(
        report_status(&net, &code, Some(&secret)).await.1["status"],
        "closed"
    );
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/reports/{id}/close"),
            None
        )
        .await
        .0,
        409
    );

    // Every step is in the ledger, by code and commitment: no phone number, no description.
    let store = net.store(VNM);
    let entries = eventually_entries(store).await;
    for event in [
        "report_received",
        "report_opened",
        "report_note_added",
        "indicator_decided",
        "report_closed",
    ] {
        assert!(
            entries.iter().any(|e| e.contains(event)),
            "no {event} entry"
        );
    }
    assert!(entries.iter().all(|e| !e.contains("+84912345678")
        && !e.contains("savings")
        && !e.contains("0912 000 111")));
}

/// The ledger's entries as text, once they are integrated.
pub(crate) async fn eventually_entries(store: &hanoinet_store::Store) -> Vec<String> {
    let mut out = Vec::new();
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            let n = store.ledger_size().await.unwrap();
            n > 0 && store.ledger_queued().await.unwrap() == 0
        })
        .await
    );
    let n = store.ledger_size().await.unwrap();
    for e in store.ledger_entries(0, n).await.unwrap() {
        out.push(String::from_utf8_lossy(&e.1).into_owned());
    }
    out
}

async fn the_public_side_refuses_what_it_should(backend: hanoinet_store::testing::Backend) {
    let net = centre(backend).await;
    // Every fault at once, each named.
    let (status, bad) = post_report(
        &net,
        json!({"category": "lottery", "loss": {"amount": "12.5", "currency": "VND"}, "contact": "me", "indicators": [{"type": "phone", "value": "hello"}], "admin": true}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let fields: Vec<&str> = bad["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "category",
        "loss.amount",
        "contact",
        "indicators[0].value",
        "admin",
    ] {
        assert!(fields.contains(&f), "{f} not named: {fields:?}");
    }
    // Not JSON, too large, wrong type.
    let url = format!("{}/public/v1/reports", public(&net));
    let resp = net
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = net
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let big = json!({"category": "other", "description": "x".repeat(100_000)});
    let resp = net.http.post(&url).json(&big).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    // A check of nonsense is a 422 naming the value; an unknown type too.
    let (status, c) = check(&net, "phone", "not a number").await;
    assert_eq!(
        (status, c["details"][0]["field"].as_str()),
        (422, Some("value")),
        "{c}"
    );
    assert_eq!(check(&net, "fax", "123").await.0, 422);

    // The rate limit: this node allows 6 reports an hour per address, and says when to retry.
    // (The 422s above counted too: 5 of them reached the limit's count.)
    let mut last = 0;
    let mut retry = None;
    for _ in 0..8 {
        let resp = net
            .http
            .post(&url)
            .json(&json!({"category": "other", "description": "test"}))
            .send()
            .await
            .unwrap();
        last = resp.status().as_u16();
        if last == 429 {
            retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
            break;
        }
    }
    assert_eq!(last, 429);
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);
    // Status questions have their own allowance.
    assert_eq!(report_status(&net, "VN-AAAA-AAAA", Some("x")).await.0, 404);
}

async fn child_sexual_abuse_reports_stay_in_the_restricted_queue(
    backend: hanoinet_store::testing::Backend,
) {
    let net = centre(backend).await;
    let (status, r) = post_report(
        &net,
        json!({"category": "child_sexual_abuse_material", "description": "A link in a group chat.",
               "indicators": [{"type": "url", "value": "http://abuse.example/gallery"}]}),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let hash = r["indicators"][0]["hash"].as_str().unwrap().to_owned();
    // Not in the ordinary queue, nor its indicator among the analyst's.
    let (_, queue) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    assert_eq!(queue["reports"], json!([]));
    let (_, inds) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/indicators", None)
        .await;
    assert_eq!(inds["indicators"], json!([]));
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::GET,
            "/api/v1/reports?queue=restricted",
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/indicators/{hash}"),
            None
        )
        .await
        .0,
        403
    );
    // The child-protection analyst opens the restricted queue; content stays hidden by default.
    let csam = &net.file.nodes[VNM].csam_analyst_token;
    let (status, queue) = net
        .call_as(
            csam,
            VNM,
            Method::GET,
            "/api/v1/reports?queue=restricted",
            None,
        )
        .await;
    assert_eq!(status, 200, "{queue}");
    let item = &queue["reports"][0];
    assert_eq!(
        (item["restricted"].as_bool(), &item["description"]),
        (Some(true), &Value::Null)
    );
    let id = item["id"].as_str().unwrap().to_owned();
    let (_, file) = net
        .call_as(
            csam,
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            None,
        )
        .await;
    assert_eq!(
        (&file["description"], &file["indicators"][0]["canonical"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(file["indicators"][0]["hash"], hash.as_str());
    let (_, shown) = net
        .call_as(
            csam,
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}?reveal=true"),
            None,
        )
        .await;
    assert_eq!(
        shown["indicators"][0]["canonical"],
        "http://abuse.example/gallery"
    );
    // The analyst cannot open it by id either.
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            None
        )
        .await
        .0,
        403
    );
}

async fn escalation_drafts_a_request_that_officers_send(backend: hanoinet_store::testing::Backend) {
    let net = centre(backend).await;
    let mut ids = Vec::new();
    for (amount, phone) in [(5_000_000, "0912345678"), (7_000_000, "+84 912 345 678")] {
        let (status, r) = post_report(
            &net,
            json!({"category": "investment_or_romance_scam", "description": "Fake trading app.",
                   "contact": "secret-contact@example.com", "consent": true,
                   "loss": {"amount": amount, "currency": "VND"},
                   "indicators": [{"type": "phone", "value": phone}, {"type": "domain", "value": "https://app.fake-trade.fr/login"}]}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        let (_, q) = net
            .call_as(
                analyst(&net),
                VNM,
                Method::GET,
                &format!(
                    "/api/v1/reports?indicator={}",
                    r["indicators"][0]["hash"].as_str().unwrap()
                ),
                None,
            )
            .await;
        ids.push(q["reports"][0]["id"].as_str().unwrap().to_owned());
    }
    let path = format!("/api/v1/reports/{}/escalate", ids[0]);
    // Hostile escalations: an unknown type, an own-State node, a request type analysts may not
    // draft, unknown fields; an officer may not escalate.
    for (body, field) in [
        (json!({"type": "interception", "to": "FRA/247"}), "type"),
        (json!({"type": "preservation", "to": "VNM/247"}), "to"),
        (json!({"type": "preservation", "to": "XXX/1"}), "to"),
        (json!({"type": "preservation"}), "to"),
        (
            json!({"type": "preservation", "to": "FRA/247", "admin": true}),
            "admin",
        ),
        (
            json!({"type": "preservation", "to": "FRA/247", "fields": {"to": "KEN/247"}}),
            "fields.to",
        ),
    ] {
        let (status, e) = net
            .call_as(analyst(&net), VNM, Method::POST, &path, Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {e}");
        assert_eq!(e["details"][0]["field"], field, "{body}: {e}");
    }
    assert_eq!(
        net.call_as(
            net.token(VNM),
            VNM,
            Method::POST,
            &path,
            Some(json!({"type": "preservation", "to": "FRA/247"}))
        )
        .await
        .0,
        403
    );
    let (status, made) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &path,
            Some(json!({"type": "preservation", "to": "FRA/247", "reports": [ids[1]], "fields": {"custodian_or_location": "Example Registrar SAS, Paris"}})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["status"], "draft");
    let request = made["request"].as_str().unwrap().to_owned();
    // The officer sees the draft pre-filled: codes, losses, indicators; no reporter's contact.
    let draft = net.get(VNM, &request).await;
    assert_eq!(draft["status"], "draft");
    let fields = draft.to_string();
    assert!(
        fields.contains("+84912345678") && fields.contains("domain fake-trade.fr"),
        "{fields}"
    );
    assert!(
        fields.contains("12000000 VND"),
        "the losses of both reports: {fields}"
    );
    assert!(fields.contains("Example Registrar SAS, Paris"));
    assert!(
        !fields.contains("secret-contact") && !fields.contains("Fake trading app"),
        "{fields}"
    );
    // The analyst cannot send it; the officer does, and it reaches France.
    assert_eq!(
        net.move_as(analyst(&net), VNM, &request, json!({"status": "queued"}))
            .await
            .0,
        403
    );
    let (status, moved) = net
        .move_to(VNM, &request, json!({"status": "queued"}))
        .await;
    assert_eq!(status, 201, "{moved}");
    net.wait_status(VNM, &request, "delivered").await;
    // Both reports are linked to the case.
    let (_, file) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{}", ids[1]),
            None,
        )
        .await;
    assert_eq!(file["request_id"], request.as_str());
}

async fn reports_past_the_retention_period_are_purged_unless_a_case_holds_them(
    backend: hanoinet_store::testing::Backend,
) {
    let clock = std::sync::Arc::new(hanoinet_core::ManualClock::new(
        hanoinet_core::time::truncate_to_micros(jiff::Timestamp::now()),
    ));
    let net = centre_on(backend, clock.clone()).await;
    let mut made = Vec::new();
    for n in 0..3 {
        let (status, r) = post_report(
            &net,
            json!({"category": "online_shopping_fraud", "description": "Never delivered.", "contact": "0912 000 111", "consent": true,
                   "indicators": [{"type": "url", "value": format!("https://shop{n}.example.vn/checkout")}]}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        made.push(r);
    }
    let id_of = |r: &Value| {
        let hash = r["indicators"][0]["hash"].as_str().unwrap().to_owned();
        let net = &net;
        async move {
            let (_, q) = net
                .call_as(
                    analyst(net),
                    VNM,
                    Method::GET,
                    &format!("/api/v1/reports?indicator={hash}"),
                    None,
                )
                .await;
            q["reports"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    // One is held by a case; one named an indicator an analyst confirmed.
    let held = id_of(&made[0]).await;
    let (status, _) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/reports/{held}/escalate"),
            Some(json!({"type": "spontaneous_information", "to": "KEN/247"})),
        )
        .await;
    assert_eq!(status, 201);
    let confirmed = made[1]["indicators"][0]["hash"].as_str().unwrap();
    let expires = (hanoinet_core::Clock::now(clock.as_ref())
        + jiff::SignedDuration::from_hours(24 * 1000))
    .to_string();
    let (status, _) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{confirmed}/decision"),
            Some(json!({"decision": "confirm", "tlp": "clear", "expires": expires})),
        )
        .await;
    assert_eq!(status, 200);

    // A day short of two years: nothing goes.
    clock.advance(jiff::SignedDuration::from_hours(24 * 729));
    hanoinet_node::workers::clocks::tick(&net.node(VNM).state)
        .await
        .unwrap();
    for r in &made {
        let (status, _) =
            report_status(&net, r["code"].as_str().unwrap(), r["secret"].as_str()).await;
        assert_eq!(status, 200);
    }
    // Past the retention: the two reports no case holds are gone, with their contacts; the
    // confirmed indicator stays listed, the undecided one is forgotten; the purge is logged.
    clock.advance(jiff::SignedDuration::from_hours(48));
    hanoinet_node::workers::clocks::tick(&net.node(VNM).state)
        .await
        .unwrap();
    assert_eq!(
        report_status(
            &net,
            made[0]["code"].as_str().unwrap(),
            made[0]["secret"].as_str()
        )
        .await
        .0,
        200
    );
    for r in &made[1..] {
        assert_eq!(
            report_status(&net, r["code"].as_str().unwrap(), r["secret"].as_str())
                .await
                .0,
            404
        );
    }
    assert_eq!(
        check(&net, "url", "https://shop1.example.vn/checkout")
            .await
            .1["listed"],
        true
    );
    let store = net.store(VNM);
    assert!(
        store
            .indicator(made[2]["indicators"][0]["hash"].as_str().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let entries = eventually_entries(store).await;
    let purge = entries
        .iter()
        .find(|e| e.contains("reports_purged"))
        .expect("a reports_purged entry");
    assert!(
        purge.contains(made[1]["code"].as_str().unwrap())
            && purge.contains(made[2]["code"].as_str().unwrap())
    );
    assert!(!purge.contains(made[0]["code"].as_str().unwrap()));
}

/// Posts a form as a browser without JavaScript does (same origin).
async fn form(net: &Net, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let base = public(net);
    let resp = net
        .http
        .post(format!("{base}{path}"))
        .header("origin", base.clone())
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {html}"))
        + start.len();
    let to = html[from..].find(end).unwrap() + from;
    &html[from..to]
}

async fn citizens_report_through_the_form_without_javascript(
    backend: hanoinet_store::testing::Backend,
) {
    let net = centre(backend).await;
    let base = public(&net);
    // The pages, in Vietnamese and in Arabic (right to left), with the console's headers.
    let resp = net
        .http
        .get(format!("{base}/report?lang=vi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src")
    );
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("lang=\"vi\"") && html.contains("Báo cáo lừa đảo"),
        "{html}"
    );
    assert!(
        !html.contains("<script"),
        "the form works without JavaScript"
    );
    let html = net
        .http
        .get(format!("{base}/report?lang=ar"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("dir=\"rtl\"") && html.contains("الإبلاغ عن احتيال"));
    // A form from another site is refused.
    let resp = net
        .http
        .post(format!("{base}/report"))
        .header("origin", "https://evil.example")
        .form(&[("category", "other")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Faults come back on the form, with what was typed kept.
    let (status, html) = form(
        &net,
        "/report",
        &[
            ("lang", "en"),
            ("category", "scam_call"),
            ("description", "He said he was my bank."),
            ("loss_amount", "12.5"),
            ("loss_currency", "VND"),
            ("ind_type_0", "phone"),
            ("ind_value_0", "0912 345 678"),
            ("ind_type_1", "phone"),
            ("ind_value_1", "not a phone"),
            ("contact", "me@example.com"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("He said he was my bank.") && html.contains("not a phone"),
        "kept: {html}"
    );
    assert!(
        html.contains("Numbers, links and accounts the scammer used 2"),
        "the second row is named: {html}"
    );
    assert!(
        html.contains("Money lost") && html.contains("consent"),
        "{html}"
    );
    // Each fault in the citizen's words (the phone row's, the amount's, the consent's), never
    // the API's English sentence.
    for words in [
        "This is not a phone number we can read",
        "Write the amount with digits only",
        "Tick the box to let us keep your contact",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("is kept only with the reporter"), "{html}");
    let (status, html) = form(
        &net,
        "/report",
        &[
            ("lang", "vi"),
            ("category", "scam_sms"),
            ("occurred_at", "2099-01-01"),
            ("loss_amount", "100"),
            ("loss_currency", "XYZ"),
            ("ind_type_0", "iban"),
            ("ind_value_0", "GB82 WEST 1234 5698 7654 33"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    for words in [
        "Ngày phải trong khoảng từ năm 1990 đến hôm nay.",
        "Hãy ghi mã tiền tệ gồm ba chữ cái",
        "Số IBAN này không hợp lệ",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    assert!(!html.contains("ISO 4217"), "{html}");

    // A good one: the code and secret shown once; the status page (a POST, never a URL) follows it.
    let (status, html) = form(
        &net,
        "/report",
        &[
            ("lang", "en"),
            ("category", "scam_call"),
            ("description", "He said he was my bank."),
            ("loss_amount", "1500000"),
            ("loss_currency", "vnd"),
            ("payment_method", "bank_transfer"),
            ("ind_type_0", "phone"),
            ("ind_value_0", "0912 345 678"),
            ("ind_type_2", "bank_account"),
            ("ind_value_2", "0071 0001 23456"),
            ("ind_extra_2", "VCB"),
            ("contact", "me@example.com"),
            ("consent", "yes"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{html}");
    let code = between(&html, "id=\"report-code\">", "<").to_owned();
    let secret = between(&html, "id=\"report-secret\">", "<").to_owned();
    assert!(
        html.contains("+84912345678") && html.contains("VN:VCB:0071000123456"),
        "{html}"
    );
    let (status, html) = form(
        &net,
        "/status",
        &[
            ("lang", "fr"),
            ("code", &code.to_lowercase()),
            ("secret", &secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        between(&html, "id=\"report-status\">", "<").contains("reçu"),
        "{html}"
    );
    let (status, _) = form(&net, "/status", &[("code", &code), ("secret", "WRONG")]).await;
    assert_eq!(status, 404);
    // The same report over the API: the form posts the same report.
    let (_, r) = report_status(&net, &code, Some(&secret)).await;
    assert_eq!(r["status"], "received");

    // The check page, without JavaScript.
    let html = net
        .http
        .get(format!(
            "{base}/check?lang=en&type=phone&value=%2B84%20912%20345%20678"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Not on the list") && html.contains("+84912345678"),
        "{html}"
    );
    let hash = "d07be91eb53b4f981be2b12739d551dd8a98148635c05a30e48e625f545e9d31";
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    let (status, _) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{hash}/decision"),
            Some(json!({"decision": "confirm", "tlp": "clear", "expires": expires})),
        )
        .await;
    assert_eq!(status, 200);
    let html = net
        .http
        .get(format!("{base}/check?lang=en&type=phone&value=0912345678"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Confirmed scam"), "{html}");
    let resp = net
        .http
        .get(format!("{base}/check?type=phone&value=hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
}

async fn warnings_feeds_and_statistics_carry_no_personal_data(
    backend: hanoinet_store::testing::Backend,
) {
    let net = centre(backend).await;
    for (category, amount, currency, phone) in [
        ("scam_call", "1500000", "VND", "0912345678"),
        ("scam_call", "500000", "VND", "0912345678"),
        ("online_shopping_fraud", "20.50", "USD", "0987654321"),
    ] {
        let (status, r) = post_report(
            &net,
            json!({"category": category, "description": "private words of the reporter", "contact": "reporter@example.com", "consent": true,
                   "loss": {"amount": amount, "currency": currency}, "indicators": [{"type": "phone", "value": phone}]}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
    }
    let (status, _) = post_report(&net, json!({"category": "child_sexual_abuse_material", "description": "a link", "loss": {"amount": 1, "currency": "USD"}, "indicators": [{"type": "url", "value": "http://abuse.example/x"}]})).await;
    assert_eq!(status, 201);
    // Statistics: officers and analysts, not auditors; counts, losses, types; CSV too.
    assert_eq!(
        net.call_as(
            &net.file.nodes[VNM].auditor_token,
            VNM,
            Method::GET,
            "/api/v1/statistics",
            None
        )
        .await
        .0,
        403
    );
    let (status, stats) = net
        .call_as(
            net.token(VNM),
            VNM,
            Method::GET,
            "/api/v1/statistics?weeks=4",
            None,
        )
        .await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["reports"], 4);
    let week: i64 = stats["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["category"] == "scam_call")
        .map(|w| w["reports"].as_i64().unwrap())
        .sum();
    assert_eq!(week, 2);
    assert!(
        stats["weeks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["category"] == "child_sexual_abuse_material"),
        "counted: {stats}"
    );
    // The restricted report's loss is not in the losses; the others are.
    assert_eq!(
        stats["losses"],
        json!([{"currency": "USD", "amount": "20.50", "reports": 1}, {"currency": "VND", "amount": "2000000", "reports": 2}])
    );
    assert_eq!(
        stats["indicator_types"],
        json!([{"type": "phone", "indicators": 2}])
    );
    let text = stats.to_string();
    assert!(
        !text.contains("+84912345678")
            && !text.contains("reporter@")
            && !text.contains("private words")
            && !text.contains("abuse.example")
    );
    let resp = net
        .http
        .get(format!("{}/api/v1/statistics?format=csv", net.url(VNM)))
        .bearer_auth(analyst(&net))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    assert!(
        csv.starts_with("table,week,category,currency,type,count,amount\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",scam_call,,,2,\r\n") && csv.contains("losses,,,VND,,2,2000000\r\n"),
        "{csv}"
    );
    assert_eq!(
        net.call_as(
            net.token(VNM),
            VNM,
            Method::GET,
            "/api/v1/statistics?weeks=0",
            None
        )
        .await
        .0,
        422
    );

    // A warning, written by an analyst (not an officer), escaped wherever it appears.
    let warning = json!({"title": "Calls <from> \"police\" & banks", "body": "Hang up and call your bank.", "category": "scam_call", "language": "en"});
    assert_eq!(
        net.call_as(
            net.token(VNM),
            VNM,
            Method::POST,
            "/api/v1/warnings",
            Some(warning.clone())
        )
        .await
        .0,
        403
    );
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::POST,
            "/api/v1/warnings",
            Some(json!({"title": "", "body": "x"}))
        )
        .await
        .0,
        422
    );
    let (status, w) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::POST,
            "/api/v1/warnings",
            Some(warning),
        )
        .await;
    assert_eq!(status, 201, "{w}");
    let hash = "d07be91eb53b4f981be2b12739d551dd8a98148635c05a30e48e625f545e9d31";
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    assert_eq!(
        net.call_as(
            analyst(&net),
            VNM,
            Method::POST,
            &format!("/api/v1/indicators/{hash}/decision"),
            Some(json!({"decision": "confirm", "tlp": "clear", "expires": expires}))
        )
        .await
        .0,
        200
    );
    let base = public(&net);
    let get = |path: &str| {
        let url = format!("{base}{path}");
        let http = net.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (r.status().as_u16(), ct, r.text().await.unwrap())
        }
    };
    let (status, _, html) = get("/warnings?lang=en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Calls &#60;from&#62; &#34;police&#34; &#38; banks")
            && html.contains("+84912345678"),
        "{html}"
    );
    assert!(
        !html.contains("+84987654321"),
        "an undecided number is not published"
    );
    let (status, ct, atom) = get("/feed.atom").await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "application/atom+xml; charset=utf-8")
    );
    assert!(
        atom.starts_with("<?xml") && atom.matches("<entry>").count() == 2,
        "{atom}"
    );
    assert!(
        atom.contains("Calls &#60;from&#62; &#34;police&#34; &#38; banks")
            && atom.contains("urn:hanoinet:indicator:"),
        "{atom}"
    );
    let (status, ct, feed) = get("/feed.json").await;
    assert_eq!(
        (status, ct.as_str()),
        (200, "application/feed+json; charset=utf-8")
    );
    let feed: Value = serde_json::from_str(&feed).unwrap();
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["items"].as_array().unwrap().len(), 2);
    let (status, ct, svg) = get("/trends.svg").await;
    assert_eq!((status, ct.as_str()), (200, "image/svg+xml; charset=utf-8"));
    assert!(svg.contains("<svg"), "{svg}");
    // This week's bar, stacked by category, with its legend.
    for part in [
        "A scam phone call: 2</title>",
        "Online shopping: paid, nothing came: 1</title>",
        "Child sexual abuse material: 1</title>",
    ] {
        assert!(svg.contains(part), "{part} in {svg}");
    }
    assert_eq!(
        svg.matches("<rect x=\"44\"").count(),
        3,
        "three categories in the legend: {svg}"
    );
    for text in [&html, &atom, &svg, &feed.to_string()] {
        assert!(
            !text.contains("reporter@")
                && !text.contains("private words")
                && !text.contains("abuse.example")
        );
    }
}

/// A JPEG whose file carries what a phone puts in one: an EXIF segment (here with a position
/// written in clear), a comment, and data after the end of the image.
fn jpeg_with_metadata() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
    });
    let mut plain = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .unwrap();
    let plain = plain.into_inner();
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPS 21.0285N 105.8542E SECRET-PLACE");
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    let comment = b"SECRET-COMMENT camera owner";
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&plain[2..]);
    out.extend_from_slice(b"PK\x03\x04SECRET-TRAILER");
    out
}

async fn screenshots_are_kept_without_their_metadata(backend: hanoinet_store::testing::Backend) {
    let net = centre(backend).await;
    let (_, r) = post_report(&net, json!({"category": "phishing_site", "description": "The fake page.", "indicators": [{"type": "url", "value": "https://fake-bank.example/login"}]})).await;
    let (code, secret) = (
        r["code"].as_str().unwrap().to_owned(),
        r["secret"].as_str().unwrap().to_owned(),
    );
    let url = format!("{}/public/v1/reports/{code}/screenshots", public(&net));
    let send = |body: Vec<u8>, kind: &'static str, secret: Option<String>| {
        let mut req = net
            .http
            .post(url.clone())
            .header("content-type", kind)
            .body(body);
        if let Some(s) = secret {
            req = req.header("x-report-secret", s);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let photo = jpeg_with_metadata();
    assert!(String::from_utf8_lossy(&photo).contains("SECRET-PLACE"));
    // Refusals: no secret, a wrong one, not an image, a type that is not PNG or JPEG, too large.
    assert_eq!(send(photo.clone(), "image/jpeg", None).await.0, 401);
    assert_eq!(
        send(photo.clone(), "image/jpeg", Some("WRONG".into()))
            .await
            .0,
        404
    );
    assert_eq!(
        send(b"hello".to_vec(), "text/plain", Some(secret.clone()))
            .await
            .0,
        415
    );
    let (status, e) = send(
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
        "image/png",
        Some(secret.clone()),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    let (status, e) = send(
        b"\x89PNG\r\n\x1a\nnot really".to_vec(),
        "image/png",
        Some(secret.clone()),
    )
    .await;
    assert_eq!(status, 422, "a truncated image: {e}");
    assert_eq!(
        send(
            vec![0xFF; 5 * 1024 * 1024 + 1],
            "image/jpeg",
            Some(secret.clone())
        )
        .await
        .0,
        413
    );
    // Kept without EXIF, comment or trailer, still the picture.
    let (status, kept) = send(photo.clone(), "image/jpeg", Some(secret.clone())).await;
    assert_eq!(status, 201, "{kept}");
    assert_eq!(kept["content_type"], "image/jpeg");
    let (_, q) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    let id = q["reports"][0]["id"].as_str().unwrap().to_owned();
    let (_, file) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            None,
        )
        .await;
    assert_eq!(file["screenshots"][0]["id"], kept["id"]);
    let bytes = net
        .http
        .get(format!(
            "{}/api/v1/reports/{id}/screenshots/{}",
            net.url(VNM),
            kept["id"].as_str().unwrap()
        ))
        .bearer_auth(analyst(&net))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("SECRET") && !text.contains("Exif"),
        "metadata left in the file"
    );
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
        kept["sha256"].as_str().unwrap()
    );
    // At most five.
    for _ in 0..4 {
        assert_eq!(
            send(photo.clone(), "image/jpeg", Some(secret.clone()))
                .await
                .0,
            201
        );
    }
    assert_eq!(
        send(photo.clone(), "image/jpeg", Some(secret.clone()))
            .await
            .0,
        409
    );
    // Never on a report of child sexual abuse material.
    let (_, c) = post_report(&net, json!({"category": "child_sexual_abuse_material", "description": "a link", "indicators": [{"type": "url", "value": "http://abuse.example/y"}]})).await;
    let url = format!(
        "{}/public/v1/reports/{}/screenshots",
        public(&net),
        c["code"].as_str().unwrap()
    );
    let resp = net
        .http
        .post(url)
        .header("content-type", "image/jpeg")
        .header("x-report-secret", c["secret"].as_str().unwrap())
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
}

/// A multipart form as a browser posts it: text fields, then `screenshot` files.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----hanoinet-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, kind, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"screenshot\"; filename=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(net: &Net, kind: String, body: Vec<u8>) -> (u16, String) {
    let base = public(net);
    let resp = net
        .http
        .post(format!("{base}/report"))
        .header("origin", base.clone())
        .header("content-type", kind)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

async fn the_form_takes_screenshots_but_never_for_the_restricted_category(
    backend: hanoinet_store::testing::Backend,
) {
    let net = centre(backend).await;
    let photo = jpeg_with_metadata();
    let png = {
        let img = image::RgbImage::from_fn(20, 10, |x, _| image::Rgb([x as u8 * 10, 0, 0]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let fields = [
        ("lang", "en"),
        ("category", "phishing_site"),
        ("description", "A fake bank page asked for my card."),
        ("ind_type_0", "url"),
        ("ind_value_0", "https://fake-bank.example/login"),
    ];
    // A file that is not an image is named (the second), and nothing is kept.
    let (kind, body) = multipart(
        &fields,
        &[
            ("page.jpg", "image/jpeg", &photo),
            ("notes.txt", "text/plain", b"not an image"),
        ],
    );
    let (status, html) = post_multipart(&net, kind, body).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("Screenshots (optional) 2: This is not a PNG or JPEG image"),
        "{html}"
    );
    assert!(
        html.contains("A fake bank page asked for my card."),
        "kept: {html}"
    );
    let (_, q) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    assert_eq!(q["reports"], json!([]), "nothing kept");
    // A file too large is named too, and six files are one too many.
    let big = vec![0xFFu8; 5 * 1024 * 1024 + 1];
    let (kind, body) = multipart(&fields, &[("big.jpg", "image/jpeg", &big)]);
    let (status, html) = post_multipart(&net, kind, body).await;
    assert_eq!(status, 422);
    assert!(html.contains("larger than 5 MB"), "{html}");
    let six: Vec<(&str, &str, &[u8])> = (0..6).map(|_| ("s.png", "image/png", &png[..])).collect();
    let (kind, body) = multipart(&fields, &six);
    let (status, html) = post_multipart(&net, kind, body).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Screenshots (optional) 6: At most 5"),
        "{html}"
    );

    // Two good ones (and an empty file input): kept, without their metadata.
    let (kind, body) = multipart(
        &fields,
        &[
            ("page.jpg", "image/jpeg", &photo),
            ("", "application/octet-stream", b""),
            ("chat.png", "image/png", &png),
        ],
    );
    let (status, html) = post_multipart(&net, kind, body).await;
    assert_eq!(status, 201, "{html}");
    assert!(
        html.contains("id=\"screenshots-kept\"") && html.contains(": 2"),
        "{html}"
    );
    let (_, q) = net
        .call_as(analyst(&net), VNM, Method::GET, "/api/v1/reports", None)
        .await;
    let id = q["reports"][0]["id"].as_str().unwrap().to_owned();
    let (_, file) = net
        .call_as(
            analyst(&net),
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            None,
        )
        .await;
    let shots = file["screenshots"].as_array().unwrap();
    assert_eq!(shots.len(), 2, "{file}");
    let bytes = net
        .http
        .get(format!(
            "{}/api/v1/reports/{id}/screenshots/{}",
            net.url(VNM),
            shots[0]["id"].as_str().unwrap()
        ))
        .bearer_auth(analyst(&net))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        bytes.starts_with(&[0xFF, 0xD8]) && !text.contains("SECRET"),
        "metadata stripped"
    );

    // The restricted category: the report is taken, its files are not, and the citizen is told.
    let (kind, body) = multipart(
        &[
            ("lang", "en"),
            ("category", "child_sexual_abuse_material"),
            ("ind_type_0", "url"),
            ("ind_value_0", "http://abuse.example/album"),
        ],
        &[("x.jpg", "image/jpeg", &photo)],
    );
    let (status, html) = post_multipart(&net, kind, body).await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("id=\"files-dropped\""), "{html}");
    assert!(!html.contains("screenshots-kept"));
    let (_, q) = net
        .call_as(
            &net.file.nodes[VNM].csam_analyst_token,
            VNM,
            Method::GET,
            "/api/v1/reports?queue=restricted",
            None,
        )
        .await;
    let rid = q["reports"][0]["id"].as_str().unwrap().to_owned();
    let (_, restricted) = net
        .call_as(
            &net.file.nodes[VNM].csam_analyst_token,
            VNM,
            Method::GET,
            &format!("/api/v1/reports/{rid}"),
            None,
        )
        .await;
    assert_eq!(restricted["screenshots"], json!([]), "{restricted}");
    // A body past the limit, or not a form at all, is refused without a page.
    let (status, _) = post_multipart(
        &net,
        "multipart/form-data; boundary=x".into(),
        b"garbage".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
}
