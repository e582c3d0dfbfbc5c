//! The Convention's clocks, checked by [`tick`] on the node's clock (tests move a
//! `ManualClock` and call it; [`run`] calls it periodically):
//!
//! - **acknowledgement deadlines** (Art. 41; node policy, default 1 hour, 15 minutes for an
//!   emergency): an incoming request still `delivered` past its deadline is escalated once: an
//!   alert (`GET /api/v1/alerts`), a ledger entry, and a notification to every escalation contact;
//! - **preservation periods** (Art. 42): reminders 14 and 3 days before `preserved_until`; at the
//!   end the requested node moves the preservation to `expired`, unless an Art. 44 request that
//!   follows it is still undecided: then the data stay preserved until it is decided.

use hanoinet_ledger::entry::actors;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tokio::sync::watch;

use hanoinet_core::catalogue::{art41, art42};
use hanoinet_core::request::{Direction, Status};
use hanoinet_ledger::entry::Event;
use hanoinet_store::{Alert, AlertKind, RequestRecord};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;

/// Checks every clock once, at the node clock's current time.
pub async fn tick(state: &Node) -> NodeResult<()> {
    escalate_overdue(state).await?;
    preservations(state).await?;
    crate::ops::data::purge_due(state).await?;
    crate::ops::triage::purge_due(state).await?;
    let now = state.clock.now();
    state
        .store
        .purge_idempotency(
            now.saturating_sub(crate::node::IDEMPOTENCY_KEEP)
                .unwrap_or(now),
        )
        .await?;
    Ok(())
}

async fn escalate_overdue(state: &Node) -> NodeResult<()> {
    let now = state.clock.now();
    for rec in state.store.overdue_acknowledgements(now, 100).await? {
        let Some(due) = rec.ack_due_at else { continue };
        let urgency = rec
            .fields
            .get("urgency")
            .and_then(|u| u.as_str())
            .unwrap_or("normal");
        let late = now.duration_since(due).as_secs() / 60;
        let subject = format!(
            "{}: {} {} request from {} not acknowledged ({} min past the deadline)",
            state.id,
            urgency,
            rec.request_type.as_str(),
            rec.from,
            late
        );
        let body = json!({
            "event": AlertKind::AckDeadlineMissed,
            "node": state.id,
            "request_id": rec.id,
            "request_type": rec.request_type.as_str(),
            "urgency": urgency,
            "from": rec.from,
            "received_at": rec.created_at,
            "ack_due_at": due,
            "minutes_late": late,
            "article": art41::POINT_OF_CONTACT.to_string(),
        });
        let (alert, notes) = event(
            state,
            AlertKind::AckDeadlineMissed,
            format!("{}:{}", AlertKind::AckDeadlineMissed, rec.id),
            &rec,
            subject,
            body,
        );
        let ledger = crate::ops::ledger::entry(
            state,
            Event::AckDeadlineMissed,
            actors::SYSTEM.into(),
            format!("request:{}", rec.id),
        )
        .attr("urgency", urgency)
        .attr("due", due.to_string());
        if state
            .store
            .escalate(rec.id, now, &alert, &[ledger.encode()], &notes)
            .await?
        {
            tracing::warn!(request = %rec.id, from = %rec.from, urgency, "acknowledgement deadline missed: escalated");
        }
    }
    Ok(())
}

async fn preservations(state: &Node) -> NodeResult<()> {
    let now = state.clock.now();
    for rec in state.store.preservations_in_force(1000).await? {
        let Some(until) = rec.preserved_until else {
            continue;
        };
        // Art. 42: preserved until the follow-up request is decided.
        let pending = state.store.undecided_followups(rec.id).await?;
        if !pending.is_empty() {
            continue;
        }
        if now >= until {
            if rec.direction == Direction::Incoming {
                expire(state, &rec, until).await?;
            }
            continue;
        }
        for days in art42::REMINDER_DAYS {
            let at = until
                .checked_sub(SignedDuration::from_hours(24 * days))
                .unwrap_or(until);
            if now >= at {
                remind(state, &rec, until, days).await?;
            }
        }
    }
    Ok(())
}

async fn remind(state: &Node, rec: &RequestRecord, until: Timestamp, days: i64) -> NodeResult<()> {
    let side = match rec.direction {
        Direction::Outgoing => "send the follow-up request for the data, or ask for an extension",
        Direction::Incoming => "the data may be released when the period ends",
    };
    let subject = format!(
        "{}: preservation {} ends {} (in {days} days or less): {side}",
        state.id,
        rec.id,
        until.to_zoned(jiff::tz::TimeZone::UTC).date()
    );
    let body = json!({
        "event": AlertKind::PreservationExpiring,
        "node": state.id,
        "request_id": rec.id,
        "direction": rec.direction.as_str(),
        "peer": match rec.direction { Direction::Outgoing => &rec.to, Direction::Incoming => &rec.from },
        "preserved_until": until,
        "days_before": days,
        "article": art42::MINIMUM_PERIOD.to_string(),
    });
    let (alert, notes) = event(
        state,
        AlertKind::PreservationExpiring,
        format!("{}:{days}d:{}", AlertKind::PreservationExpiring, rec.id),
        rec,
        subject,
        body,
    );
    let ledger = crate::ops::ledger::entry(
        state,
        Event::PreservationReminder,
        actors::SYSTEM.into(),
        format!("request:{}", rec.id),
    )
    .attr("days_before", days.to_string())
    .attr("preserved_until", until.to_string());
    state
        .store
        .raise_alert_once(&alert, &[ledger.encode()], &notes)
        .await?;
    Ok(())
}

async fn expire(state: &Node, rec: &RequestRecord, until: Timestamp) -> NodeResult<()> {
    match crate::ops::moves::move_system(state, rec, Status::Expired).await {
        Ok(()) => {
            tracing::info!(request = %rec.id, %until, "preservation period ended: expired");
            Ok(())
        }
        // Moved meanwhile (e.g. executed): the next tick sees the new status.
        Err(NodeError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// An alert about `rec` and the notifications to the escalation contacts that go with it.
fn event(
    state: &Node,
    kind: AlertKind,
    id: String,
    rec: &RequestRecord,
    subject: String,
    body: serde_json::Value,
) -> (Alert, Vec<hanoinet_store::Notification>) {
    let now = state.clock.now();
    let notes = state.escalation.notifications(&id, &subject, &body, now);
    let alert = Alert {
        id,
        kind,
        subject: format!("request:{}", rec.id),
        message: subject,
        evidence: body,
        created_at: now,
    };
    (alert, notes)
}

/// Checks the clocks until `stop`.
pub async fn run(state: Arc<Node>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = tick(&state).await {
            tracing::error!(error = %e, "checking deadlines failed");
        }
        if let Err(e) = crate::ops::peers::check(&state).await {
            tracing::error!(error = %e, "checking peer outages failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(state.tunables.clock_interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
