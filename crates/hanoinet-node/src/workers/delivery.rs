//! The delivery worker: drains the outbox to peers, exactly once in effect.
//!
//! ```text
//!   API / decide ──(same tx)──► outbox row ──wake──► worker claims due rows (lease)
//!                                                        │ POST /federation/v1/envelopes
//!                                   ┌────────────────────┴───────────────────┐
//!                        2xx + valid signed receipt              error / timeout / bad receipt
//!                                   │                                        │
//!                  record_delivery (one tx: delivered,          reschedule: attempts+1, next try at
//!                  request queued → delivered, receipt)         backoff(attempts) with jitter
//! ```
//!
//! A crash at any point leaves the row undelivered (or leased until the lease runs out); the next
//! attempt re-sends the same envelope id, and the peer answers a repeated id with the receipt it
//! gave the first time, so the effect happens once. Envelopes that wait longer than half the
//! freshness window are re-signed with a new `created_at` (same id, same sealed payload).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use tokio::sync::{Semaphore, mpsc, watch};

use hanoinet_ledger::entry::Event;
use hanoinet_protocol::{Envelope, Receipt};
use hanoinet_store::{Delivery, DeliveryEffect, OutboxItem};

use crate::error::ErrorCode;
use crate::node::Node;
use hanoinet_protocol::ENVELOPES_PATH;

/// Runs until `stop` turns true.
pub async fn run(state: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let concurrency = state.tunables.concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    // A transfer's chunks also take one of these: at most this many are in flight.
    let bulk_permits = Arc::new(Semaphore::new(
        state.tunables.bulk_concurrency.clamp(1, concurrency),
    ));
    // Claim when a quarter of the slots are free (or all of them): one claim transaction per
    // handful of deliveries, not one per delivery.
    let claim_at = (concurrency / 4).max(1);
    let (receipts, recorded) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record(state.clone(), recorded));
    let mut last_probe = std::time::Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        if last_probe.elapsed() >= state.tunables.probe_interval {
            last_probe = std::time::Instant::now();
            probe(&state).await;
        }
        let free = permits.available_permits();
        let claimed = if free < claim_at {
            Vec::new()
        } else {
            let now = state.clock.now();
            let lease_until = add(now, state.tunables.lease);
            match state
                .store
                .claim_outbox(
                    now,
                    lease_until,
                    free as i64,
                    bulk_permits.available_permits() as i64,
                    &state.instance,
                )
                .await
            {
                Ok(items) => items,
                Err(e) => {
                    tracing::error!(error = %e, "claiming outbox rows failed");
                    Vec::new()
                }
            }
        };
        if claimed.is_empty() {
            let wait = if free < claim_at {
                state.tunables.poll_interval
            } else {
                next_wait(&state).await
            };
            tokio::select! {
                _ = state.outbox_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            continue;
        }
        // A request goes before what was queued with it (data given on it at once, when data
        // are forwarded): the peer answers `unknown_request` to anything about a request it
        // does not hold yet. Everything else goes out concurrently.
        let (first, rest): (Vec<_>, Vec<_>) = claimed.into_iter().partition(|i| {
            hanoinet_protocol::Kind::parse(&i.kind).is_some_and(hanoinet_protocol::Kind::is_request)
        });
        let waits_for_first = rest
            .iter()
            .any(|i| first.iter().any(|f| f.request_id == i.request_id));
        let mut in_flight = tokio::task::JoinSet::new();
        for item in first {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            in_flight.spawn(deliver_with(
                state.clone(),
                item,
                receipts.clone(),
                (permit, None),
            ));
        }
        if waits_for_first {
            while in_flight.join_next().await.is_some() {}
        } else {
            in_flight.detach_all();
        }
        for item in rest {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            // Claimed only as many as there were bulk permits free, and only this loop takes
            // them: this does not wait.
            let bulk = match item.chunk {
                Some(_) => match bulk_permits.clone().acquire_owned().await {
                    Ok(p) => Some(p),
                    Err(_) => break,
                },
                None => None,
            };
            tokio::spawn(deliver_with(
                state.clone(),
                item,
                receipts.clone(),
                (permit, bulk),
            ));
        }
    }
    // Let in-flight deliveries finish (bounded by the request timeout), then the recorder.
    let _ = permits.acquire_many(concurrency as u32).await;
    drop(receipts);
    let _ = recorder.await;
}

/// Tries every peer in backoff with its earliest envelope (see `Store::probe_quiet_peers`).
async fn probe(state: &Node) {
    let now = state.clock.now();
    let quiet_until = add(now, state.tunables.probe_interval);
    match state.store.probe_quiet_peers(now, quiet_until).await {
        Ok(peers) => {
            let mut failing = state
                .failing_peers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for p in peers {
                if let Ok(p) = p.parse() {
                    failing.insert(p);
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "probing peers in backoff failed"),
    }
}

/// A delivery reached `peer`: if it had been failing, its backlog is due now.
async fn reached(state: &Node, peer: &hanoinet_core::NodeId) {
    let was_failing = state
        .failing_peers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(peer);
    if was_failing {
        crate::ops::peers::reached(state, peer).await;
        match state.store.peer_answered(peer, state.clock.now()).await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(%peer, backlog = n, "peer answers again; sending its backlog now");
                    state.outbox_wake.notify_one();
                }
            }
            Err(e) => tracing::error!(error = %e, %peer, "resetting the backoff failed"),
        }
    }
}

async fn failed(state: &Node, peer: &hanoinet_core::NodeId, reason: &str) {
    let first = state
        .failing_peers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(peer.clone());
    crate::ops::peers::failed(state, peer, first, reason).await;
}

/// Delivers one envelope holding a slot of the worker's concurrency (and of its bulk lane, for
/// a chunk).
async fn deliver_with(
    state: Arc<Node>,
    item: OutboxItem,
    receipts: mpsc::UnboundedSender<Delivery>,
    permits: (
        tokio::sync::OwnedSemaphorePermit,
        Option<tokio::sync::OwnedSemaphorePermit>,
    ),
) {
    deliver(&state, item, &receipts).await;
    drop(permits);
    // A finished delivery frees a slot: look for more work.
    state.outbox_wake.notify_one();
}

/// Records receipts as they come, all those waiting in one transaction (group commit).
async fn record(state: Arc<Node>, mut rx: mpsc::UnboundedReceiver<Delivery>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 512).await > 0 {
        if let Err(e) = state
            .store
            .record_deliveries(&batch, state.clock.now())
            .await
        {
            // The leases run out and the envelopes are sent again; the peer answers with the
            // same receipts. Nothing is lost.
            tracing::error!(error = %e, count = batch.len(), "recording deliveries failed");
        }
        batch.clear();
    }
}

/// How long to sleep when nothing is due: until the next due row, at most the poll interval.
async fn next_wait(state: &Node) -> Duration {
    let poll = state.tunables.poll_interval;
    match state.store.next_outbox_due().await {
        Ok(Some(due)) => {
            let now = state.clock.now();
            let until = due.duration_since(now);
            if until <= SignedDuration::ZERO {
                // Due but leased by someone else (or by a delivery in flight): check back soon.
                Duration::from_millis(50).min(poll)
            } else {
                Duration::try_from(until).unwrap_or(poll).min(poll)
            }
        }
        Ok(None) => poll,
        Err(e) => {
            tracing::error!(error = %e, "reading the outbox failed");
            poll
        }
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(t)
}

/// The delay before attempt `attempts + 1`: exponential from `base`, capped at `max`, with
/// "equal jitter" (half fixed, half random) so that retries from many envelopes spread out.
pub fn backoff(attempts: i64, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(2u32.saturating_pow(exp)).min(max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(if jitter_ms == 0 {
        0
    } else {
        rand::rng().random_range(0..=jitter_ms)
    })
}

enum Outcome {
    Delivered(Box<Receipt>),
    /// The peer said the envelope is stale: re-sign and retry at once.
    Stale,
    /// A failed attempt: a short reason code (for metrics) and what happened.
    Failed(&'static str, String),
}

async fn deliver(state: &Node, mut item: OutboxItem, receipts: &mpsc::UnboundedSender<Delivery>) {
    if item.envelope.is_empty()
        && let Some(chunk) = &item.chunk
    {
        // A transfer's chunk, sealed at its first sending and stored before it goes, so that
        // every retry sends the same bytes.
        let sealed = match crate::ops::give::seal_chunk(
            state,
            item.envelope_id,
            &item.peer,
            item.request_id,
            chunk,
        )
        .await
        {
            Ok(env) => state
                .store
                .seal_queued_chunk(item.envelope_id, &env.to_json())
                .await
                .map_err(crate::error::NodeError::from),
            Err(e) => Err(e),
        };
        match sealed {
            Ok(json) => item.envelope = json,
            Err(e) => {
                tracing::error!(envelope = %item.envelope_id, error = %e, "sealing a chunk failed");
                let _ = state
                    .store
                    .reschedule(
                        item.envelope_id,
                        add(state.clock.now(), state.tunables.max_backoff),
                        &format!("sealing the chunk failed: {e}"),
                    )
                    .await;
                return;
            }
        }
    }
    let mut envelope = match Envelope::from_json(item.envelope.as_bytes()) {
        Ok(e) => e,
        Err(e) => {
            // Cannot happen for rows this node wrote; keep the row and say so loudly.
            tracing::error!(envelope = %item.envelope_id, error = %e, "stored envelope does not parse");
            let _ = state
                .store
                .reschedule(
                    item.envelope_id,
                    add(state.clock.now(), state.tunables.max_backoff),
                    "stored envelope does not parse",
                )
                .await;
            return;
        }
    };
    let now = state.clock.now();
    if now.duration_since(envelope.header.created_at)
        > SignedDuration::try_from(state.tunables.max_envelope_age / 2)
            .unwrap_or(SignedDuration::MAX)
    {
        restamp(state, &mut envelope, now).await;
    }
    let outcome = attempt(state, &item, &envelope).await;
    let now = state.clock.now();
    let result = match outcome {
        Outcome::Delivered(receipt) => {
            // The peer's tree head rides along for gossip; it is not part of the receipt proper.
            if let Some(head) = &receipt.tree_head {
                crate::ops::ledger::remember_peer_head(state, &item.peer, head).await;
            }
            let json = serde_json::to_string(&receipt).unwrap_or_default();
            tracing::debug!(envelope = %item.envelope_id, peer = %item.peer, "delivered");
            reached(state, &item.peer).await;
            state
                .metrics
                .delivered(now.duration_since(item.created_at).unsigned_abs());
            let kind = hanoinet_protocol::Kind::parse(&item.kind);
            let (event, effect) = match kind {
                Some(k) if k.is_request() => {
                    (Event::RequestDelivered, DeliveryEffect::RequestDelivered)
                }
                Some(hanoinet_protocol::Kind::StatusUpdate) => {
                    (Event::ResponseDelivered, DeliveryEffect::ResponseReceipt)
                }
                _ => (Event::ResponseDelivered, DeliveryEffect::None),
            };
            let ledger = crate::ops::ledger::entry(
                state,
                event,
                crate::ops::ledger::node_actor(&item.peer),
                format!("request:{}", item.request_id),
            )
            .attr("envelope", item.envelope_id.to_string())
            .attr(
                "receipt",
                crate::ops::ledger::commit(state, json.as_bytes()),
            )
            .encode();
            // If the recorder is gone (shutdown), the lease runs out and the envelope is re-sent.
            let _ = receipts.send(Delivery {
                envelope_id: item.envelope_id,
                delivered_at: receipt.received_at,
                receipt: json,
                ledger,
                effect,
                // A chunk's bytes stay in the attachment's store: keep the proof, not a copy.
                keep: item.chunk.as_ref().map(|_| envelope.reduced().to_json()),
            });
            Ok(())
        }
        Outcome::Stale => {
            restamp(state, &mut envelope, now).await;
            state
                .store
                .reschedule(
                    item.envelope_id,
                    now,
                    "peer reported the envelope stale; re-signed",
                )
                .await
        }
        Outcome::Failed(code, reason) => {
            state.metrics.delivery_failed(item.peer.as_str(), code);
            failed(state, &item.peer, &reason).await;
            let delay = backoff(
                item.attempts,
                state.tunables.base_backoff,
                state.tunables.max_backoff,
            );
            tracing::warn!(envelope = %item.envelope_id, peer = %item.peer, attempts = item.attempts + 1, retry_in_ms = delay.as_millis() as u64, reason = ?reason, "delivery failed");
            state
                .store
                .reschedule(item.envelope_id, add(now, delay), &reason)
                .await
        }
    };
    if let Err(e) = result {
        // The lease runs out and the envelope is tried again: nothing is lost.
        tracing::error!(envelope = %item.envelope_id, error = %e, "recording the delivery outcome failed");
    }
}

async fn restamp(state: &Node, envelope: &mut Envelope, now: Timestamp) {
    envelope.restamp(now, &state.keys());
    if let Err(e) = state
        .store
        .replace_outbox_envelope(envelope.header.id, &envelope.to_json())
        .await
    {
        tracing::error!(envelope = %envelope.header.id, error = %e, "storing the re-signed envelope failed");
    }
}

async fn attempt(state: &Node, item: &OutboxItem, envelope: &Envelope) -> Outcome {
    let reg = state.registry();
    let Some(peer) = reg.node(&item.peer) else {
        return Outcome::Failed(
            "not_in_registry",
            format!("{} is no longer in the registry", item.peer),
        );
    };
    let url = format!("{}{ENVELOPES_PATH}", peer.url);
    let response = match state
        .http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(envelope.to_json())
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let code = if e.is_timeout() {
                "timeout"
            } else {
                "unreachable"
            };
            return Outcome::Failed(code, format!("cannot reach {url}: {e}"));
        }
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return Outcome::Failed("unreachable", format!("reading the answer from {url}: {e}"));
        }
    };
    if !status.is_success() {
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|c| c.as_str()).map(str::to_owned));
        if code.as_deref() == Some(ErrorCode::StaleEnvelope.as_str()) {
            return Outcome::Stale;
        }
        // The peer's code names the label only if it is one of the protocol's.
        let label = code
            .as_deref()
            .and_then(ErrorCode::parse)
            .map_or("http_error", ErrorCode::as_str);
        return Outcome::Failed(
            label,
            format!("{url} answered {status} {}", code.unwrap_or_default()),
        );
    }
    let receipt: Receipt = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Failed(
                "bad_receipt",
                format!("{url} answered with an unreadable receipt: {e}"),
            );
        }
    };
    // What the sender MUST check (see hanoinet_protocol::receipt).
    let matches = receipt.envelope_id == envelope.header.id
        && receipt.from == item.peer
        && receipt.to == state.id
        && state.signed_by(&item.peer, |k| receipt.verify(k));
    if !matches {
        return Outcome::Failed(
            "bad_receipt",
            format!("{url} answered with a receipt that does not match or does not verify"),
        );
    }
    if receipt.envelope_hash != envelope.hash() {
        // The peer acknowledges an earlier signing of the same envelope (we re-signed it with a
        // new timestamp after the peer had stored it): same id, same sealed payload.
        tracing::info!(envelope = %item.envelope_id, "receipt acknowledges an earlier signing of this envelope");
    }
    Outcome::Delivered(Box::new(receipt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for attempts in 0..40 {
            let full = base
                .saturating_mul(2u32.saturating_pow(attempts.min(30) as u32))
                .min(max);
            for _ in 0..20 {
                let d = backoff(attempts, base, max);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempts}: {d:?} vs {full:?}"
                );
            }
        }
        assert_eq!(backoff(0, Duration::ZERO, max), Duration::ZERO);
    }
}
