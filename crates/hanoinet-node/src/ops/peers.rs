//! Each peer's reachability: an outage starts at the first failed delivery, an alert (API,
//! notifier, ledger) is raised when it has lasted the policy's `peer_unreachable_minutes`, and
//! another when the peer answers again. The database holds the outages, so that every replica
//! sees them and one alert is raised per outage.

use hanoinet_ledger::entry::{Event, actors};
use hanoinet_store::{Alert, AlertKind, PeerOutage};
use serde_json::json;

use crate::error::NodeResult;
use crate::node::Node;

/// A delivery to `peer` failed; `first` when this process had not seen it failing.
pub async fn failed(state: &Node, peer: &hanoinet_core::NodeId, first: bool, reason: &str) {
    if !first {
        return;
    }
    if let Err(e) = state
        .store
        .peer_failed(peer.as_str(), state.clock.now(), reason)
        .await
    {
        tracing::error!(error = %e, %peer, "recording a peer outage failed");
    }
}

/// A delivery reached `peer`, which this process had seen failing: the outage ends, with a
/// recovery alert if it had been alerted.
pub async fn reached(state: &Node, peer: &hanoinet_core::NodeId) {
    let now = state.clock.now();
    let recovered = |o: &PeerOutage| {
        let minutes = now.duration_since(o.failing_since).as_secs() / 60;
        let message = format!(
            "{}: peer {} answers again after {minutes} minute(s) unreachable",
            state.id, o.peer
        );
        let body = json!({
            "event": AlertKind::PeerRecovered, "node": state.id, "peer": o.peer,
            "failing_since": o.failing_since, "recovered_at": now,
        });
        outage_alert(
            state,
            AlertKind::PeerRecovered,
            Event::PeerRecovered,
            o,
            message,
            body,
        )
    };
    match state
        .store
        .peer_reached(peer.as_str(), now, recovered)
        .await
    {
        Ok(Some(o)) if o.alerted_at.is_some() => {
            tracing::info!(%peer, since = %o.failing_since, "peer recovered");
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, %peer, "recording a peer recovery failed"),
    }
}

fn outage_alert(
    state: &Node,
    kind: AlertKind,
    event: Event,
    o: &PeerOutage,
    message: String,
    body: serde_json::Value,
) -> (Alert, Vec<Vec<u8>>, Vec<hanoinet_store::Notification>) {
    let now = state.clock.now();
    let id = format!(
        "{kind}:{}:{}",
        o.peer,
        hanoinet_core::time::to_micros(o.failing_since)
    );
    let notes = state.escalation.notifications(&id, &message, &body, now);
    let ledger = crate::ops::ledger::entry(
        state,
        event,
        actors::SYSTEM.into(),
        format!("node:{}", o.peer),
    )
    .attr("failing_since", o.failing_since.to_string())
    .encode();
    let alert = Alert {
        id,
        kind,
        subject: format!("node:{}", o.peer),
        message,
        evidence: body,
        created_at: now,
    };
    (alert, vec![ledger], notes)
}

/// Checks the outages (the clocks worker calls it): this process learns of outages other
/// replicas saw, and an outage that has lasted long enough is alerted, once.
pub async fn check(state: &Node) -> NodeResult<()> {
    let outages = state.store.peer_outages().await?;
    let now = state.clock.now();
    let after = jiff::SignedDuration::from_mins(state.policy.peer_unreachable_minutes.max(0));
    for o in outages {
        if let Ok(peer) = o.peer.parse::<hanoinet_core::NodeId>() {
            state
                .failing_peers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(peer);
        }
        if o.alerted_at.is_some() || now.duration_since(o.failing_since) < after {
            continue;
        }
        let minutes = now.duration_since(o.failing_since).as_secs() / 60;
        let message = format!(
            "{}: peer {} unreachable for {minutes} minute(s): every delivery to it fails{}",
            state.id,
            o.peer,
            o.last_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (last error: {e})"))
        );
        let body = json!({
            "event": AlertKind::PeerUnreachable, "node": state.id, "peer": o.peer,
            "failing_since": o.failing_since, "last_error": o.last_error,
        });
        let (alert, ledger, notes) = outage_alert(
            state,
            AlertKind::PeerUnreachable,
            Event::PeerUnreachable,
            &o,
            message,
            body,
        );
        if state
            .store
            .alert_peer_outage(&o.peer, o.failing_since, now, &alert, &ledger, &notes)
            .await?
        {
            tracing::warn!(peer = %o.peer, since = %o.failing_since, "peer unreachable: alert raised");
        }
    }
    Ok(())
}
