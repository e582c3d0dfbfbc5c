//! The store's contract, on SQLite and on PostgreSQL: atomic creation, leased claims, idempotent
//! delivery records, exactly-once receipt of envelopes, decisions that happen once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::{SignedDuration, Timestamp};

use hanoinet_core::access::Role;
use hanoinet_core::request::{Direction, RequestFacts, RequestType, Status, Urgency};
use hanoinet_core::{EnvelopeId, NodeId, RequestId};
use hanoinet_store::testing::{BACKENDS, Backend, TestDb};
use hanoinet_store::{
    Delivery, DeliveryEffect, InboundEffect, ListOrder, Message, NewInbox, NewOutbox, NewOutgoing,
    NewRequest, Received, StatusEvent, Store, Transition, Transitioned, User,
};

async fn store(backend: Backend) -> (Store, TestDb) {
    let db = TestDb::new(backend, None).await.expect("test database");
    let store = Store::connect(&db.url).await.unwrap();
    (store, db)
}

fn node(s: &str) -> NodeId {
    s.parse().unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn facts(time_limit: Option<&str>) -> RequestFacts {
    RequestFacts {
        offence_category: "ict_theft_or_fraud".into(),
        legal_basis: "convention".into(),
        urgency: Urgency::Normal,
        language: "en".into(),
        time_limit: time_limit.map(|d| d.parse().unwrap()),
        follows_request: None,
        requested_period_days: None,
    }
}

fn outgoing(now: Timestamp) -> (NewRequest, NewOutbox) {
    let id = RequestId::new_v7();
    let env = EnvelopeId::new_v7();
    let req = NewRequest {
        id,
        direction: Direction::Outgoing,
        request_type: RequestType::Preservation,
        from: node("VNM/247"),
        to: node("FRA/247"),
        fields: r#"{"offence":"fraud"}"#.into(),
        envelope_id: env,
        created_by: Some("officer".into()),
        created_at: now,
        facts: facts(None),
        warnings: serde_json::json!([]),
        history: vec![StatusEvent::new(Status::Queued, now)],
        ack_due_at: None,
    };
    let out = NewOutbox {
        envelope_id: env,
        peer: node("FRA/247"),
        kind: "preservation_request".into(),
        request_id: id,
        envelope: "{}".into(),
        created_at: now,
        chunk: None,
    };
    (req, out)
}

/// One test per scenario and backend, so that the first failure hides nothing.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Postgres).await
            })*
        }
    };
}

contract!(
    users,
    bulk_gives_way_and_uploads_compare_and_set,
    ledger_tree,
    outbox_lifecycle,
    time_limits_sort,
    receiving_is_exactly_once,
    transitions,
    clocks_and_notifications,
    migrations_are_idempotent,
    lookup_versions_follow_commits,
);

/// Every backend the tests and benchmarks offer opens, migrates and says which it is.
#[tokio::test]
async fn every_listed_backend_opens() {
    for b in BACKENDS {
        let (s, _db) = store(b).await;
        let expected = match b {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(s.backend(), expected);
    }
}

async fn users(backend: Backend) {
    let (s, _db) = store(backend).await;
    let u = User {
        id: "u1".into(),
        name: "lan".into(),
        role: Role::Officer,
    };
    assert!(
        s.add_user(
            &u,
            &[1; 32],
            Timestamp::now(),
            None,
            &[b"user_created".to_vec()]
        )
        .await
        .unwrap()
    );
    assert!(
        !s.add_user(
            &u,
            &[2; 32],
            Timestamp::now(),
            None,
            &[b"user_created".to_vec()]
        )
        .await
        .unwrap(),
        "names are unique"
    );
    assert_eq!(
        s.user_by_token_hash(&[1; 32])
            .await
            .unwrap()
            .map(|a| a.user),
        Some(u)
    );
    assert_eq!(s.user_by_token_hash(&[2; 32]).await.unwrap(), None);
    // The entry commits with the event, and only then.
    assert_eq!(s.ledger_queued().await.unwrap(), 1);

    // A new token replaces the old one; disabling is recorded and final.
    let later = Timestamp::now();
    let rotated = s
        .rotate_token("lan", &[3; 32], Some(later), |_| b"token_rotated".to_vec())
        .await
        .unwrap();
    assert_eq!(rotated.map(|u| u.id), Some("u1".to_owned()));
    assert_eq!(s.user_by_token_hash(&[1; 32]).await.unwrap(), None);
    let account = s.user_by_token_hash(&[3; 32]).await.unwrap().unwrap();
    assert_eq!(
        account.token_expires_at.map(|t| t.as_microsecond()),
        Some(later.as_microsecond())
    );
    s.touch_user("u1", later).await.unwrap();
    assert!(
        s.disable_user("lan", later, |_| b"user_disabled".to_vec())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.disable_user("lan", later, |_| b"x".to_vec())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.rotate_token("lan", &[4; 32], None, |_| b"x".to_vec())
            .await
            .unwrap()
            .is_none()
    );
    let listed = s.list_users().await.unwrap();
    assert!(listed[0].disabled_at.is_some() && listed[0].last_used_at.is_some());
    assert_eq!(s.ledger_queued().await.unwrap(), 3);
}

async fn outbox_lifecycle(backend: Backend) {
    let (s, _db) = store(backend).await;
    let now = t("2026-11-22T08:00:00Z");
    let (req, out) = outgoing(now);
    s.create_outgoing(&[NewOutgoing {
        idempotency: None,
        request: req.clone(),
        outbox: Some(out.clone()),
        ledger: b"request_created".to_vec(),
    }])
    .await
    .unwrap();
    let rec = s.get_request(req.id).await.unwrap().unwrap();
    assert_eq!(rec.status, Status::Queued);
    assert_eq!(rec.history.len(), 1);

    // A claim leases the row: a second claim before the lease ends gets nothing.
    let lease = now.checked_add(SignedDuration::from_secs(30)).unwrap();
    let claimed = s.claim_outbox(now, lease, 10, 10, "test").await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].envelope_id, out.envelope_id);
    assert!(
        s.claim_outbox(now, lease, 10, 10, "test")
            .await
            .unwrap()
            .is_empty()
    );
    // After the lease, it is claimable again (the claimer crashed).
    let later = lease.checked_add(SignedDuration::from_secs(1)).unwrap();
    assert_eq!(
        s.claim_outbox(later, later, 10, 10, "test")
            .await
            .unwrap()
            .len(),
        1
    );

    // A failed attempt reschedules with a count and an error.
    let retry = later.checked_add(SignedDuration::from_secs(5)).unwrap();
    s.reschedule(out.envelope_id, retry, "connection refused")
        .await
        .unwrap();
    assert!(
        s.claim_outbox(later, later, 10, 10, "test")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.next_outbox_due().await.unwrap(), Some(retry));
    let again = s.claim_outbox(retry, retry, 10, 10, "test").await.unwrap();
    assert_eq!(again[0].attempts, 1);

    // Recording the receipt twice changes nothing the second time.
    for _ in 0..2 {
        s.record_deliveries(
            &[Delivery {
                envelope_id: out.envelope_id,
                delivered_at: retry,
                receipt: r#"{"r":1}"#.into(),
                ledger: b"delivered".to_vec(),
                effect: DeliveryEffect::RequestDelivered,
                keep: None,
            }],
            retry,
        )
        .await
        .unwrap();
    }
    let rec = s.get_request(req.id).await.unwrap().unwrap();
    assert_eq!(rec.status, Status::Delivered);
    assert_eq!(
        rec.history.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Status::Queued, Status::Delivered]
    );
    assert_eq!(rec.receipt, Some(serde_json::json!({"r": 1})));
    assert_eq!(s.outbox_counts().await.unwrap(), (0, 1));
    assert_eq!(
        s.ledger_queued().await.unwrap(),
        2,
        "created, then delivered once"
    );
    assert_eq!(s.next_outbox_due().await.unwrap(), None);
    assert_eq!(
        s.list_requests(Some(Direction::Outgoing), ListOrder::Newest, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.list_requests(Some(Direction::Incoming), ListOrder::Newest, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Requests sort on their requested time limit (Art. 40), earliest first, those without last.
async fn time_limits_sort(backend: Backend) {
    let (s, _db) = store(backend).await;
    let now = t("2026-11-22T10:00:00Z");
    let mut items = Vec::new();
    for (i, limit) in [
        Some("2026-12-24"),
        None,
        Some("2026-12-01"),
        Some("2027-01-15"),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut req, outbox) = outgoing(now + SignedDuration::from_secs(i as i64));
        req.facts = facts(limit);
        items.push(NewOutgoing {
            idempotency: None,
            request: req,
            outbox: Some(outbox),
            ledger: b"entry".to_vec(),
        });
    }
    s.create_outgoing(&items).await.unwrap();
    let order = |recs: Vec<hanoinet_store::RequestRecord>| -> Vec<hanoinet_core::RequestId> {
        recs.into_iter().map(|r| r.id).collect()
    };
    let by_limit = order(
        s.list_requests(None, ListOrder::TimeLimit, 10)
            .await
            .unwrap(),
    );
    let id = |i: usize| items[i].request.id;
    assert_eq!(by_limit, vec![id(2), id(0), id(3), id(1)]);
    let newest = order(s.list_requests(None, ListOrder::Newest, 10).await.unwrap());
    assert_eq!(newest, vec![id(3), id(2), id(1), id(0)]);
}

fn inbox(sender: &str, receipt: &str) -> NewInbox {
    NewInbox {
        envelope_id: EnvelopeId::new_v7(),
        sender: node(sender),
        kind: "preservation_request".into(),
        envelope: "{}".into(),
        received_at: Timestamp::now(),
        receipt: receipt.into(),
        transfer_id: None,
    }
}

async fn receiving_is_exactly_once(backend: Backend) {
    let (s, _db) = store(backend).await;
    let (mut req, _) = outgoing(Timestamp::now());
    req.direction = Direction::Incoming;
    req.history = steps(&[Status::Queued, Status::Delivered], req.created_at);
    let first = inbox("VNM/247", r#"{"receipt":"receipt-1"}"#);
    let effect = InboundEffect::CreateIncoming(Box::new(req.clone()));
    assert_eq!(
        s.receive(&first, &effect, &[b"received".to_vec()])
            .await
            .unwrap(),
        Received::New
    );
    let mut replay = first.clone();
    replay.receipt = r#"{"receipt":"receipt-2"}"#.into();
    assert_eq!(
        s.receive(&replay, &effect, &[b"received".to_vec()])
            .await
            .unwrap(),
        Received::Duplicate {
            receipt: r#"{"receipt":"receipt-1"}"#.into()
        }
    );
    assert_eq!(
        s.inbox_receipt(first.envelope_id).await.unwrap().as_deref(),
        Some(r#"{"receipt":"receipt-1"}"#)
    );
    // Another envelope claiming the same request id is refused, and not stored.
    let other = inbox("VNM/247", r#"{"receipt":"receipt-3"}"#);
    assert!(matches!(
        s.receive(&other, &effect, &[b"received".to_vec()])
            .await
            .unwrap(),
        Received::Rejected { .. }
    ));
    assert_eq!(s.inbox_receipt(other.envelope_id).await.unwrap(), None);
    assert_eq!(s.inbox_counts().await.unwrap(), (1, 1));
    assert_eq!(
        s.ledger_queued().await.unwrap(),
        1,
        "no entry for the replay or the rejection"
    );
    let rec = s.get_request(req.id).await.unwrap().unwrap();
    assert_eq!(rec.status, Status::Delivered);
}

fn steps(statuses: &[Status], at: Timestamp) -> Vec<StatusEvent> {
    statuses.iter().map(|s| StatusEvent::new(*s, at)).collect()
}

fn move_to(
    id: RequestId,
    direction: Direction,
    expect_seq: i64,
    statuses: &[Status],
    at: Timestamp,
) -> Transition {
    Transition {
        ledger: vec![b"moved".to_vec()],
        ..Transition::new(id, direction, expect_seq, steps(statuses, at))
    }
}

async fn transitions(backend: Backend) {
    let (s, _db) = store(backend).await;
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    // Requested side: an incoming request, moved with compare-and-swap on its history length.
    let (mut req, _) = outgoing(now);
    req.direction = Direction::Incoming;
    req.history = steps(&[Status::Queued, Status::Delivered], now);
    s.receive(
        &inbox("VNM/247", "{}"),
        &InboundEffect::CreateIncoming(Box::new(req.clone())),
        &[b"received".to_vec()],
    )
    .await
    .unwrap();
    let reply = NewOutbox {
        envelope_id: EnvelopeId::new_v7(),
        peer: node("VNM/247"),
        kind: "status_update".into(),
        request_id: req.id,
        envelope: "{}".into(),
        created_at: now,
        chunk: None,
    };
    let mut accept = move_to(
        req.id,
        Direction::Incoming,
        2,
        &[Status::Acknowledged, Status::Accepted],
        now,
    );
    accept.decision = Some((r#"{"decision":"accept"}"#.into(), now));
    accept.preserved_until = Some(now + SignedDuration::from_hours(24 * 60));
    accept.outbox = vec![reply.clone()];
    assert_eq!(s.transition(&accept).await.unwrap(), Transitioned::Recorded);
    let rec = s.get_request(req.id).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.seq), (Status::Accepted, 4));
    assert_eq!(
        rec.decision,
        Some(serde_json::json!({"decision": "accept"}))
    );
    // The same move again (someone else moved first): stale, nothing written.
    let mut again = accept.clone();
    again.outbox[0].envelope_id = EnvelopeId::new_v7();
    assert_eq!(
        s.transition(&again).await.unwrap(),
        Transitioned::Stale {
            status: Status::Accepted,
            seq: 4
        }
    );
    assert_eq!(
        s.outbox_counts().await.unwrap(),
        (1, 0),
        "one update queued"
    );
    let mut unknown = accept.clone();
    unknown.request_id = RequestId::new_v7();
    assert_eq!(
        s.transition(&unknown).await.unwrap(),
        Transitioned::NotFound
    );

    // Requesting side: an update that overtakes the receipt records delivery first.
    let (out_req, out_box) = outgoing(now);
    s.create_outgoing(&[NewOutgoing {
        idempotency: None,
        request: out_req.clone(),
        outbox: Some(out_box.clone()),
        ledger: b"request_created".to_vec(),
    }])
    .await
    .unwrap();
    let mut apply = move_to(
        out_req.id,
        Direction::Outgoing,
        2,
        &[Status::Acknowledged, Status::Accepted],
        now,
    );
    apply.fill_delivered = Some(now);
    apply.replay_ok = true;
    apply.decision = accept.decision.clone();
    apply.preserved_until = accept.preserved_until;
    let mut update = inbox("FRA/247", "{}");
    update.kind = "status_update".into();
    let effect = InboundEffect::Transition(Box::new(apply.clone()));
    assert_eq!(
        s.receive(&update, &effect, &[b"received".to_vec()])
            .await
            .unwrap(),
        Received::New
    );
    s.record_deliveries(
        &[Delivery {
            envelope_id: out_box.envelope_id,
            delivered_at: now,
            receipt: r#"{"late":true}"#.into(),
            ledger: b"delivered".to_vec(),
            effect: DeliveryEffect::RequestDelivered,
            keep: None,
        }],
        now,
    )
    .await
    .unwrap();
    let rec = s.get_request(out_req.id).await.unwrap().unwrap();
    assert_eq!(
        rec.history.iter().map(|e| e.status).collect::<Vec<_>>(),
        [
            Status::Queued,
            Status::Delivered,
            Status::Acknowledged,
            Status::Accepted
        ]
    );
    assert_eq!(rec.receipt, Some(serde_json::json!({"late": true})));
    assert_eq!(rec.preserved_until, apply.preserved_until);
    // The same steps in another envelope change nothing; a gap is refused (retried later).
    let dup = inbox("FRA/247", "{}");
    assert_eq!(
        s.receive(&dup, &effect, &[b"received".to_vec()])
            .await
            .unwrap(),
        Received::New
    );
    assert_eq!(s.get_request(out_req.id).await.unwrap().unwrap().seq, 4);
    let gap = move_to(out_req.id, Direction::Outgoing, 7, &[Status::Executed], now);
    assert!(matches!(
        s.receive(
            &inbox("FRA/247", "{}"),
            &InboundEffect::Transition(Box::new(gap)),
            &[b"received".to_vec()]
        )
        .await
        .unwrap(),
        Received::Rejected { .. }
    ));
    // A move that is not a replay (a proposal) on a history that moved on is refused, to be
    // evaluated again.
    let mut late = move_to(req.id, Direction::Incoming, 3, &[Status::Withdrawn], now);
    late.replay_ok = false;
    assert!(matches!(
        s.receive(
            &inbox("VNM/247", "{}"),
            &InboundEffect::Transition(Box::new(late)),
            &[b"received".to_vec()]
        )
        .await
        .unwrap(),
        Received::Rejected { .. }
    ));
    // An update for a request this node does not hold is refused.
    let stray = move_to(
        RequestId::new_v7(),
        Direction::Outgoing,
        1,
        &[Status::Delivered],
        now,
    );
    assert!(matches!(
        s.receive(
            &inbox("KEN/247", "{}"),
            &InboundEffect::Transition(Box::new(stray)),
            &[b"received".to_vec()]
        )
        .await
        .unwrap(),
        Received::Rejected { .. }
    ));

    // Messages are kept with the request, in order.
    let msg = |id: &str, kind: &str| Message {
        id: id.into(),
        request_id: out_req.id,
        direction: hanoinet_core::request::Flow::Received,
        kind: hanoinet_protocol::payload::MessageKind::parse(kind).unwrap(),
        body: serde_json::json!({"status": "accepted"}),
        at: now,
        in_reply_to: None,
    };
    s.receive(
        &inbox("FRA/247", "{}"),
        &InboundEffect::Message(vec![msg("m1", "status_reply")], None),
        &[b"received".to_vec()],
    )
    .await
    .unwrap();
    s.add_message(&msg("m2", "status_enquiry"), None, &[])
        .await
        .unwrap();
    let rec = s.get_request(out_req.id).await.unwrap().unwrap();
    assert_eq!(
        rec.messages
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>(),
        ["m1", "m2"]
    );
}

/// Overdue acknowledgements are escalated once, with their notifications; follow-up requests
/// keep a preservation in force while undecided; notifications are claimed, retried, sent.
async fn clocks_and_notifications(backend: Backend) {
    let (s, _db) = store(backend).await;
    let now = hanoinet_core::time::truncate_to_micros(Timestamp::now());
    let (mut req, _) = outgoing(now);
    req.direction = Direction::Incoming;
    req.history = steps(&[Status::Queued, Status::Delivered], now);
    req.ack_due_at = Some(now + SignedDuration::from_mins(60));
    s.receive(
        &inbox("VNM/247", "{}"),
        &InboundEffect::CreateIncoming(Box::new(req.clone())),
        &[],
    )
    .await
    .unwrap();
    assert!(
        s.overdue_acknowledgements(now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + SignedDuration::from_mins(61);
    let overdue = s.overdue_acknowledgements(later, 10).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].ack_due_at, req.ack_due_at);
    let alert = hanoinet_store::Alert {
        id: format!("ack_deadline_missed:{}", req.id),
        kind: hanoinet_store::AlertKind::AckDeadlineMissed,
        subject: format!("request:{}", req.id),
        message: "late".into(),
        evidence: serde_json::json!({}),
        created_at: later,
    };
    let note = |channel: &str, target: &str| hanoinet_store::Notification {
        id: format!("{}:{channel}:{target}", alert.id),
        channel: channel.into(),
        target: target.into(),
        subject: "late".into(),
        body: "{}".into(),
        created_at: later,
        attempts: 0,
    };
    let notes = [
        note("webhook", "http://hook"),
        note("smtp", "duty@example.org"),
    ];
    assert!(
        s.escalate(req.id, later, &alert, &[b"missed".to_vec()], &notes)
            .await
            .unwrap()
    );
    assert!(
        !s.escalate(req.id, later, &alert, &[b"missed".to_vec()], &notes)
            .await
            .unwrap()
    );
    assert!(
        s.overdue_acknowledgements(later, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.alerts(10).await.unwrap().len(), 1);
    assert_eq!(s.notification_counts().await.unwrap(), (2, 0));
    // Claimed once (leased), retried after a failure, then sent.
    let lease = later + SignedDuration::from_secs(60);
    let claimed = s
        .claim_notifications(later, lease, 10, "test")
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        s.claim_notifications(later, lease, 10, "test")
            .await
            .unwrap()
            .is_empty()
    );
    let retry = later + SignedDuration::from_secs(5);
    s.notification_attempted(&claimed[0].id, later, Err(("down", retry)))
        .await
        .unwrap();
    s.notification_attempted(&claimed[1].id, later, Ok(()))
        .await
        .unwrap();
    assert!(
        s.claim_notifications(later, lease, 10, "test")
            .await
            .unwrap()
            .is_empty()
    );
    let again = s
        .claim_notifications(retry, lease, 10, "test")
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 1));
    s.notification_attempted(&again[0].id, retry, Ok(()))
        .await
        .unwrap();
    assert_eq!(s.notification_counts().await.unwrap(), (0, 2));
    // Reminders are raised once per id.
    let mut reminder = alert.clone();
    reminder.id = format!("preservation_expiring:14d:{}", req.id);
    assert!(s.raise_alert_once(&reminder, &[], &[]).await.unwrap());
    assert!(!s.raise_alert_once(&reminder, &[], &[]).await.unwrap());

    // A preservation in force, and an Art. 44 request that follows it.
    let mut accept = move_to(
        req.id,
        Direction::Incoming,
        2,
        &[Status::Acknowledged, Status::Accepted],
        now,
    );
    accept.preserved_until = Some(now + SignedDuration::from_hours(24 * 60));
    s.transition(&accept).await.unwrap();
    assert_eq!(s.preservations_in_force(10).await.unwrap().len(), 1);
    let (mut follow, _) = outgoing(now);
    follow.direction = Direction::Incoming;
    follow.request_type = RequestType::StoredData;
    follow.facts.follows_request = Some(req.id);
    follow.history = steps(&[Status::Queued, Status::Delivered], now);
    s.receive(
        &inbox("VNM/247", "{}"),
        &InboundEffect::CreateIncoming(Box::new(follow.clone())),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        s.undecided_followups(req.id).await.unwrap(),
        vec![follow.id]
    );
    let decide = move_to(
        follow.id,
        Direction::Incoming,
        2,
        &[Status::Acknowledged, Status::Accepted],
        now,
    );
    s.transition(&decide).await.unwrap();
    assert!(s.undecided_followups(req.id).await.unwrap().is_empty());
}

async fn migrations_are_idempotent(backend: Backend) {
    let (s, db) = store(backend).await;
    s.close().await;
    let again = Store::connect(&db.url).await.unwrap();
    assert_eq!(
        again.backend(),
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    assert!(matches!(
        Store::connect("mysql://x").await,
        Err(hanoinet_store::StoreError::UnsupportedUrl(_))
    ));
}

async fn ledger_tree(backend: Backend) {
    use hanoinet_ledger::tree::{Plan, build};
    let (s, _db) = store(backend).await;
    let entries: Vec<Vec<u8>> = (0..1234)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    // Appended in uneven batches, integrated in uneven batches: the same tree as built in memory.
    for chunk in entries.chunks(97) {
        s.append_ledger(chunk).await.unwrap();
        s.integrate(150).await.unwrap();
    }
    while s.ledger_queued().await.unwrap() > 0 {
        s.integrate(500).await.unwrap();
    }
    assert_eq!(s.ledger_size().await.unwrap(), 1234);
    let (frontier, all) = build(entries.iter().map(Vec::as_slice));
    for plan in [
        Plan::Root { size: 1234 },
        Plan::Root { size: 1 },
        Plan::Inclusion {
            index: 777,
            size: 1000,
        },
        Plan::Consistency {
            first: 333,
            second: 1234,
        },
    ] {
        let nodes = s.ledger_nodes(&plan.needed()).await.unwrap();
        assert_eq!(
            plan.compute(&nodes).unwrap(),
            plan.compute(&all).unwrap(),
            "{plan:?}"
        );
    }
    assert_eq!(
        Plan::Root { size: 1234 }
            .compute(
                &s.ledger_nodes(&Plan::Root { size: 1234 }.needed())
                    .await
                    .unwrap()
            )
            .unwrap()[0],
        frontier.root()
    );
    let page = s.ledger_entries(1000, 1010).await.unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(page[0], (1000, entries[1000].clone()));

    s.store_head(10, "{\"a\":1}", Timestamp::now())
        .await
        .unwrap();
    s.store_head(1234, "{\"a\":2}", Timestamp::now())
        .await
        .unwrap();
    assert_eq!(s.latest_head().await.unwrap().as_deref(), Some("{\"a\":2}"));
}

/// A transfer's queued chunks (bulk) give way to every other envelope; a chunk is sealed once
/// (the first sealing wins, every retry sends it); an upload grows only from where it stands.
async fn bulk_gives_way_and_uploads_compare_and_set(backend: Backend) {
    let (s, _db) = store(backend).await;
    let now = t("2026-11-22T08:00:00Z");
    let earlier = t("2026-11-22T07:00:00Z");
    // A chunk queued an hour before a request: the request goes first all the same.
    let (chunk_req, mut chunk_out) = outgoing(earlier);
    chunk_out.kind = "data_chunk".into();
    chunk_out.envelope = String::new();
    chunk_out.chunk = Some(hanoinet_store::ChunkRef {
        transfer_id: "t1".into(),
        attachment_id: "a1".into(),
        idx: 3,
    });
    let (other_req, mut other_chunk) = outgoing(earlier);
    other_chunk.kind = "data_chunk".into();
    other_chunk.envelope = String::new();
    other_chunk.chunk = Some(hanoinet_store::ChunkRef {
        transfer_id: "t2".into(),
        attachment_id: "a2".into(),
        idx: 0,
    });
    let (req, out) = outgoing(now);
    for (r, o) in [
        (chunk_req, chunk_out.clone()),
        (other_req, other_chunk.clone()),
        (req, out.clone()),
    ] {
        s.create_outgoing(&[NewOutgoing {
            idempotency: None,
            request: r,
            outbox: Some(o),
            ledger: b"created".to_vec(),
        }])
        .await
        .unwrap();
    }
    let lease = now.checked_add(SignedDuration::from_secs(30)).unwrap();
    // Room for five, two of them bulk: the request and both chunks (the bulk slots do not
    // shrink by what went before them).
    let all = s.claim_outbox(now, lease, 5, 2, "test").await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0].envelope_id, out.envelope_id);
    // Their leases run out; claimed again in smaller steps.
    let now = lease.checked_add(SignedDuration::from_secs(1)).unwrap();
    let lease = now.checked_add(SignedDuration::from_secs(30)).unwrap();
    let first = s.claim_outbox(now, lease, 1, 1, "test").await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].envelope_id, out.envelope_id,
        "the request before the bulk chunk"
    );
    assert_eq!(first[0].chunk, None);
    assert!(
        s.claim_outbox(now, lease, 5, 0, "test")
            .await
            .unwrap()
            .is_empty(),
        "no bulk slot free: the chunk waits"
    );
    let second = s.claim_outbox(now, lease, 5, 1, "test").await.unwrap();
    assert_eq!(second.len(), 1, "at most the bulk slots free");
    let chunk_out = if second[0].envelope_id == chunk_out.envelope_id {
        chunk_out
    } else {
        other_chunk
    };
    assert_eq!(second[0].envelope_id, chunk_out.envelope_id);
    assert_eq!(second[0].chunk, chunk_out.chunk);
    assert_eq!(second[0].envelope, "");
    assert_eq!(
        s.seal_queued_chunk(chunk_out.envelope_id, "{\"sealed\":1}")
            .await
            .unwrap(),
        "{\"sealed\":1}"
    );
    assert_eq!(
        s.seal_queued_chunk(chunk_out.envelope_id, "{\"sealed\":2}")
            .await
            .unwrap(),
        "{\"sealed\":1}",
        "sealed once: every retry sends the same bytes"
    );

    // Uploads: compare-and-set on (received, chunks).
    let u = hanoinet_store::Upload {
        id: "u1".into(),
        request_id: out.request_id.to_string(),
        user_id: "someone".into(),
        name: "disk.img".into(),
        size: 7,
        sha256: None,
        received: 0,
        chunks: 0,
        created_at: now,
        updated_at: now,
    };
    s.create_upload(&u).await.unwrap();
    assert!(
        s.append_upload_chunk("u1", 0, 0, b"abcd", now)
            .await
            .unwrap()
    );
    assert!(
        !s.append_upload_chunk("u1", 0, 0, b"wxyz", now)
            .await
            .unwrap(),
        "the offset moved on"
    );
    assert!(
        !s.append_upload_chunk("nope", 0, 0, b"wxyz", now)
            .await
            .unwrap()
    );
    assert!(
        s.append_upload_chunk("u1", 4, 1, b"efg", now)
            .await
            .unwrap()
    );
    let at = s.upload("u1").await.unwrap().unwrap();
    assert_eq!((at.received, at.chunks), (7, 2));
    assert_eq!(s.chunk("u1", 0).await.unwrap().unwrap(), b"abcd");
    let a = hanoinet_store::Attachment {
        id: "u1".into(),
        request_id: out.request_id,
        transfer_id: None,
        name: "disk.img".into(),
        sha256: Some("00".into()),
        size: 7,
        chunks: 2,
        state: hanoinet_store::AttachmentState::Staged,
        created_at: now,
    };
    assert!(s.finish_upload(&a).await.unwrap());
    assert!(!s.finish_upload(&a).await.unwrap(), "once");
    assert_eq!(s.upload("u1").await.unwrap(), None);
    assert_eq!(s.attachment("u1").await.unwrap().unwrap().size, 7);
    assert_eq!(
        s.chunk_count("u1").await.unwrap(),
        2,
        "the chunks stay with the attachment"
    );
    assert!(!s.drop_upload("u1").await.unwrap());
    // An upload abandoned goes with its chunks.
    s.create_upload(&hanoinet_store::Upload {
        id: "u2".into(),
        ..u.clone()
    })
    .await
    .unwrap();
    assert!(
        s.append_upload_chunk("u2", 0, 0, b"abcd", now)
            .await
            .unwrap()
    );
    assert!(s.drop_upload("u2").await.unwrap());
    assert_eq!(s.chunk_count("u2").await.unwrap(), 0);
    // An untouched upload outlives the stale sweep only while it is fresh.
    s.create_upload(&hanoinet_store::Upload {
        id: "u3".into(),
        ..u
    })
    .await
    .unwrap();
    assert!(
        s.append_upload_chunk("u3", 0, 0, b"abcd", now)
            .await
            .unwrap()
    );
    s.drop_stale_uploads(now).await.unwrap();
    assert!(s.upload("u3").await.unwrap().is_some(), "fresh: kept");
    assert_eq!(s.chunk_count("u3").await.unwrap(), 1);
    s.drop_stale_uploads(now.checked_add(SignedDuration::from_secs(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(s.upload("u3").await.unwrap(), None, "stale: removed");
    assert_eq!(s.chunk_count("u3").await.unwrap(), 0);
}

/// A report naming `values` (phone numbers, as already canonical), restricted or not.
fn lookup_report(code: &str, restricted: bool) -> hanoinet_store::Report {
    use hanoinet_indicators::report::{Category, ReportStatus};
    let now = Timestamp::now();
    hanoinet_store::Report {
        id: uuid::Uuid::now_v7().to_string(),
        code: code.into(),
        secret_sha256: "0".repeat(64),
        category: if restricted {
            Category::ChildSexualAbuseMaterial
        } else {
            Category::ScamCall
        },
        restricted,
        description: String::new(),
        occurred_at: None,
        loss: None,
        payment_method: None,
        contact: None,
        language: "en".into(),
        status: ReportStatus::Received,
        request_id: None,
        created_at: now,
        updated_at: now,
        triaged_at: None,
        closed_at: None,
    }
}

fn phone(n: usize) -> hanoinet_indicators::Indicator {
    let canonical = format!("+8491200{n:04}");
    hanoinet_indicators::Indicator {
        kind: hanoinet_indicators::IndicatorType::Phone,
        hash: hanoinet_indicators::identity(hanoinet_indicators::IndicatorType::Phone, &canonical),
        canonical,
    }
}

async fn lookup_versions_follow_commits(backend: Backend) {
    use hanoinet_indicators::{IndicatorStatus, Tlp};
    use hanoinet_store::{IndicatorDecision, NewReport};
    let (s, _db) = store(backend).await;
    let s = std::sync::Arc::new(s);
    let decide = |status, tlp| IndicatorDecision {
        status,
        tlp,
        expires_at: None,
        by: "analyst".into(),
        at: Timestamp::now(),
    };
    let (a, b, c) = (phone(1), phone(2), phone(3));
    for (code, ind, restricted) in [("R-1", &a, false), ("R-2", &b, false), ("R-3", &c, true)] {
        let r = lookup_report(code, restricted);
        s.create_report(
            NewReport {
                report: &r,
                indicators: std::slice::from_ref(ind),
            },
            &[],
        )
        .await
        .unwrap();
    }
    // Nothing decided: nothing for lookup.
    assert_eq!(s.lookup_version().await.unwrap(), 0);
    assert!(s.lookup_changes(0, 100).await.unwrap().is_empty());
    // A confirmation (clear) is served, amber is not, a restricted one is not.
    for (ind, tlp) in [(&a, Tlp::Clear), (&b, Tlp::Amber), (&c, Tlp::Clear)] {
        assert!(
            s.decide_indicator(
                &ind.hash,
                &decide(IndicatorStatus::Confirmed, Some(tlp)),
                &[]
            )
            .await
            .unwrap()
        );
    }
    let seen = s.lookup_changes(0, 100).await.unwrap();
    let v: Vec<(String, i64, bool)> = seen
        .iter()
        .map(|c| (c.hash.clone(), c.version, c.served))
        .collect();
    assert_eq!(
        v,
        vec![
            (a.hash.clone(), 1, true),
            (b.hash.clone(), 2, false),
            (c.hash.clone(), 3, false)
        ]
    );
    assert_eq!(
        seen[0].category,
        Some(hanoinet_indicators::report::Category::ScamCall)
    );
    // An ordinary report naming the restricted indicator makes it public: a new version.
    let r = lookup_report("R-4", false);
    s.create_report(
        NewReport {
            report: &r,
            indicators: &[c.clone(), phone(9)],
        },
        &[],
    )
    .await
    .unwrap();
    let after = s.lookup_changes(3, 100).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        (after[0].hash.as_str(), after[0].version, after[0].served),
        (c.hash.as_str(), 4, true)
    );
    // Revoked: a new version, not served.
    s.decide_indicator(&a.hash, &decide(IndicatorStatus::FalsePositive, None), &[])
        .await
        .unwrap();
    let after = s.lookup_changes(4, 100).await.unwrap();
    assert_eq!(
        (after.len(), after[0].version, after[0].served),
        (1, 5, false)
    );
    // Concurrent decisions take distinct, gapless versions.
    let mut inds = Vec::new();
    for n in 100..120 {
        let ind = phone(n);
        let r = lookup_report(&format!("C-{n}"), false);
        s.create_report(
            NewReport {
                report: &r,
                indicators: std::slice::from_ref(&ind),
            },
            &[],
        )
        .await
        .unwrap();
        inds.push(ind);
    }
    let tasks: Vec<_> = inds
        .iter()
        .map(|ind| {
            let (s, hash) = (s.clone(), ind.hash.clone());
            let d = decide(IndicatorStatus::Confirmed, Some(Tlp::Green));
            tokio::spawn(async move { s.decide_indicator(&hash, &d, &[]).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let mut versions: Vec<i64> = s
        .lookup_changes(5, 100)
        .await
        .unwrap()
        .iter()
        .map(|c| c.version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (6..26).collect::<Vec<_>>());
    assert_eq!(s.lookup_version().await.unwrap(), 25);
}
