//! What a peer delivers (`POST /federation/v1/envelopes`): every check, then one transaction.
//!
//! The checks run in a fixed order, and the first that fails answers with its own error code,
//! stores nothing and writes one log line:
//!
//! ```text
//! size ─► encoding ─► known sender ─► signature ─► recipient is us ─► freshness ─► replay?
//!                                                                                   │ yes: same receipt again
//!                                                                                   ▼ no
//!                               kind ─► open payload ─► validate payload ─► store + effect (one tx) ─► signed receipt
//! ```

use hanoinet_ledger::entry::actors;
use jiff::SignedDuration;

use hanoinet_core::lifecycle::Side;
use hanoinet_core::request::{Direction, FieldError, Status, validate_new_request};
use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_ledger::SignedTreeHead;
use hanoinet_ledger::entry::Event;
use hanoinet_protocol::{Envelope, EnvelopeError, Receipt};
use hanoinet_store::{InboundEffect, NewInbox, NewRequest, Received, StatusEvent};
use serde_json::Value;

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::node::Node;
use hanoinet_protocol::payload::{self, Decoded, RequestPayload};

fn reject(code: ErrorCode, message: impl Into<String>) -> NodeError {
    NodeError::refused(code, message)
}

/// Logs the rejection of an envelope a registered node really signed (unauthenticated noise
/// is never logged). Anyone can replay a signed envelope, so the entry names the signer as an
/// attribute, not as the actor; a given (signer, envelope hash, error) is logged once, and at
/// most [`crate::Tunables::rejections_logged_per_minute`] per signer, so that nobody can flood
/// the log with one genuine envelope.
pub async fn log_rejection(
    state: &Node,
    id: EnvelopeId,
    signer: &NodeId,
    hash: [u8; 32],
    code: ErrorCode,
) {
    let hash_hex = hex::encode(hash);
    match state
        .store
        .rejection_logged(signer.as_str(), &hash_hex, code.as_str())
        .await
    {
        Ok(false) => {}
        Ok(true) => return,
        Err(err) => {
            tracing::error!(error = %err, "reading logged rejections failed");
            return;
        }
    }
    if !state
        .rejections
        .allow(signer, state.tunables.rejections_logged_per_minute)
    {
        tracing::debug!(signer = %signer, "rejection not logged: over the per-signer budget");
        return;
    }
    let entry = crate::ops::ledger::entry(
        state,
        Event::EnvelopeRejected,
        actors::SYSTEM.into(),
        format!("envelope:{id}"),
    )
    .attr("signer", signer.as_str())
    .attr("error", code.as_str())
    .attr("envelope_hash", hash_hex.clone());
    if let Err(err) = state
        .store
        .log_rejection_once(
            signer.as_str(),
            &hash_hex,
            code.as_str(),
            state.clock.now(),
            &[entry.encode()],
        )
        .await
    {
        tracing::error!(error = %err, "logging a rejected envelope failed");
    }
}

/// How many rejections each signer has had logged in the current minute.
#[derive(Debug, Default)]
pub struct RejectionBudget(
    std::sync::Mutex<std::collections::HashMap<NodeId, (std::time::Instant, u32)>>,
);

impl RejectionBudget {
    /// Takes one from `signer`'s budget of `per_minute`; `false` when it is spent.
    pub fn allow(&self, signer: &NodeId, per_minute: u32) -> bool {
        let now = std::time::Instant::now();
        let Ok(mut map) = self.0.lock() else {
            return false;
        };
        let slot = map.entry(signer.clone()).or_insert((now, 0));
        if now.duration_since(slot.0) >= std::time::Duration::from_secs(60) {
            *slot = (now, 0);
        }
        if slot.1 >= per_minute {
            return false;
        }
        slot.1 += 1;
        true
    }
}

/// What became of an envelope that passed every check.
#[derive(Debug)]
pub struct Accepted {
    /// First time received (`false`: a replay, answered with the same receipt).
    pub new: bool,
    /// The signed receipt, as JSON.
    pub receipt: String,
}

/// Who signed an envelope, once its signature verified: (envelope id, signer, envelope hash).
pub type Signed = (EnvelopeId, NodeId, [u8; 32]);

/// Receives an envelope (its JSON, already within [`hanoinet_protocol::MAX_ENVELOPE_BYTES`]): checks 2 to 12 of
/// PROTOCOL.md §3.4 in order, then stores it and applies its effect in one transaction.
/// `authenticated` is set once the signature verified, so that a refusal of a genuine envelope
/// can be logged ([`log_rejection`]).
pub async fn receive(
    state: &Node,
    bytes: &[u8],
    authenticated: &mut Option<Signed>,
) -> NodeResult<Accepted> {
    // 2. Encoding.
    let env = Envelope::from_json(bytes)
        .map_err(|e| reject(ErrorCode::MalformedEnvelope, e.to_string()))?;
    let h = &env.header;

    // 3. Known sender.
    let reg = state.registry();
    let sender = reg.node(&h.from).ok_or_else(|| {
        reject(
            ErrorCode::UnknownSender,
            format!("{} is not a node in this node's registry", h.from),
        )
    })?;

    // 4. Signature, by a key of the sender's valid now (the current one, or an earlier one
    // within its overlap) and not revoked.
    if !sender
        .keys_valid_at(state.clock.now())
        .iter()
        .any(|k| env.verify(k).is_ok())
    {
        return Err(reject(
            ErrorCode::BadSignature,
            format!(
                "signature does not verify with any key of {}'s that the registry lists as valid now (a revoked or expired key is refused)",
                h.from
            ),
        ));
    }

    *authenticated = Some((h.id, h.from.clone(), env.hash()));

    // 5. Recipient.
    if h.to != state.id {
        return Err(reject(
            ErrorCode::WrongRecipient,
            format!("this is {}, the envelope is for {}", state.id, h.to),
        ));
    }

    // 6. Freshness.
    let now = state.clock.now();
    let age = now.duration_since(h.created_at);
    let max_age =
        SignedDuration::try_from(state.tunables.max_envelope_age).unwrap_or(SignedDuration::MAX);
    let max_skew =
        SignedDuration::try_from(state.tunables.max_clock_skew).unwrap_or(SignedDuration::MAX);
    if age > max_age || -age > max_skew {
        return Err(reject(
            ErrorCode::StaleEnvelope,
            format!(
                "created_at {} is outside the accepted window (now {now}); the sender re-signs and retries",
                h.created_at
            ),
        ));
    }

    // 7. Replay: the same id again from the same sender gets the same receipt and has no
    // second effect; another sender's id is not this sender's to reuse.
    if let Some((sender, receipt)) = state.store.inbox_seen(h.id).await? {
        if sender != h.from.as_str() {
            return Err(id_taken(&h.id));
        }
        return Ok(Accepted {
            new: false,
            receipt,
        });
    }

    // 8. Kind, payload.
    let mut check_after: Vec<String> = Vec::new();
    // Envelopes that carry data name their transfer; one whose content is already purged is
    // kept without it.
    let mut transfer_id = None;
    let mut keep_content = true;
    let Some(kind) = h.kind.handled() else {
        return Err(reject(
            ErrorCode::UnsupportedKind,
            format!("this node does not handle {:?} envelopes", h.kind.as_str()),
        ));
    };
    let decoded = payload::decode(kind, &open(state, &env)?).map_err(|e| invalid(e.to_string()))?;
    let (effect, peer_head, ledger) = match decoded {
        Decoded::Request(p) => {
            let (req, head) = incoming_request(state, &env, p, now).await?;
            let entry = crate::ops::ledger::entry(
                state,
                Event::RequestReceived,
                crate::ops::ledger::node_actor(&h.from),
                format!("request:{}", req.id),
            )
            .attr("type", req.request_type.as_str())
            .attr("envelope", h.id.to_string())
            .attr("envelope_hash", hex::encode(env.hash()))
            .attr(
                "fields",
                crate::ops::ledger::commit(state, req.fields.as_bytes()),
            );
            (InboundEffect::CreateIncoming(Box::new(req)), head, entry)
        }
        Decoded::StatusUpdate(p) => {
            let i = crate::ops::updates::inbound_update(state, &env, p).await?;
            (i.effect, i.head, i.ledger)
        }
        Decoded::StatusProposal(p) => {
            let i = crate::ops::updates::inbound_proposal(state, &env, p).await?;
            (i.effect, i.head, i.ledger)
        }
        Decoded::Transfer(p) => {
            check_after = p.attachments.iter().map(|a| a.id.clone()).collect();
            transfer_id = Some(p.transfer_id.clone());
            let i = crate::ops::data::inbound_transfer(state, &env, p).await?;
            (i.effect, i.head, i.ledger)
        }
        Decoded::Chunk(p) => {
            check_after = vec![p.attachment_id.clone()];
            transfer_id = Some(p.transfer_id.clone());
            // The chunk's bytes are kept in the attachment's store; the envelope is kept as
            // proof (header, hash, signature), not a second copy.
            keep_content = false;
            let (effect, entry) = crate::ops::data::inbound_chunk(state, &env, p).await?;
            (effect, None, entry)
        }
        Decoded::Message(p) => {
            let i = crate::ops::updates::inbound_message(state, &env, p).await?;
            (i.effect, i.head, i.ledger)
        }
    };

    // 9. Store durably, apply the effect, and answer with the signed receipt.
    let mut receipt = Receipt::sign(
        h.id,
        env.hash(),
        h.from.clone(),
        now,
        state.id.clone(),
        &state.keys(),
    );
    receipt.tree_head = crate::ops::ledger::cached_head(state);
    let receipt_json = serde_json::to_string(&receipt).map_err(NodeError::internal)?;
    let inbox = NewInbox {
        envelope_id: h.id,
        sender: h.from.clone(),
        kind: h.kind.as_str().into(),
        envelope: if keep_content {
            env.to_json()
        } else {
            env.reduced().to_json()
        },
        received_at: now,
        receipt: receipt_json.clone(),
        transfer_id,
    };
    let outcome = state
        .store
        .receive(&inbox, &effect, &[ledger.encode()])
        .await?;
    if let Some(head) = peer_head {
        crate::ops::ledger::remember_peer_head(state, &h.from, &head).await;
    }
    if outcome == Received::New {
        // An attachment whose last chunk (or whose transfer) just arrived is checked now.
        for a in &check_after {
            crate::ops::data::check_complete(state, a).await?;
        }
    }
    match outcome {
        Received::New => {
            tracing::info!(envelope = %h.id, from = %h.from, kind = h.kind.as_str(), "envelope received");
            Ok(Accepted {
                new: true,
                receipt: receipt_json,
            })
        }
        Received::Duplicate { receipt } => Ok(Accepted {
            new: false,
            receipt,
        }),
        Received::Rejected { reason } => Err(reject(ErrorCode::UnknownRequest, reason)),
        Received::Conflict { reason } => Err(reject(ErrorCode::HistoryConflict, reason)),
        Received::IdTaken => Err(id_taken(&h.id)),
    }
}

fn id_taken(id: &EnvelopeId) -> NodeError {
    reject(
        ErrorCode::EnvelopeIdTaken,
        format!("envelope id {id} was used by another sender; every envelope needs a fresh id"),
    )
}

fn open(state: &Node, env: &Envelope) -> Result<Vec<u8>, NodeError> {
    state.open(env).map_err(|e| match e {
        EnvelopeError::Open => reject(
            ErrorCode::UndecryptablePayload,
            "the payload does not open with this node's key",
        ),
        other => NodeError::internal(other),
    })
}

fn invalid(message: impl Into<String>) -> NodeError {
    reject(ErrorCode::InvalidPayload, message)
}

/// An incoming request, validated independently of the sender's own validation: the same field
/// rules, the same legal gate and link checks.
async fn incoming_request(
    state: &Node,
    env: &Envelope,
    payload: RequestPayload,
    received_at: jiff::Timestamp,
) -> Result<(NewRequest, Option<SignedTreeHead>), NodeError> {
    // Re-validate the fields exactly as a local user's request would be.
    let mut body = Value::Object(payload.fields.clone());
    body["type"] = payload.request_type.as_str().into();
    body["to"] = state.id.as_str().into();
    let not_valid = |errors: Vec<FieldError>| {
        let fields: Vec<_> = errors
            .iter()
            .map(|e| format!("{} ({}): {}", e.field, e.code, e.message))
            .collect();
        invalid(format!(
            "request does not meet the Convention's requirements: {}",
            fields.join("; ")
        ))
    };
    let new = validate_new_request(&body).map_err(not_valid)?;
    let facts = new.facts.clone();
    let warnings = crate::ops::gate::check_typed(
        state,
        &env.header.from,
        &state.id,
        &facts,
        Some(new.request_type),
    )
    .await?
    .map_err(not_valid)?;
    // The requesting node's history so far, then delivery (at the receipt's time).
    let mut history: Vec<StatusEvent> = payload.history.iter().map(StatusEvent::from).collect();
    if history.is_empty() {
        history.push(StatusEvent::new(Status::Queued, payload.created_at));
    }
    if history
        .iter()
        .any(|e| !e.status.before_sending() && e.status != Status::Queued)
        || history.last().map(|e| e.status) != Some(Status::Queued)
    {
        return Err(invalid(
            "a request's history before delivery ends with queued and holds only draft, awaiting_approval and queued",
        ));
    }
    let latest = env
        .header
        .created_at
        .checked_add(SignedDuration::try_from(state.tunables.max_clock_skew).unwrap_or_default())
        .unwrap_or(env.header.created_at);
    for e in &history {
        crate::ops::updates::check_note(e.note.as_deref())?;
    }
    if history
        .iter()
        .any(|e| e.by.is_some_and(|b| b != Side::Requesting) || e.at > latest)
    {
        return Err(invalid(
            "a request's history before delivery holds the requesting side's steps, none later than the envelope",
        ));
    }
    check_approval(state, env, &payload, &mut history)?;
    history.push(StatusEvent {
        by: Some(Side::System),
        ..StatusEvent::new(Status::Delivered, received_at)
    });
    let request = NewRequest {
        id: payload.request_id,
        direction: Direction::Incoming,
        request_type: new.request_type,
        from: env.header.from.clone(),
        to: state.id.clone(),
        fields: serde_json::to_string(&new.fields).map_err(NodeError::internal)?,
        envelope_id: env.header.id,
        created_by: None,
        created_at: received_at,
        ack_due_at: received_at
            .checked_add(jiff::SignedDuration::from_mins(
                state.policy.ack_target_minutes(facts.urgency),
            ))
            .ok(),
        facts,
        warnings,
        history,
    };
    Ok((request, payload.tree_head))
}

/// Four eyes, as the requesting node recorded them: a request queued from `awaiting_approval`
/// carries an approval its sender signed, for this request and envelope, by a supervisor who is
/// not the author; a request queued straight from a draft carries none.
fn check_approval(
    state: &Node,
    env: &Envelope,
    payload: &RequestPayload,
    history: &mut [StatusEvent],
) -> Result<(), NodeError> {
    use hanoinet_protocol::approval::SUPERVISOR;
    let n = history.len();
    let approved = n >= 2 && history[n - 2].status == Status::AwaitingApproval;
    match (&payload.approval, approved) {
        (None, false) => Ok(()),
        (Some(a), true) => {
            let fits = a.node == env.header.from
                && a.request_id == payload.request_id
                && a.envelope_id == env.header.id
                && a.role == SUPERVISOR
                && a.approver != a.author
                && state.signed_by(&env.header.from, |k| a.verify(k));
            if !fits {
                return Err(invalid(
                    "the approval is not signed by the requesting node for this request and envelope, by a supervisor other than the author",
                ));
            }
            let doc = serde_json::to_value(a).map_err(NodeError::internal)?;
            history[n - 1].details = Some(serde_json::json!({ "approval": doc }));
            Ok(())
        }
        (Some(_), false) => Err(invalid(
            "an approval travels only with a request queued from awaiting_approval",
        )),
        (None, true) => Err(invalid(
            "a request queued from awaiting_approval carries its signed approval",
        )),
    }
}
