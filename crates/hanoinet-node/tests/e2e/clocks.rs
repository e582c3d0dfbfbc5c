//! The Convention's clocks on a shared manual clock: acknowledgement deadlines escalated to a
//! real local webhook receiver and a real local SMTP receiver (with a retry), preservation
//! reminders, and a preservation that stays in force while the Art. 44 request that follows it
//! is undecided, then expires on both nodes.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use hanoinet_core::catalogue::examples::example;
use hanoinet_core::request::RequestType;
use hanoinet_core::{Clock, ManualClock};
use hanoinet_node::provision::dir;
use hanoinet_node::workers::{clocks, notify};

use crate::harness::*;

both_backends!(
    missed_acknowledgements_are_escalated,
    preservation_clock_with_a_follow_up_request,
    preservations_are_extended_on_request
);

/// A webhook receiver that answers 503 to its first call, then 200; keeps every body.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0u32));
    let (g, c) = (got.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let (g, c) = (g.clone(), c.clone());
            async move {
                let n = {
                    let mut c = c.lock().unwrap();
                    *c += 1;
                    *c
                };
                if n == 1 {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                g.lock().unwrap().push(v);
                axum::http::StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

/// A minimal SMTP receiver (RFC 5321 happy path): keeps every message's DATA.
async fn smtp_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = l.accept().await.unwrap();
            let g = g.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            line.clear();
                            r.read_line(&mut line).await.unwrap();
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        g.lock().unwrap().push(data);
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else if cmd.starts_with("EHLO") {
                        w.write_all(b"250-test\r\n250 SIZE 1000000\r\n")
                            .await
                            .unwrap();
                    } else {
                        w.write_all(b"250 ok\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (addr, got)
}

fn set_escalation(n: &hanoinet_node::provision::network::NetworkNode, webhook: &str, smtp: &str) {
    let path = n.dir.join(dir::CONFIG_FILE);
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg["escalation"] = json!({
        "webhooks": [webhook],
        "smtp": {"server": smtp, "from": "hanoinet@fra.example", "to": ["duty@fra.example"]}
    });
    std::fs::write(&path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(hanoinet_core::time::truncate_to_micros(
        Timestamp::now(),
    )))
}

async fn alerts(net: &Net, i: usize) -> Vec<Value> {
    net.audit(i, "/api/v1/alerts").await.1["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn missed_acknowledgements_are_escalated(backend: hanoinet_store::testing::Backend) {
    let (hook, hooked) = webhook_receiver().await;
    let (smtp, mailed) = smtp_receiver().await;
    let clock = manual_clock();
    let net = Net::start_with(backend, &IDS, clock.clone(), |n| {
        if n.id.as_str() == "FRA/247" {
            set_escalation(n, &hook, &smtp);
        }
    })
    .await;
    let fra = net.node(FRA).state.clone();

    let emergency = example(RequestType::EmergencyDisclosure, "FRA/247", "");
    let (s, v) = net.create(VNM, emergency).await;
    assert_eq!(s, 201, "{v}");
    let urgent_id = v["id"].as_str().unwrap().to_owned();
    let normal_id = net.send(VNM, FRA).await;
    let got = net.wait_status(FRA, &urgent_id, "delivered").await;
    net.wait_status(FRA, &normal_id, "delivered").await;
    // The deadline: 15 minutes for an emergency, 1 hour otherwise (default policy).
    let due = |v: &Value| {
        v["ack_due_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap()
    };
    let received = got["history"][1]["at"]
        .as_str()
        .unwrap()
        .parse::<Timestamp>()
        .unwrap();
    assert_eq!(
        due(&got).duration_since(received),
        SignedDuration::from_mins(15)
    );
    let normal = net.get(FRA, &normal_id).await;
    assert!(due(&normal).duration_since(received) >= SignedDuration::from_mins(59));

    // 14 minutes: nothing yet.
    clock.advance(SignedDuration::from_mins(14));
    clocks::tick(&fra).await.unwrap();
    assert!(
        alerts(&net, FRA)
            .await
            .iter()
            .all(|a| a["kind"] != "ack_deadline_missed")
    );

    // 16 minutes: the emergency is escalated, once; the normal request is not.
    clock.advance(SignedDuration::from_mins(2));
    clocks::tick(&fra).await.unwrap();
    clocks::tick(&fra).await.unwrap();
    let missed: Vec<Value> = alerts(&net, FRA)
        .await
        .into_iter()
        .filter(|a| a["kind"] == "ack_deadline_missed")
        .collect();
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["evidence"]["request_id"], urgent_id.as_str());
    assert_eq!(missed[0]["evidence"]["urgency"], "emergency");
    assert!(net.get(FRA, &urgent_id).await["escalated_at"].is_string());

    // Notified (by the notifier's own loop, or this flush): the SMTP receiver gets it; the
    // webhook answers 503 first and gets it on a retry, once the clock has moved on.
    let secs = std::time::Duration::from_secs(10);
    notify::flush(&fra).await;
    assert!(eventually(secs, || async { mailed.lock().unwrap().len() == 1 }).await);
    let mail = mailed.lock().unwrap()[0].clone();
    assert!(
        mail.contains("ack_deadline_missed") && mail.contains(&urgent_id),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: FRA/247: emergency emergency_disclosure request"),
        "{mail}"
    );
    assert!(
        eventually(secs, || async {
            net.store(FRA).notification_counts().await.unwrap() == (1, 1)
        })
        .await,
        "the webhook's first answer was 503: one notification waits for its retry"
    );
    assert!(hooked.lock().unwrap().is_empty());
    clock.advance(SignedDuration::from_secs(5));
    notify::flush(&fra).await;
    assert!(eventually(secs, || async { hooked.lock().unwrap().len() == 1 }).await);
    let hooks = hooked.lock().unwrap().clone();
    assert_eq!(hooks[0]["event"], "ack_deadline_missed");
    assert_eq!(hooks[0]["request_id"], urgent_id.as_str());
    assert_eq!(net.store(FRA).notification_counts().await.unwrap(), (0, 2));
    // No case content in a notification.
    assert!(!mail.contains("Location data of the account"));

    // Acknowledged in time, a request is never escalated.
    let (s, _) = net
        .move_to(FRA, &normal_id, json!({"status": "acknowledged"}))
        .await;
    assert_eq!(s, 201);
    clock.advance(SignedDuration::from_hours(2));
    clocks::tick(&fra).await.unwrap();
    let missed = alerts(&net, FRA)
        .await
        .into_iter()
        .filter(|a| a["kind"] == "ack_deadline_missed")
        .count();
    assert_eq!(missed, 1);
    // The requesting node raised nothing.
    assert!(
        alerts(&net, VNM)
            .await
            .iter()
            .all(|a| a["kind"] != "ack_deadline_missed")
    );
}

async fn preservation_clock_with_a_follow_up_request(backend: hanoinet_store::testing::Backend) {
    let clock = manual_clock();
    let net = Net::start_with(backend, &IDS, clock.clone(), |_| {}).await;
    let (vnm, fra) = (net.node(VNM).state.clone(), net.node(FRA).state.clone());
    let id = net.send(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    let (s, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    assert_eq!(s, 201, "{v}");
    let until: Timestamp = v["preserved_until"].as_str().unwrap().parse().unwrap();
    net.wait_status(VNM, &id, "accepted").await;
    let start = clock.now();
    assert!(until.duration_since(start) >= SignedDuration::from_hours(24 * 60));
    // The data are secured: "executed" does not end the preservation early (Art. 42).
    let (s, v) = net.move_to(FRA, &id, json!({"status": "executed"})).await;
    assert_eq!(s, 201, "{v}");
    net.wait_status(VNM, &id, "executed").await;

    let reminders = |alerts: Vec<Value>| -> Vec<i64> {
        let mut d: Vec<i64> = alerts
            .iter()
            .filter(|a| a["kind"] == "preservation_expiring")
            .map(|a| a["evidence"]["days_before"].as_i64().unwrap())
            .collect();
        d.sort();
        d
    };
    // 15 days before the end: no reminder; 14 days before: one, on both sides.
    clock.set(until - SignedDuration::from_hours(24 * 15));
    clocks::tick(&vnm).await.unwrap();
    clocks::tick(&fra).await.unwrap();
    assert!(reminders(alerts(&net, VNM).await).is_empty());
    clock.set(until - SignedDuration::from_hours(24 * 14));
    clocks::tick(&vnm).await.unwrap();
    clocks::tick(&fra).await.unwrap();
    clocks::tick(&fra).await.unwrap();
    assert_eq!(reminders(alerts(&net, VNM).await), [14]);
    assert_eq!(reminders(alerts(&net, FRA).await), [14]);

    // The follow-up request for the data (here a general MLA request) is sent: the preservation
    // stays in force until it is decided.
    let mut mla = example(RequestType::Mla, "FRA/247", &id);
    mla["follows_request"] = json!(id);
    let (s, v) = net.create(VNM, mla).await;
    assert_eq!(s, 201, "{v}");
    let follow = v["id"].as_str().unwrap().to_owned();
    net.wait_status(FRA, &follow, "delivered").await;
    clock.set(until + SignedDuration::from_hours(24 * 10));
    clocks::tick(&fra).await.unwrap();
    assert_eq!(
        net.get(FRA, &id).await["status"],
        "executed",
        "kept while the follow-up is undecided"
    );
    assert_eq!(
        net.get(FRA, &id).await["preserved_while_pending"],
        json!([follow])
    );

    // Decided: the period (long over) ends, and both nodes record the expiry.
    net.move_to(FRA, &follow, json!({"status": "acknowledged"}))
        .await;
    let (s, v) = net
        .respond(FRA, &follow, json!({"decision": "accept"}))
        .await;
    assert_eq!(s, 201, "{v}");
    clocks::tick(&fra).await.unwrap();
    let got = net.wait_status(VNM, &id, "expired").await;
    let fra_view = net.wait_status(FRA, &id, "expired").await;
    assert_eq!(got["history"], fra_view["history"]);
    assert_eq!(
        got["history"].as_array().unwrap().last().unwrap()["by"],
        "system"
    );
}

async fn preservations_are_extended_on_request(backend: hanoinet_store::testing::Backend) {
    let net = Net::start(backend).await;
    let id = net.send(VNM, FRA).await;
    let path = format!("/api/v1/requests/{id}/extension");
    // Not before it is accepted.
    let (s, v) = net
        .call(VNM, reqwest::Method::POST, &path, Some(json!({"days": 30})))
        .await;
    assert_eq!(s, 409, "{v}");
    net.wait_status(FRA, &id, "delivered").await;
    let (_, v) = net.respond(FRA, &id, json!({"decision": "accept"})).await;
    let until: Timestamp = v["preserved_until"].as_str().unwrap().parse().unwrap();
    net.wait_status(VNM, &id, "accepted").await;
    let (s, v) = net
        .call(VNM, reqwest::Method::POST, &path, Some(json!({"days": 0})))
        .await;
    assert_eq!(
        (s, v["details"][0]["field"].as_str()),
        (422, Some("days")),
        "{v}"
    );
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &path,
            Some(json!({"days": 30, "note": "The MLA request is being translated"})),
        )
        .await;
    assert_eq!(
        (s, v["kind"].as_str()),
        (202, Some("extension_request")),
        "{v}"
    );
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(FRA, &id).await["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["kind"] == "extension_request" && m["body"]["days"] == 30)
        })
        .await
    );
    let (s, v) = net
        .call(FRA, reqwest::Method::POST, &path, Some(json!({"days": 30})))
        .await;
    assert_eq!(s, 201, "{v}");
    let extended: Timestamp = v["preserved_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        extended.duration_since(until),
        SignedDuration::from_hours(24 * 30)
    );
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            net.get(VNM, &id).await["preserved_until"] == v["preserved_until"]
        })
        .await,
        "the requesting node holds the new end"
    );
}
