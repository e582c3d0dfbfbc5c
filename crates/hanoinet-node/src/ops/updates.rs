//! What a peer's envelope about a known request does: a `status_update` from the requested
//! node, a `status_proposal` from the requesting one, a `request_message` either way. Each is
//! checked against this node's copy of the history and returns the one store effect to apply.

use hanoinet_core::request::Flow;
use serde_json::{Value, json};

use hanoinet_core::lifecycle::{self, Needs, Side};
use hanoinet_core::request::{self, Decision, Direction, Status};
use hanoinet_core::{NodeId, RequestId};
use hanoinet_ledger::Entry;
use hanoinet_ledger::entry::Event;
use hanoinet_protocol::Envelope;
use hanoinet_store::{Message, RequestRecord, StatusEvent, Transition};

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::node::Node;
use hanoinet_protocol::payload::{
    MessageKind, MessagePayload, ProposalPayload, StatusUpdatePayload, Step,
};

use super::messages::*;
use super::moves::*;

/// What an inbound lifecycle envelope does to this node.
pub struct Inbound {
    pub effect: hanoinet_store::InboundEffect,
    pub ledger: Entry,
    pub head: Option<hanoinet_ledger::SignedTreeHead>,
}

pub(crate) fn invalid(message: impl Into<String>) -> NodeError {
    NodeError::refused(ErrorCode::InvalidPayload, message)
}

pub(crate) async fn peer_request(
    state: &Node,
    id: RequestId,
    sender: &NodeId,
    direction: Direction,
) -> NodeResult<RequestRecord> {
    let rec = state.store.get_request(id).await?;
    match rec {
        Some(r) if r.direction == direction => {
            let peer = match direction {
                Direction::Outgoing => &r.to,
                Direction::Incoming => &r.from,
            };
            if peer == sender {
                Ok(r)
            } else {
                // The same answer as for a request that does not exist: a node that is not
                // party to a request learns nothing about it.
                Err(unknown_request(id, sender))
            }
        }
        // Not (yet) here: the request envelope may still be on its way; the sender retries.
        _ => Err(unknown_request(id, sender)),
    }
}

pub(crate) fn unknown_request(id: RequestId, sender: &NodeId) -> NodeError {
    NodeError::refused(
        ErrorCode::UnknownRequest,
        format!("no request {id} shared with {sender} on this node (yet)"),
    )
}

/// The ledger entry for an envelope received about `request_id`: who sent it, which envelope.
pub fn received_entry(
    state: &Node,
    event: Event,
    env: &hanoinet_protocol::Envelope,
    request_id: RequestId,
) -> Entry {
    crate::ops::ledger::entry(
        state,
        event,
        crate::ops::ledger::node_actor(&env.header.from),
        format!("request:{request_id}"),
    )
    .attr("envelope", env.header.id.to_string())
    .attr("envelope_hash", hex::encode(env.hash()))
}

/// A request `sender` shares with this node, whichever side this node is on.
pub async fn peer_request_any(
    state: &Node,
    id: RequestId,
    sender: &NodeId,
) -> NodeResult<RequestRecord> {
    match state.store.get_request(id).await? {
        Some(r) if r.from == *sender || r.to == *sender => Ok(r),
        _ => Err(unknown_request(id, sender)),
    }
}

/// A `status_update` from the requested node: checked against the table step by step.
pub async fn inbound_update(
    state: &Node,
    env: &Envelope,
    p: StatusUpdatePayload,
) -> NodeResult<Inbound> {
    let sender = &env.header.from;
    let rec = peer_request(state, p.request_id, sender, Direction::Outgoing).await?;
    if p.steps.is_empty() {
        return Err(invalid("a status update carries at least one step"));
    }
    // Steps are dated between the request's creation and the envelope, and their notes follow
    // the text policy.
    let skew = jiff::SignedDuration::try_from(state.tunables.max_clock_skew).unwrap_or_default();
    let earliest = rec.created_at.checked_sub(skew).unwrap_or(rec.created_at);
    let latest = env
        .header
        .created_at
        .checked_add(skew)
        .unwrap_or(env.header.created_at);
    for s in &p.steps {
        if s.at < earliest || s.at > latest {
            return Err(invalid(format!(
                "a step of {} is dated {}, outside the request's life ({earliest} to the envelope's {latest})",
                s.status.as_str(),
                s.at
            )));
        }
        check_note(s.note.as_deref())?;
    }
    // Where the chain starts: this node's status, or `delivered` if the receipt is behind.
    let start = if rec.seq == p.expect_seq {
        Some(rec.status)
    } else if rec.seq + 1 == p.expect_seq && rec.status == Status::Queued {
        Some(Status::Delivered)
    } else {
        None // out of order or already applied: the store decides.
    };
    if let Some(mut at) = start {
        let mut used: Vec<&str> = Vec::new();
        for s in &p.steps {
            let by =
                s.by.ok_or_else(|| invalid("every step says which side made it"))?;
            if by == Side::Requesting {
                // The requested node writes a requesting-side step only as the answer to a
                // proposal this node made, once.
                let pid = answered_proposal(&rec, s, &used)?;
                used.push(pid);
            }
            lifecycle::find(at, s.status, rec.request_type, by).map_err(|_| {
                invalid(format!(
                    "{} -> {} by the {} side is not a move the lifecycle allows for a {} request",
                    at.as_str(),
                    s.status.as_str(),
                    by.as_str(),
                    rec.request_type.as_str()
                ))
            })?;
            at = s.status;
        }
    }
    let last = p.steps.last().map(|s| s.status);
    match (&p.decision, last) {
        (Some(d), Some(l)) if d.status() == l => {
            if let Decision::Refuse { .. } = d {
                let body = serde_json::to_value(d).map_err(NodeError::internal)?;
                request::validate_decision(&body, rec.request_type, facts_of(state, sender, &rec))
                    .map_err(|e| {
                        invalid(format!(
                            "refusal: {}",
                            e.iter()
                                .map(|e| e.message.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ))
                    })?;
            }
        }
        (None, Some(l))
            if !matches!(
                l,
                Status::Accepted | Status::AcceptedWithConditions | Status::Refused
            ) => {}
        _ => {
            return Err(invalid(
                "a decision travels with, and only with, its status",
            ));
        }
    }
    let min = preserved_until(
        &rec,
        p.decision.as_ref(),
        p.steps.last().map_or(p.delivered_at, |s| s.at),
    );
    match (min, p.preserved_until) {
        (Some(min), Some(until)) if until >= min => {}
        (Some(_), _) => {
            return Err(invalid(format!(
                "an accepted preservation is preserved for at least {} days after acceptance, or the longer period asked for ({})",
                hanoinet_core::catalogue::art42::MINIMUM_PERIOD_DAYS,
                hanoinet_core::catalogue::art42::MINIMUM_PERIOD
            )));
        }
        (None, None) => {}
        (None, Some(_)) => {
            return Err(invalid(
                "only an accepted preservation is preserved until a date",
            ));
        }
    }
    let events: Vec<StatusEvent> = p.steps.iter().map(StatusEvent::from).collect();
    let ledger = decision_attrs(
        state,
        received_entry(state, Event::StatusReceived, env, rec.id).attr(
            "to",
            events
                .iter()
                .map(|e| e.status.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        p.decision.as_ref(),
    );
    let decided_at = p.steps.last().map_or(p.delivered_at, |s| s.at);
    let t = Transition {
        decision: decision_at(p.decision.as_ref(), decided_at)?,
        preserved_until: p.preserved_until,
        fill_delivered: Some(p.delivered_at),
        replay_ok: true,
        ..Transition::new(rec.id, Direction::Outgoing, p.expect_seq, events)
    };
    Ok(Inbound {
        effect: hanoinet_store::InboundEffect::Transition(Box::new(t)),
        ledger,
        head: p.tree_head,
    })
}

/// A note received from a peer follows the same text policy as one typed here.
pub fn check_note(note: Option<&str>) -> NodeResult<()> {
    let Some(n) = note else { return Ok(()) };
    match hanoinet_core::text::clean(n, request::MAX_TEXT_CHARS, hanoinet_core::text::Lines::Many) {
        Ok(t) if t == n => Ok(()),
        Ok(_) => Err(invalid("a note is sent trimmed")),
        Err(e) => Err(invalid(format!("a note {e}"))),
    }
}

/// The proposal (sent by this node, for this status, pending) that a requesting-side step of a
/// `status_update` answers; `used` are proposals answered earlier in the same update.
pub(crate) fn answered_proposal<'a>(
    rec: &RequestRecord,
    s: &'a Step,
    used: &[&str],
) -> NodeResult<&'a str> {
    let pid = s
        .details
        .as_ref()
        .and_then(|d| d.as_object())
        .filter(|d| d.len() == 1)
        .and_then(|d| d.get("proposal_id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid("a requesting-side step names the proposal it answers (details.proposal_id)")
        })?;
    let sent = rec.messages.iter().any(|m| {
        m.kind == MessageKind::Proposal
            && m.direction == Flow::Sent
            && m.id == pid
            && m.body.get("status").and_then(Value::as_str) == Some(s.status.as_str())
    });
    let declined = rec
        .messages
        .iter()
        .any(|m| m.kind == MessageKind::ProposalDeclined && m.in_reply_to.as_deref() == Some(pid));
    let applied = used.contains(&pid) || rec.history.iter().any(|e| step_proposal(e) == Some(pid));
    if !sent || declined || applied {
        return Err(invalid(format!(
            "{} by the requesting side does not answer a pending proposal this node sent",
            s.status.as_str()
        )));
    }
    Ok(pid)
}

/// The proposal a requesting-side step answered, if any.
pub fn step_proposal(e: &StatusEvent) -> Option<&str> {
    e.details.as_ref()?.get("proposal_id")?.as_str()
}

hanoinet_core::names! {
    /// Where a proposal this node sent stands.
    pub enum ProposalState {
        /// Not answered yet.
        Pending => "pending",
        /// The requesting side made the move (its step names the proposal).
        Applied => "applied",
        /// The requesting side declined it.
        Declined => "declined",
    }
}

/// The state of `msg` if it is a proposal this node sent; `None` for any other message.
pub fn proposal_state(msg: &Message, r: &RequestRecord) -> Option<ProposalState> {
    if msg.kind != MessageKind::Proposal || msg.direction != Flow::Sent {
        return None;
    }
    let declined = r.messages.iter().any(|m| {
        m.kind == MessageKind::ProposalDeclined && m.in_reply_to.as_deref() == Some(msg.id.as_str())
    });
    let applied = r
        .history
        .iter()
        .any(|e| step_proposal(e) == Some(msg.id.as_str()));
    Some(if declined {
        ProposalState::Declined
    } else if applied {
        ProposalState::Applied
    } else {
        ProposalState::Pending
    })
}

/// A `status_proposal` from the requesting node: applied and echoed if the table allows it now,
/// otherwise declined with a message.
pub async fn inbound_proposal(
    state: &Node,
    env: &Envelope,
    p: ProposalPayload,
) -> NodeResult<Inbound> {
    let sender = &env.header.from;
    let rec = peer_request(state, p.request_id, sender, Direction::Incoming).await?;
    check_note(p.note.as_deref())?;
    if uuid::Uuid::parse_str(&p.proposal_id).is_err() {
        return Err(invalid("a proposal id is a UUID"));
    }
    let now = state.clock.now();
    let base = received_entry(state, Event::StatusReceived, env, rec.id)
        .attr("proposal", p.status.as_str());
    let received = Message {
        id: p.proposal_id.clone(),
        request_id: rec.id,
        direction: Flow::Received,
        kind: MessageKind::Proposal,
        body: json!({"status": p.status.as_str(), "note": p.note}),
        at: now,
        in_reply_to: None,
    };
    match lifecycle::find(rec.status, p.status, rec.request_type, Side::Requesting) {
        Ok(t) if !matches!(t.needs, Needs::Note(_)) || p.note.is_some() => {
            let mut step = event(p.status, now, Side::Requesting);
            step.note = p.note.clone();
            step.details = Some(json!({ "proposal_id": p.proposal_id }));
            let payload = StatusUpdatePayload {
                request_id: rec.id,
                expect_seq: rec.seq,
                steps: vec![Step::from(&step)],
                delivered_at: delivered_at(&rec),
                decision: None,
                preserved_until: None,
                tree_head: crate::ops::ledger::cached_head(state),
            };
            let echo = crate::ops::outbound::seal(state, sender, None, &payload, now)?;
            let t = Transition {
                outbox: vec![outbox(&echo, rec.id, now)],
                messages: vec![received],
                ..Transition::new(rec.id, Direction::Incoming, rec.seq, vec![step])
            };
            Ok(Inbound {
                effect: hanoinet_store::InboundEffect::Transition(Box::new(t)),
                ledger: base.attr("outcome", ProposalState::Applied),
                head: p.tree_head,
            })
        }
        outcome => {
            let allowed: Vec<&str> = match outcome {
                Err(a) => a.iter().map(|s| s.as_str()).collect(),
                Ok(_) => vec![],
            };
            let id = uuid::Uuid::now_v7().to_string();
            let body = json!({
                "proposal_id": p.proposal_id,
                "proposed": p.status.as_str(),
                "status": rec.status.as_str(),
                "allowed": allowed,
                "reason": format!(
                    "the request is {} here; {} is not a move the requesting side can make now{}",
                    rec.status.as_str(),
                    p.status.as_str(),
                    if allowed.is_empty() { String::new() } else { format!(" (allowed: {})", allowed.join(", ")) }
                ),
            });
            let answer = send_message(
                state,
                &rec,
                sender,
                &id,
                MessageKind::ProposalDeclined,
                &body,
                Some(p.proposal_id.clone()),
                now,
            )?;
            let declined = Message {
                id,
                request_id: rec.id,
                direction: Flow::Sent,
                kind: MessageKind::ProposalDeclined,
                body,
                at: now,
                in_reply_to: Some(p.proposal_id.clone()),
            };
            Ok(Inbound {
                effect: hanoinet_store::InboundEffect::Message(
                    vec![received, declined],
                    Some(Box::new(outbox(&answer, rec.id, now))),
                ),
                ledger: base.attr("outcome", ProposalState::Declined),
                head: p.tree_head,
            })
        }
    }
}

/// A `request_message`: a status enquiry is answered at once with the request's status; an
/// answer or a declined proposal is recorded.
pub async fn inbound_message(
    state: &Node,
    env: &Envelope,
    p: MessagePayload,
) -> NodeResult<Inbound> {
    let sender = &env.header.from;
    let direction = match p.kind {
        MessageKind::StatusEnquiry | MessageKind::ExtensionRequest => Some(Direction::Incoming),
        MessageKind::StatusReply
        | MessageKind::ProposalDeclined
        | MessageKind::ExtensionGranted
        | MessageKind::ConfidentialityNotice => Some(Direction::Outgoing),
        MessageKind::OnwardRequest | MessageKind::OnwardAuthorization => None,
        // Proposals travel as `status_proposal` envelopes, never as messages.
        MessageKind::Proposal => {
            return Err(invalid(format!(
                "unknown message kind {:?}",
                p.kind.as_str()
            )));
        }
    };
    let rec = match direction {
        Some(d) => peer_request(state, p.request_id, sender, d).await?,
        None => peer_request_any(state, p.request_id, sender).await?,
    };
    if p.kind == MessageKind::OnwardAuthorization {
        // Kept only if the sender really signed it, for this node.
        let auth: hanoinet_protocol::authorization::OnwardAuthorization = p
            .body
            .get("authorization")
            .cloned()
            .and_then(|a| serde_json::from_value(a).ok())
            .ok_or_else(|| {
                invalid("an onward-transfer authorization carries its signed document")
            })?;
        if auth.grantor != *sender
            || auth.holder != state.id
            || !state.signed_by(sender, |k| auth.verify(k))
        {
            return Err(invalid(
                "the authorization is not signed by its sender for this node",
            ));
        }
    }
    let now = state.clock.now();
    let received = Message {
        id: p.message_id.clone(),
        request_id: rec.id,
        direction: Flow::Received,
        kind: p.kind,
        body: p.body.clone(),
        at: now,
        in_reply_to: p.in_reply_to.clone(),
    };
    let ledger =
        received_entry(state, Event::MessageReceived, env, rec.id).attr("kind", p.kind.as_str());
    if p.kind == MessageKind::ExtensionGranted {
        let until: jiff::Timestamp = p
            .body
            .get("preserved_until")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| invalid("an extension states the new preserved_until"))?;
        if rec.preserved_until.is_some_and(|u| until <= u) {
            return Err(invalid("an extension ends later than the current period"));
        }
        return Ok(Inbound {
            effect: hanoinet_store::InboundEffect::Extend {
                request_id: rec.id,
                until,
                message: Box::new(received),
            },
            ledger: ledger.attr("preserved_until", until.to_string()),
            head: p.tree_head,
        });
    }
    let (messages, answer) = if p.kind == MessageKind::StatusEnquiry {
        let id = uuid::Uuid::now_v7().to_string();
        let body = json!({
            "status": rec.status.as_str(),
            "steps": rec.seq,
            "updated_at": rec.updated_at,
            "allowed_next": allowed_moves(&state.policy, &rec).iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "answered_by": "node",
        });
        let env = send_message(
            state,
            &rec,
            sender,
            &id,
            MessageKind::StatusReply,
            &body,
            Some(p.message_id.clone()),
            now,
        )?;
        let reply = Message {
            id,
            request_id: rec.id,
            direction: Flow::Sent,
            kind: MessageKind::StatusReply,
            body,
            at: now,
            in_reply_to: Some(p.message_id.clone()),
        };
        (
            vec![received, reply],
            Some(Box::new(outbox(&env, rec.id, now))),
        )
    } else {
        (vec![received], None)
    };
    Ok(Inbound {
        effect: hanoinet_store::InboundEffect::Message(messages, answer),
        ledger,
        head: p.tree_head,
    })
}
