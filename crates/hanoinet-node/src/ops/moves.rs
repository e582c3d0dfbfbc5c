//! Moves a request through the lifecycle (`hanoinet_core::lifecycle::TRANSITIONS`) on either
//! side, and keeps both nodes' histories the same:
//!
//! - the requested node orders the history once the request is delivered: its own moves apply
//!   at once and travel as `status_update` envelopes; the requesting node applies them in order
//!   (an update that arrives early is refused and retried by the sender);
//! - the requesting side's moves after sending are proposals (`status_proposal`): the requested
//!   node applies them if the table still allows them and sends them back as a `status_update`,
//!   or declines them with a message naming the current status;
//! - before sending (draft, awaiting approval) the requesting node moves alone; queueing seals
//!   the request with its history so far.

use hanoinet_core::request::FieldCode;
use hanoinet_core::request::Flow;
use hanoinet_ledger::entry::actors;
use serde_json::{Value, json};

use hanoinet_core::lifecycle::{self, Needs, Side, Transition as Move_};
use hanoinet_core::policy::Policy;
use hanoinet_core::request::{
    self, Decision, Direction, FieldError, Move, RequestFacts, RequestType, RequestedStateFacts,
    Status,
};
use hanoinet_core::{NodeId, RequestId};
use hanoinet_ledger::Entry;
use hanoinet_ledger::entry::Event;
use hanoinet_protocol::Envelope;
use hanoinet_protocol::approval::{self, Approval};
use hanoinet_store::{
    Message, NewOutbox, RequestRecord, StatusEvent, Transition, Transitioned, User,
};

use crate::error::{Detail, NodeError, NodeResult};
use crate::node::Node;
use hanoinet_protocol::payload::{
    MessageKind, ProposalPayload, RequestPayload, StatusUpdatePayload, Step,
};

/// What became of a move asked for on the requesting node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// Made here (before sending, this node moves alone).
    Made,
    /// Sent to the requested node as a proposal; it applies or declines it.
    Proposed,
}

/// A validated move on `rec`, by whichever side this node is on: made here on the requested
/// node; on the requesting node made here before sending, proposed to the requested node after.
pub async fn apply(state: &Node, user: &User, rec: &RequestRecord, mv: Move) -> NodeResult<Moved> {
    match rec.direction {
        Direction::Incoming => move_requested(state, user, rec, mv)
            .await
            .map(|()| Moved::Made),
        Direction::Outgoing => move_requesting(state, user, rec, mv).await,
    }
}

/// The side this node is on for `rec`.
pub fn side(rec: &RequestRecord) -> Side {
    match rec.direction {
        Direction::Outgoing => Side::Requesting,
        Direction::Incoming => Side::Requested,
    }
}

/// Whether node policy forbids move `t` of `rec`: a type that needs four-eyes approval is
/// queued (sent) only by the approval move, never straight from a draft.
pub(crate) fn policy_forbids(policy: &Policy, rec: &RequestRecord, t: &Move_) -> bool {
    t.to == Status::Queued && t.needs != Needs::Approval && policy.needs_approval(rec.request_type)
}

/// The statuses this node's users may move `rec` to now.
pub fn allowed_moves(policy: &Policy, rec: &RequestRecord) -> Vec<Status> {
    let side = side(rec);
    let mut out: Vec<Status> = lifecycle::moves(rec.status, rec.request_type, side)
        .filter(|t| !policy_forbids(policy, rec, t))
        .map(|t| t.to)
        .collect();
    if side == Side::Requested && rec.status == Status::Delivered {
        // Answering a delivered request acknowledges it first.
        out.extend(lifecycle::moves(Status::Acknowledged, rec.request_type, side).map(|t| t.to));
    }
    out.dedup();
    out
}

/// What this node's State may cite when refusing `rec`.
pub fn own_facts(state: &Node, rec: &RequestRecord) -> RequestedStateFacts {
    facts_of(state, &state.id, rec)
}

/// What `node`'s State may cite when refusing `rec`: its reservations, and whether the request
/// concerns an offence outside the Convention's own (which the Art. 42(5) reservation covers).
pub(crate) fn facts_of(state: &Node, node: &NodeId, rec: &RequestRecord) -> RequestedStateFacts {
    let reg = state.registry();
    let entry = reg.state(&node.state());
    RequestedStateFacts {
        has_dual_criminality_reservation: entry
            .is_some_and(|s| s.has_dual_criminality_reservation()),
        requires_dual_criminality: entry.is_some_and(|s| s.requires_dual_criminality()),
        offence_outside_convention: rec.fields.get("offence_category").and_then(Value::as_str)
            == Some(hanoinet_core::request::SERIOUS_CRIME),
    }
}

pub(crate) fn conflict(rec: &RequestRecord, to: Status, allowed: &[Status]) -> NodeError {
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let list = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    NodeError::conflict(format!(
        "a {} request that is {} cannot move to {} from this node's side ({}); allowed now: {list}",
        rec.request_type.as_str(),
        rec.status.as_str(),
        to.as_str(),
        side(rec).as_str(),
    ))
    .with_detail(conflict_detail(rec, to, allowed))
}

fn conflict_detail(rec: &RequestRecord, to: Status, allowed: &[Status]) -> Detail {
    Detail {
        status: Some(rec.status),
        requested: Some(to),
        allowed: Some(allowed.to_vec()),
        ..Detail::default()
    }
}

pub(crate) fn missing_note(t: &Move_, what: &str) -> NodeError {
    let e = FieldError::new(
        "note",
        FieldCode::Missing,
        format!("note is required to move to {}: {what}", t.to.as_str()),
        t.article,
    );
    NodeError::Invalid(vec![e])
}

pub(crate) fn check_needs(path: &[&Move_], mv: &Move) -> NodeResult<()> {
    for t in path {
        if let Needs::Note(what) = t.needs
            && mv.note.is_none()
        {
            return Err(missing_note(t, what));
        }
    }
    Ok(())
}

pub(crate) fn details_of(decision: Option<&Decision>) -> Option<Value> {
    decision.and_then(|d| serde_json::to_value(d).ok())
}

pub(crate) fn event(status: Status, at: jiff::Timestamp, by: Side) -> StatusEvent {
    StatusEvent {
        by: Some(by),
        ..StatusEvent::new(status, at)
    }
}

pub(crate) fn stale(rec: &RequestRecord, outcome: Transitioned) -> NodeResult<()> {
    match outcome {
        Transitioned::Recorded => Ok(()),
        Transitioned::NotFound => Err(NodeError::not_found(format!("no request {}", rec.id))),
        Transitioned::Stale { status, .. } => Err(NodeError::conflict(format!(
            "the request moved on meanwhile (it is now {}); reload it and try again",
            status.as_str()
        ))
        .with_detail(Detail::status(status))),
    }
}

pub(crate) fn ledger_move(
    state: &Node,
    actor: String,
    rec: &RequestRecord,
    by: Side,
    steps: &[StatusEvent],
    env: Option<&Envelope>,
    decision: Option<&Decision>,
) -> Entry {
    let mut e = crate::ops::ledger::entry(
        state,
        Event::StatusChanged,
        actor,
        format!("request:{}", rec.id),
    )
    .attr("from", rec.status.as_str())
    .attr(
        "to",
        steps
            .iter()
            .map(|s| s.status.as_str())
            .collect::<Vec<_>>()
            .join(","),
    )
    .attr("by", by.as_str());
    if let Some(env) = env {
        e = e
            .attr("envelope", env.header.id.to_string())
            .attr("envelope_hash", hex::encode(env.hash()));
    }
    decision_attrs(state, e, decision)
}

pub(crate) fn decision_attrs(state: &Node, mut e: Entry, decision: Option<&Decision>) -> Entry {
    match decision {
        Some(Decision::Refuse {
            grounds,
            explanation,
        }) => {
            let codes: Vec<&str> = grounds.iter().map(|g| g.code()).collect();
            e = e.attr("grounds", codes.join(",")).attr(
                "explanation",
                crate::ops::ledger::commit(state, explanation.as_bytes()),
            );
        }
        Some(Decision::AcceptWithConditions { conditions }) => {
            e = e.attr(
                "conditions",
                crate::ops::ledger::commit(state, conditions.as_bytes()),
            );
        }
        _ => {}
    }
    e
}

/// A decision as stored: its JSON text and when it was made.
pub(crate) fn decision_at(
    d: Option<&Decision>,
    at: jiff::Timestamp,
) -> NodeResult<Option<(String, jiff::Timestamp)>> {
    d.map(|d| Ok((serde_json::to_string(d).map_err(NodeError::internal)?, at)))
        .transpose()
}

pub(crate) fn delivered_at(rec: &RequestRecord) -> jiff::Timestamp {
    rec.history
        .iter()
        .find(|e| e.status == Status::Delivered)
        .map_or(rec.created_at, |e| e.at)
}

pub(crate) fn preserved_until(
    rec: &RequestRecord,
    decision: Option<&Decision>,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let accepted = matches!(
        decision,
        Some(Decision::Accept | Decision::AcceptWithConditions { .. })
    );
    (accepted && rec.request_type == RequestType::Preservation).then(|| {
        let asked = rec
            .fields
            .get("requested_period_days")
            .and_then(Value::as_i64);
        request::preserved_until(now, asked)
    })
}

/// The requested node moves an incoming request (acknowledging it first if it is only
/// delivered), records the move and sends it to the requesting node.
pub async fn move_requested(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
) -> NodeResult<()> {
    let path = lifecycle::path_for_requested(rec.status, mv.to, rec.request_type)
        .map_err(|allowed| conflict(rec, mv.to, &allowed))?;
    check_needs(&path, &mv)?;
    apply_requested(
        state,
        crate::ops::ledger::user_actor(user),
        Side::Requested,
        rec,
        &path,
        mv,
    )
    .await
}

/// The requested node's own clock moves a request (a preservation period ends).
pub async fn move_system(state: &Node, rec: &RequestRecord, to: Status) -> NodeResult<()> {
    let t = lifecycle::find(rec.status, to, rec.request_type, Side::System)
        .map_err(|allowed| conflict(rec, to, &allowed))?;
    let mv = Move {
        to,
        note: None,
        decision: None,
    };
    apply_requested(state, actors::SYSTEM.into(), Side::System, rec, &[t], mv).await
}

pub(crate) async fn apply_requested(
    state: &Node,
    actor: String,
    by: Side,
    rec: &RequestRecord,
    path: &[&Move_],
    mv: Move,
) -> NodeResult<()> {
    if rec.direction != Direction::Incoming {
        return Err(NodeError::internal(
            "only the requested node orders the history",
        ));
    }
    let now = state.clock.now();
    let mut steps: Vec<StatusEvent> = path.iter().map(|t| event(t.to, now, by)).collect();
    if let Some(last) = steps.last_mut() {
        last.note = mv.note.clone();
        last.details = details_of(mv.decision.as_ref());
    }
    let preserved_until = preserved_until(rec, mv.decision.as_ref(), now);
    let payload = StatusUpdatePayload {
        request_id: rec.id,
        expect_seq: rec.seq,
        steps: steps.iter().map(Step::from).collect(),
        delivered_at: delivered_at(rec),
        decision: mv.decision.clone(),
        preserved_until,
        tree_head: crate::ops::ledger::cached_head(state),
    };
    let env = crate::ops::outbound::seal(state, &rec.from, None, &payload, now)?;
    let ledger = ledger_move(
        state,
        actor,
        rec,
        by,
        &steps,
        Some(&env),
        mv.decision.as_ref(),
    );
    let t = Transition {
        decision: decision_at(mv.decision.as_ref(), now)?,
        preserved_until,
        outbox: vec![outbox(&env, rec.id, now)],
        ledger: vec![ledger.encode()],
        ..Transition::new(rec.id, Direction::Incoming, rec.seq, steps)
    };
    stale(rec, state.store.transition(&t).await?)?;
    state.outbox_wake.notify_one();
    tracing::info!(request = %rec.id, to = mv.to.as_str(), "status changed");
    Ok(())
}

pub(crate) fn outbox(env: &Envelope, request_id: RequestId, now: jiff::Timestamp) -> NewOutbox {
    NewOutbox {
        envelope_id: env.header.id,
        peer: env.header.to.clone(),
        kind: env.header.kind.as_str().into(),
        request_id,
        envelope: env.to_json(),
        created_at: now,
        chunk: None,
    }
}

/// The requesting node moves an outgoing request: alone before sending (answering `201`), or
/// by proposing the move to the requested node (answering `202`: it applies when the requested
/// node confirms it).
pub async fn move_requesting(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
) -> NodeResult<Moved> {
    let t = lifecycle::find(rec.status, mv.to, rec.request_type, Side::Requesting)
        .map_err(|allowed| conflict(rec, mv.to, &allowed))?;
    if policy_forbids(&state.policy, rec, t) {
        let allowed = allowed_moves(&state.policy, rec);
        return Err(NodeError::conflict_in(
            format!(
                "four eyes: this node's policy requires a supervisor other than the author to approve every {} request before it is sent; submit it for approval (awaiting_approval)",
                rec.request_type.as_str()
            ),
            conflict_detail(rec, mv.to, &allowed),
        ));
    }
    check_needs(&[t], &mv)?;
    if t.needs == Needs::Approval {
        if user.role != hanoinet_core::access::Role::Supervisor {
            return Err(NodeError::forbidden(
                "approving a request needs a supervisor of this node",
            ));
        }
        if rec.created_by.as_deref() == Some(user.name.as_str()) {
            return Err(NodeError::forbidden(
                "four eyes: the author of a request may not approve it; another supervisor must",
            ));
        }
    }
    let now = state.clock.now();
    if !rec.status.before_sending() {
        propose(state, user, rec, mv, now).await?;
        return Ok(Moved::Proposed);
    }
    let mut step = event(mv.to, now, Side::Requesting);
    step.note = mv.note.clone();
    let mut approval = None;
    if t.needs == Needs::Approval {
        let author = match &rec.created_by {
            Some(name) => state.store.user_by_name(name).await?.map(|u| u.id),
            None => None,
        }
        .ok_or_else(|| NodeError::internal("the author of an outgoing request is not a user"))?;
        let a = Approval::sign(
            rec.id,
            rec.envelope_id,
            state.id.clone(),
            &crate::ops::ledger::user_actor(user),
            approval::SUPERVISOR,
            &format!("user:{author}"),
            now,
            &state.keys(),
        );
        step.details = Some(json!({ "approval": a }));
        approval = Some(a);
    }
    let mut out = Vec::new();
    let mut env_hash = None;
    if mv.to == Status::Queued {
        // Sending now: the legal gate and links are checked again, on today's date.
        let facts = RequestFacts::of(rec.fields.as_object().unwrap_or(&serde_json::Map::new()))
            .ok_or_else(|| NodeError::internal("stored fields lack their facts"))?;
        crate::ops::gate::check(state, &state.id, &rec.to, &facts)
            .await?
            .map_err(NodeError::Invalid)?;
        let mut history: Vec<Step> = rec.history.iter().map(Step::from).collect();
        history.push(Step::from(&step));
        let payload = RequestPayload {
            request_id: rec.id,
            request_type: rec.request_type,
            created_at: rec.created_at,
            fields: rec.fields.as_object().cloned().unwrap_or_default(),
            history,
            approval,
            tree_head: crate::ops::ledger::cached_head(state),
        };
        let env = crate::ops::outbound::seal_with_id(
            state,
            rec.envelope_id,
            &rec.to,
            None,
            &payload,
            now,
        )?;
        env_hash = Some(hex::encode(env.hash()));
        out.push(outbox(&env, rec.id, now));
    }
    let mut ledger = ledger_move(
        state,
        crate::ops::ledger::user_actor(user),
        rec,
        Side::Requesting,
        std::slice::from_ref(&step),
        None,
        None,
    );
    if let Some(h) = env_hash {
        ledger = ledger
            .attr("envelope", rec.envelope_id.to_string())
            .attr("envelope_hash", h);
    }
    let tr = Transition {
        outbox: out,
        ledger: vec![ledger.encode()],
        ..Transition::new(rec.id, Direction::Outgoing, rec.seq, vec![step])
    };
    stale(rec, state.store.transition(&tr).await?)?;
    state.outbox_wake.notify_one();
    Ok(Moved::Made)
}

pub(crate) async fn propose(
    state: &Node,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
    now: jiff::Timestamp,
) -> NodeResult<()> {
    let proposal_id = uuid::Uuid::now_v7().to_string();
    let payload = ProposalPayload {
        request_id: rec.id,
        proposal_id: proposal_id.clone(),
        status: mv.to,
        note: mv.note.clone(),
        seen_seq: rec.seq,
        tree_head: crate::ops::ledger::cached_head(state),
    };
    let env = crate::ops::outbound::seal(state, &rec.to, None, &payload, now)?;
    let message = Message {
        id: proposal_id,
        request_id: rec.id,
        direction: Flow::Sent,
        kind: MessageKind::Proposal,
        body: json!({"status": mv.to.as_str(), "note": mv.note}),
        at: now,
        in_reply_to: None,
    };
    let ledger = crate::ops::ledger::entry(
        state,
        Event::MessageSent,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("kind", MessageKind::Proposal)
    .attr("status", mv.to.as_str())
    .attr("envelope", env.header.id.to_string())
    .attr("envelope_hash", hex::encode(env.hash()));
    state
        .store
        .add_message(
            &message,
            Some(&outbox(&env, rec.id, now)),
            &[ledger.encode()],
        )
        .await?;
    state.outbox_wake.notify_one();
    Ok(())
}
