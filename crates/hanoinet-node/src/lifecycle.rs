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

use axum::http::StatusCode;
use serde_json::{Value, json};

use hanoinet_core::catalogue::art40;
use hanoinet_core::lifecycle::{self, Needs, Side, Transition as Move_};
use hanoinet_core::policy::Policy;
use hanoinet_core::request::{
    self, Decision, Direction, FieldError, Move, RequestFacts, RequestType, RequestedStateFacts,
    Status,
};
use hanoinet_core::{NodeId, RequestId};
use hanoinet_ledger::Entry;
use hanoinet_ledger::entry::events;
use hanoinet_protocol::approval::{self, Approval};
use hanoinet_protocol::{Envelope, Kind};
use hanoinet_store::{
    Message, NewOutbox, RequestRecord, StatusEvent, Transition, Transitioned, User,
};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::payload::{
    MessagePayload, ProposalPayload, RequestPayload, StatusUpdatePayload, Step, messages,
};
use crate::server::AppState;

/// The side this node is on for `rec`.
pub fn side(rec: &RequestRecord) -> Side {
    match rec.direction {
        Direction::Outgoing => Side::Requesting,
        Direction::Incoming => Side::Requested,
    }
}

pub fn side_str(side: Side) -> &'static str {
    match side {
        Side::Requesting => "requesting",
        Side::Requested => "requested",
        Side::System => "system",
    }
}

fn parse_side(s: Option<&str>) -> Option<Side> {
    match s {
        Some("requesting") => Some(Side::Requesting),
        Some("requested") => Some(Side::Requested),
        Some("system") => Some(Side::System),
        _ => None,
    }
}

/// Whether node policy forbids move `t` of `rec`: a type that needs four-eyes approval is
/// queued (sent) only by the approval move, never straight from a draft.
fn policy_forbids(policy: &Policy, rec: &RequestRecord, t: &Move_) -> bool {
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
pub fn own_facts(state: &AppState, rec: &RequestRecord) -> RequestedStateFacts {
    facts_of(state, &state.id, rec)
}

/// What `node`'s State may cite when refusing `rec`: its reservations, and whether the request
/// concerns an offence outside the Convention's own (which the Art. 42(5) reservation covers).
fn facts_of(state: &AppState, node: &NodeId, rec: &RequestRecord) -> RequestedStateFacts {
    let entry = state.registry.state(&node.state());
    RequestedStateFacts {
        has_dual_criminality_reservation: entry
            .is_some_and(|s| s.has_dual_criminality_reservation()),
        requires_dual_criminality: entry.is_some_and(|s| s.requires_dual_criminality()),
        offence_outside_convention: rec.fields.get("offence_category").and_then(Value::as_str)
            == Some(hanoinet_core::request::SERIOUS_CRIME),
    }
}

fn conflict(rec: &RequestRecord, to: Status, allowed: &[Status]) -> ApiError {
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    let list = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    ApiError::new(
        ErrorCode::Conflict,
        format!(
            "a {} request that is {} cannot move to {} from this node's side ({}); allowed now: {list}",
            rec.request_type.as_str(),
            rec.status.as_str(),
            to.as_str(),
            side_str(side(rec)),
        ),
    )
    .with_details(vec![json!({
        "status": rec.status.as_str(),
        "requested": to.as_str(),
        "allowed": names,
    })])
}

fn missing_note(t: &Move_, what: &str) -> ApiError {
    let e = FieldError::new(
        "note",
        "missing",
        format!("note is required to move to {}: {what}", t.to.as_str()),
        t.article,
    );
    crate::api::validation_failed(vec![e])
}

fn check_needs(path: &[&Move_], mv: &Move) -> ApiResult<()> {
    for t in path {
        if let Needs::Note(what) = t.needs
            && mv.note.is_none()
        {
            return Err(missing_note(t, what));
        }
    }
    Ok(())
}

fn details_of(decision: Option<&Decision>) -> Option<Value> {
    decision.and_then(|d| serde_json::to_value(d).ok())
}

fn event(status: Status, at: jiff::Timestamp, by: Side) -> StatusEvent {
    StatusEvent {
        by: Some(side_str(by).into()),
        ..StatusEvent::new(status, at)
    }
}

fn stale(rec: &RequestRecord, outcome: Transitioned) -> ApiResult<()> {
    match outcome {
        Transitioned::Recorded => Ok(()),
        Transitioned::NotFound => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no request {}", rec.id),
        )),
        Transitioned::Stale { status, .. } => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the request moved on meanwhile (it is now {}); reload it and try again",
                status.as_str()
            ),
        )
        .with_details(vec![json!({"status": status.as_str()})])),
    }
}

fn ledger_move(
    state: &AppState,
    actor: String,
    rec: &RequestRecord,
    by: Side,
    steps: &[StatusEvent],
    env: Option<&Envelope>,
    decision: Option<&Decision>,
) -> Entry {
    let mut e = crate::ledger::entry(
        state,
        events::STATUS_CHANGED,
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
    .attr("by", side_str(by));
    if let Some(env) = env {
        e = e
            .attr("envelope", env.header.id.to_string())
            .attr("envelope_hash", hex::encode(env.hash()));
    }
    decision_attrs(state, e, decision)
}

fn decision_attrs(state: &AppState, mut e: Entry, decision: Option<&Decision>) -> Entry {
    match decision {
        Some(Decision::Refuse {
            grounds,
            explanation,
        }) => {
            let codes: Vec<&str> = grounds.iter().map(|g| g.code()).collect();
            e = e.attr("grounds", codes.join(",")).attr(
                "explanation",
                crate::ledger::commit(state, explanation.as_bytes()),
            );
        }
        Some(Decision::AcceptWithConditions { conditions }) => {
            e = e.attr(
                "conditions",
                crate::ledger::commit(state, conditions.as_bytes()),
            );
        }
        _ => {}
    }
    e
}

/// A decision as stored: its JSON text and when it was made.
fn decision_at(
    d: Option<&Decision>,
    at: jiff::Timestamp,
) -> ApiResult<Option<(String, jiff::Timestamp)>> {
    d.map(|d| Ok((serde_json::to_string(d).map_err(ApiError::internal)?, at)))
        .transpose()
}

fn delivered_at(rec: &RequestRecord) -> jiff::Timestamp {
    rec.history
        .iter()
        .find(|e| e.status == Status::Delivered)
        .map_or(rec.created_at, |e| e.at)
}

fn preserved_until(
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
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
) -> ApiResult<()> {
    let path = lifecycle::path_for_requested(rec.status, mv.to, rec.request_type)
        .map_err(|allowed| conflict(rec, mv.to, &allowed))?;
    check_needs(&path, &mv)?;
    apply_requested(
        state,
        crate::ledger::user_actor(user),
        Side::Requested,
        rec,
        &path,
        mv,
    )
    .await
}

/// The requested node's own clock moves a request (a preservation period ends).
pub async fn move_system(state: &AppState, rec: &RequestRecord, to: Status) -> ApiResult<()> {
    let t = lifecycle::find(rec.status, to, rec.request_type, Side::System)
        .map_err(|allowed| conflict(rec, to, &allowed))?;
    let mv = Move {
        to,
        note: None,
        decision: None,
    };
    apply_requested(state, "system".into(), Side::System, rec, &[t], mv).await
}

async fn apply_requested(
    state: &AppState,
    actor: String,
    by: Side,
    rec: &RequestRecord,
    path: &[&Move_],
    mv: Move,
) -> ApiResult<()> {
    if rec.direction != Direction::Incoming {
        return Err(ApiError::internal(
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
        tree_head: crate::ledger::cached_head(state),
    };
    let env = crate::outbound::seal(state, &rec.from, Kind::STATUS_UPDATE, None, &payload, now)?;
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

fn outbox(env: &Envelope, request_id: RequestId, now: jiff::Timestamp) -> NewOutbox {
    NewOutbox {
        envelope_id: env.header.id,
        peer: env.header.to.clone(),
        kind: env.header.kind.as_str().into(),
        request_id,
        envelope: env.to_json(),
        created_at: now,
    }
}

/// The requesting node moves an outgoing request: alone before sending (answering `201`), or
/// by proposing the move to the requested node (answering `202`: it applies when the requested
/// node confirms it).
pub async fn move_requesting(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
) -> ApiResult<StatusCode> {
    let t = lifecycle::find(rec.status, mv.to, rec.request_type, Side::Requesting)
        .map_err(|allowed| conflict(rec, mv.to, &allowed))?;
    if policy_forbids(&state.policy, rec, t) {
        let allowed = allowed_moves(&state.policy, rec);
        let mut e = conflict(rec, mv.to, &allowed);
        e.message = format!(
            "four eyes: this node's policy requires a supervisor other than the author to approve every {} request before it is sent; submit it for approval (awaiting_approval)",
            rec.request_type.as_str()
        );
        return Err(e);
    }
    check_needs(&[t], &mv)?;
    if t.needs == Needs::Approval {
        if user.role != hanoinet_core::access::Role::Supervisor {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "approving a request needs a supervisor of this node",
            ));
        }
        if rec.created_by.as_deref() == Some(user.name.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "four eyes: the author of a request may not approve it; another supervisor must",
            ));
        }
    }
    let now = state.clock.now();
    if !rec.status.before_sending() {
        propose(state, user, rec, mv, now).await?;
        return Ok(StatusCode::ACCEPTED);
    }
    let mut step = event(mv.to, now, Side::Requesting);
    step.note = mv.note.clone();
    let mut approval = None;
    if t.needs == Needs::Approval {
        let author = match &rec.created_by {
            Some(name) => state.store.user_by_name(name).await?.map(|u| u.id),
            None => None,
        }
        .ok_or_else(|| ApiError::internal("the author of an outgoing request is not a user"))?;
        let a = Approval::sign(
            rec.id,
            rec.envelope_id,
            state.id.clone(),
            &crate::ledger::user_actor(user),
            approval::SUPERVISOR,
            &format!("user:{author}"),
            now,
            &state.keys,
        );
        step.details = Some(json!({ "approval": a }));
        approval = Some(a);
    }
    let mut out = Vec::new();
    let mut env_hash = None;
    if mv.to == Status::Queued {
        // Sending now: the legal gate and links are checked again, on today's date.
        let facts = RequestFacts::of(rec.fields.as_object().unwrap_or(&serde_json::Map::new()))
            .ok_or_else(|| ApiError::internal("stored fields lack their facts"))?;
        crate::gate::check(state, &state.id, &rec.to, &facts)
            .await?
            .map_err(crate::api::validation_failed)?;
        let mut history: Vec<Step> = rec.history.iter().map(Step::from).collect();
        history.push(Step::from(&step));
        let payload = RequestPayload {
            request_id: rec.id,
            request_type: rec.request_type,
            created_at: rec.created_at,
            fields: rec.fields.as_object().cloned().unwrap_or_default(),
            history,
            approval,
            tree_head: crate::ledger::cached_head(state),
        };
        let env = crate::outbound::seal_with_id(
            state,
            rec.envelope_id,
            &rec.to,
            Kind::PRESERVATION_REQUEST,
            None,
            &payload,
            now,
        )?;
        env_hash = Some(hex::encode(env.hash()));
        out.push(outbox(&env, rec.id, now));
    }
    let mut ledger = ledger_move(
        state,
        crate::ledger::user_actor(user),
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
    Ok(StatusCode::CREATED)
}

async fn propose(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    mv: Move,
    now: jiff::Timestamp,
) -> ApiResult<()> {
    let proposal_id = uuid::Uuid::now_v7().to_string();
    let payload = ProposalPayload {
        request_id: rec.id,
        proposal_id: proposal_id.clone(),
        status: mv.to,
        note: mv.note.clone(),
        seen_seq: rec.seq,
        tree_head: crate::ledger::cached_head(state),
    };
    let env = crate::outbound::seal(state, &rec.to, Kind::STATUS_PROPOSAL, None, &payload, now)?;
    let message = Message {
        id: proposal_id,
        request_id: rec.id,
        direction: "sent".into(),
        kind: messages::PROPOSAL.into(),
        body: json!({"status": mv.to.as_str(), "note": mv.note}),
        at: now,
        in_reply_to: None,
    };
    let ledger = crate::ledger::entry(
        state,
        events::MESSAGE_SENT,
        crate::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("kind", messages::PROPOSAL)
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

/// `POST .../status-enquiry`: asks the requested node where the request stands; its node
/// answers automatically with a `status_reply` (Art. 40).
pub async fn status_enquiry(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    note: Option<String>,
) -> ApiResult<Message> {
    if rec.direction != Direction::Outgoing || rec.status.before_sending() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "a status enquiry is made by the requesting node about a request it has sent",
        )
        .with_details(vec![
            json!({"status": rec.status.as_str(), "direction": rec.direction.as_str()}),
        ]));
    }
    let body = json!({"note": note, "article": art40::EXECUTION_AND_STATUS.to_string()});
    send_recorded(state, user, rec, &rec.to, messages::STATUS_ENQUIRY, body).await
}

/// A message about `rec` to `to`, sealed, with its record and ledger entry, ready to store.
pub struct Prepared {
    pub message: Message,
    pub outbox: NewOutbox,
    pub ledger: Entry,
}

/// Prepares a message from `user` about `rec` to `to`.
pub fn prepare_message(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    to: &NodeId,
    kind: &str,
    body: Value,
    in_reply_to: Option<String>,
) -> ApiResult<Prepared> {
    let now = state.clock.now();
    let id = uuid::Uuid::now_v7().to_string();
    let env = send_message(state, rec, to, &id, kind, &body, in_reply_to.clone(), now)?;
    let ledger = crate::ledger::entry(
        state,
        events::MESSAGE_SENT,
        crate::ledger::user_actor(user),
        format!("request:{}", rec.id),
    )
    .attr("kind", kind)
    .attr("envelope", env.header.id.to_string())
    .attr("envelope_hash", hex::encode(env.hash()));
    Ok(Prepared {
        message: Message {
            id,
            request_id: rec.id,
            direction: "sent".into(),
            kind: kind.into(),
            body,
            at: now,
            in_reply_to,
        },
        outbox: outbox(&env, rec.id, now),
        ledger,
    })
}

/// Sends a message from `user` about `rec` to `to` and records it.
pub async fn send_recorded(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    to: &NodeId,
    kind: &str,
    body: Value,
) -> ApiResult<Message> {
    let p = prepare_message(state, user, rec, to, kind, body, None)?;
    state
        .store
        .add_message(&p.message, Some(&p.outbox), &[p.ledger.encode()])
        .await?;
    state.outbox_wake.notify_one();
    Ok(p.message)
}

#[allow(clippy::too_many_arguments)]
fn send_message(
    state: &AppState,
    rec: &RequestRecord,
    to: &NodeId,
    id: &str,
    kind: &str,
    body: &Value,
    in_reply_to: Option<String>,
    now: jiff::Timestamp,
) -> ApiResult<Envelope> {
    let payload = MessagePayload {
        request_id: rec.id,
        message_id: id.to_owned(),
        kind: kind.to_owned(),
        body: body.clone(),
        in_reply_to,
        tree_head: crate::ledger::cached_head(state),
    };
    crate::outbound::seal(state, to, Kind::REQUEST_MESSAGE, None, &payload, now)
}

/// What an inbound lifecycle envelope does to this node.
pub struct Inbound {
    pub effect: hanoinet_store::InboundEffect,
    pub ledger: Entry,
    pub head: Option<hanoinet_ledger::SignedTreeHead>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidPayload, message)
}

async fn peer_request(
    state: &AppState,
    id: RequestId,
    sender: &NodeId,
    direction: Direction,
) -> ApiResult<RequestRecord> {
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

fn unknown_request(id: RequestId, sender: &NodeId) -> ApiError {
    ApiError::new(
        ErrorCode::UnknownRequest,
        format!("no request {id} shared with {sender} on this node (yet)"),
    )
}

/// The ledger entry for an envelope received about `request_id`: who sent it, which envelope.
pub fn received_entry(
    state: &AppState,
    event: &str,
    env: &hanoinet_protocol::Envelope,
    request_id: RequestId,
) -> Entry {
    crate::ledger::entry(
        state,
        event,
        crate::ledger::node_actor(&env.header.from),
        format!("request:{request_id}"),
    )
    .attr("envelope", env.header.id.to_string())
    .attr("envelope_hash", hex::encode(env.hash()))
}

/// A request `sender` shares with this node, whichever side this node is on.
pub async fn peer_request_any(
    state: &AppState,
    id: RequestId,
    sender: &NodeId,
) -> ApiResult<RequestRecord> {
    match state.store.get_request(id).await? {
        Some(r) if r.from == *sender || r.to == *sender => Ok(r),
        _ => Err(unknown_request(id, sender)),
    }
}

/// A `status_update` from the requested node: checked against the table step by step.
pub async fn inbound_update(
    state: &AppState,
    env: &Envelope,
    p: StatusUpdatePayload,
) -> ApiResult<Inbound> {
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
            let by = parse_side(s.by.as_deref())
                .ok_or_else(|| invalid("every step says which side made it"))?;
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
                    side_str(by),
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
                let body = serde_json::to_value(d).map_err(ApiError::internal)?;
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
        received_entry(state, events::STATUS_RECEIVED, env, rec.id).attr(
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
pub fn check_note(note: Option<&str>) -> ApiResult<()> {
    let Some(n) = note else { return Ok(()) };
    match hanoinet_core::text::clean(n, request::MAX_TEXT_CHARS, hanoinet_core::text::Lines::Many) {
        Ok(t) if t == n => Ok(()),
        Ok(_) => Err(invalid("a note is sent trimmed")),
        Err(e) => Err(invalid(format!("a note {e}"))),
    }
}

/// The proposal (sent by this node, for this status, pending) that a requesting-side step of a
/// `status_update` answers; `used` are proposals answered earlier in the same update.
fn answered_proposal<'a>(rec: &RequestRecord, s: &'a Step, used: &[&str]) -> ApiResult<&'a str> {
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
        m.kind == messages::PROPOSAL
            && m.direction == "sent"
            && m.id == pid
            && m.body.get("status").and_then(Value::as_str) == Some(s.status.as_str())
    });
    let declined = rec
        .messages
        .iter()
        .any(|m| m.kind == messages::PROPOSAL_DECLINED && m.in_reply_to.as_deref() == Some(pid));
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

/// A `status_proposal` from the requesting node: applied and echoed if the table allows it now,
/// otherwise declined with a message.
pub async fn inbound_proposal(
    state: &AppState,
    env: &Envelope,
    p: ProposalPayload,
) -> ApiResult<Inbound> {
    let sender = &env.header.from;
    let rec = peer_request(state, p.request_id, sender, Direction::Incoming).await?;
    check_note(p.note.as_deref())?;
    if uuid::Uuid::parse_str(&p.proposal_id).is_err() {
        return Err(invalid("a proposal id is a UUID"));
    }
    let now = state.clock.now();
    let base = received_entry(state, events::STATUS_RECEIVED, env, rec.id)
        .attr("proposal", p.status.as_str());
    let received = Message {
        id: p.proposal_id.clone(),
        request_id: rec.id,
        direction: "received".into(),
        kind: messages::PROPOSAL.into(),
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
                tree_head: crate::ledger::cached_head(state),
            };
            let echo =
                crate::outbound::seal(state, sender, Kind::STATUS_UPDATE, None, &payload, now)?;
            let t = Transition {
                outbox: vec![outbox(&echo, rec.id, now)],
                messages: vec![received],
                ..Transition::new(rec.id, Direction::Incoming, rec.seq, vec![step])
            };
            Ok(Inbound {
                effect: hanoinet_store::InboundEffect::Transition(Box::new(t)),
                ledger: base.attr("outcome", "applied"),
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
                messages::PROPOSAL_DECLINED,
                &body,
                Some(p.proposal_id.clone()),
                now,
            )?;
            let declined = Message {
                id,
                request_id: rec.id,
                direction: "sent".into(),
                kind: messages::PROPOSAL_DECLINED.into(),
                body,
                at: now,
                in_reply_to: Some(p.proposal_id.clone()),
            };
            Ok(Inbound {
                effect: hanoinet_store::InboundEffect::Message(
                    vec![received, declined],
                    Some(Box::new(outbox(&answer, rec.id, now))),
                ),
                ledger: base.attr("outcome", "declined"),
                head: p.tree_head,
            })
        }
    }
}

/// A `request_message`: a status enquiry is answered at once with the request's status; an
/// answer or a declined proposal is recorded.
pub async fn inbound_message(
    state: &AppState,
    env: &Envelope,
    p: MessagePayload,
) -> ApiResult<Inbound> {
    let sender = &env.header.from;
    let direction = match p.kind.as_str() {
        messages::STATUS_ENQUIRY | messages::EXTENSION_REQUEST => Some(Direction::Incoming),
        messages::STATUS_REPLY
        | messages::PROPOSAL_DECLINED
        | messages::EXTENSION_GRANTED
        | messages::CONFIDENTIALITY_NOTICE => Some(Direction::Outgoing),
        messages::ONWARD_REQUEST | messages::ONWARD_AUTHORIZATION => None,
        other => return Err(invalid(format!("unknown message kind {other:?}"))),
    };
    let rec = match direction {
        Some(d) => peer_request(state, p.request_id, sender, d).await?,
        None => peer_request_any(state, p.request_id, sender).await?,
    };
    if p.kind == messages::ONWARD_AUTHORIZATION {
        // Kept only if the sender really signed it, for this node.
        let auth: hanoinet_protocol::authorization::OnwardAuthorization = p
            .body
            .get("authorization")
            .cloned()
            .and_then(|a| serde_json::from_value(a).ok())
            .ok_or_else(|| {
                invalid("an onward-transfer authorization carries its signed document")
            })?;
        let keys = state
            .registry
            .node(sender)
            .and_then(|n| n.public_keys().ok())
            .ok_or_else(|| invalid("the sender has no keys in the registry"))?;
        if auth.grantor != *sender || auth.holder != state.id || !auth.verify(&keys) {
            return Err(invalid(
                "the authorization is not signed by its sender for this node",
            ));
        }
    }
    let now = state.clock.now();
    let received = Message {
        id: p.message_id.clone(),
        request_id: rec.id,
        direction: "received".into(),
        kind: p.kind.clone(),
        body: p.body.clone(),
        at: now,
        in_reply_to: p.in_reply_to.clone(),
    };
    let ledger =
        received_entry(state, events::MESSAGE_RECEIVED, env, rec.id).attr("kind", p.kind.as_str());
    if p.kind == messages::EXTENSION_GRANTED {
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
    let (messages, answer) = if p.kind == messages::STATUS_ENQUIRY {
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
            messages::STATUS_REPLY,
            &body,
            Some(p.message_id.clone()),
            now,
        )?;
        let reply = Message {
            id,
            request_id: rec.id,
            direction: "sent".into(),
            kind: messages::STATUS_REPLY.into(),
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

/// `POST .../confidentiality-notice` on the requested side: tells the requesting State promptly
/// that the request cannot be kept confidential (Art. 40(20)); it decides whether to proceed.
pub async fn confidentiality_notice(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    note: String,
) -> ApiResult<Message> {
    if rec.direction != Direction::Incoming {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the requested State's node gives this notice about a request it received",
        ));
    }
    let body = json!({"note": note, "article": art40::CONFIDENTIALITY.to_string()});
    send_recorded(
        state,
        user,
        rec,
        &rec.from,
        messages::CONFIDENTIALITY_NOTICE,
        body,
    )
    .await
}

/// `POST .../extension` on the requesting side: asks the requested node to keep the preserved
/// data `days` longer (Art. 42).
pub async fn request_extension(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    days: i64,
    reason: Option<String>,
) -> ApiResult<Message> {
    let body = json!({"days": days, "reason": reason, "preserved_until": rec.preserved_until});
    send_recorded(state, user, rec, &rec.to, messages::EXTENSION_REQUEST, body).await
}

/// `POST .../extension` on the requested side: keeps the data `days` longer and tells the
/// requesting node the new end.
pub async fn grant_extension(
    state: &AppState,
    user: &User,
    rec: &RequestRecord,
    days: i64,
    note: Option<String>,
) -> ApiResult<jiff::Timestamp> {
    let current = rec.preserved_until.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Conflict,
            "only a preservation in force can be extended",
        )
    })?;
    let until = current
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .map_err(ApiError::internal)?;
    let in_reply_to = rec
        .messages
        .iter()
        .rev()
        .find(|m| m.kind == messages::EXTENSION_REQUEST && m.direction == "received")
        .map(|m| m.id.clone());
    let body = json!({"days": days, "preserved_until": until, "note": note});
    let p = prepare_message(
        state,
        user,
        rec,
        &rec.from,
        messages::EXTENSION_GRANTED,
        body,
        in_reply_to,
    )?;
    let ledger = p.ledger.attr("preserved_until", until.to_string());
    if !state
        .store
        .extend_preservation(rec.id, until, &p.message, &p.outbox, &[ledger.encode()])
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the preservation is {} and cannot be extended now",
                rec.status.as_str()
            ),
        ));
    }
    state.outbox_wake.notify_one();
    Ok(until)
}
