//! Requests this node sends, and reading requests: creating one (queued, awaiting approval or
//! a draft), listing and opening them, each read recorded in the ledger.

use hanoinet_core::request::FieldCode;
use serde_json::Value;

use hanoinet_core::RequestId;
use hanoinet_core::request::{self, Direction, FieldError};
use hanoinet_ledger::entry::Event;
use hanoinet_protocol::KindName;
use hanoinet_store::{
    ListOrder, NewOutbox, NewOutgoing, NewRequest, RequestRecord, StatusEvent, User,
};

use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops::access::require_reader;
use hanoinet_protocol::payload::{RequestPayload, Step};

/// Most requests a list returns.
pub const MAX_LIST: i64 = 500;

fn field_error(field: &str, code: FieldCode, message: String) -> FieldError {
    FieldError::new(field, code, message, None)
}

/// Reads a new request as posted: its fields (validated by the catalogue's rules) and whether
/// it is a draft (`"draft": true` keeps it on this node until its author submits it).
pub fn parse_new(mut body: Value) -> NodeResult<(request::NewRequest, bool)> {
    let draft = match body.as_object_mut().and_then(|o| o.remove("draft")) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(NodeError::Invalid(vec![field_error(
                "draft",
                FieldCode::Invalid,
                "draft must be true or false".into(),
            )]));
        }
    };
    let new = request::validate_new_request(&body).map_err(NodeError::Invalid)?;
    Ok((new, draft))
}

/// Validates and creates an outgoing request (queued, awaiting approval, or a draft).
pub async fn create_outgoing(
    state: &Node,
    user: &User,
    new: request::NewRequest,
    draft: bool,
) -> NodeResult<RequestRecord> {
    create_outgoing_keyed(state, user, new, draft, None).await
}

/// [`create_outgoing`] for a call that came with an `Idempotency-Key`: the key is marked with
/// the request in the transaction that creates it.
pub async fn create_outgoing_keyed(
    state: &Node,
    user: &User,
    new: request::NewRequest,
    draft: bool,
    idempotency: Option<hanoinet_store::IdempotencyRef>,
) -> NodeResult<RequestRecord> {
    let (mut item, rec) = prepare_outgoing(state, user, new, draft).await?;
    item.idempotency = idempotency;
    crate::ops::batch::create(state, item).await?;
    state.outbox_wake.notify_one();
    tracing::info!(request = %rec.id, to = %rec.to, status = rec.status.as_str(), "request created");
    Ok(rec)
}

/// Everything creating an outgoing request records (the row, its first envelope, its ledger
/// entry), checked and sealed but not yet committed, and the record as it will read once it is.
pub(crate) async fn prepare_outgoing(
    state: &Node,
    user: &User,
    new: request::NewRequest,
    draft: bool,
) -> NodeResult<(NewOutgoing, RequestRecord)> {
    // An analyst may draft a request (escalating reports); an officer submits it.
    if !(draft && user.role.may_triage()) {
        crate::ops::access::require_officer(user)?;
    }
    let facts = new.facts.clone();

    // The requested node must be a registered node of another State.
    if state.registry().node(&new.to).is_none() {
        return Err(NodeError::Invalid(vec![field_error(
            "to",
            FieldCode::UnknownNode,
            format!("{} is not a node in the registry", new.to),
        )]));
    }
    if new.to.state() == state.id.state() {
        return Err(NodeError::Invalid(vec![field_error(
            "to",
            FieldCode::SameState,
            format!(
                "{} belongs to this node's own State; the Convention's cooperation is between States",
                new.to
            ),
        )]));
    }
    let warnings =
        crate::ops::gate::check_typed(state, &state.id, &new.to, &facts, Some(new.request_type))
            .await?
            .map_err(NodeError::Invalid)?;

    let now = state.clock.now();
    let id = RequestId::new_v7();
    let envelope_id = hanoinet_core::EnvelopeId::new_v7();
    let status = if draft {
        request::Status::Draft
    } else if state.policy.needs_approval(new.request_type) {
        request::Status::AwaitingApproval
    } else {
        request::Status::Queued
    };
    let first = StatusEvent {
        by: Some(hanoinet_core::lifecycle::Side::Requesting),
        ..StatusEvent::new(status, now)
    };
    let fields_json = serde_json::to_string(&new.fields).map_err(NodeError::internal)?;
    let mut ledger = crate::ops::ledger::entry(
        state,
        Event::RequestCreated,
        crate::ops::ledger::user_actor(user),
        format!("request:{id}"),
    )
    .attr("type", new.request_type.as_str())
    .attr("peer", new.to.as_str())
    .attr("status", status.as_str())
    .attr("envelope", envelope_id.to_string())
    .attr(
        "fields",
        crate::ops::ledger::commit(state, fields_json.as_bytes()),
    );
    let outbox = if status == request::Status::Queued {
        let payload = RequestPayload {
            request_id: id,
            request_type: new.request_type,
            created_at: now,
            fields: new.fields.clone(),
            history: vec![Step::from(&first)],
            approval: None,
            tree_head: crate::ops::ledger::cached_head(state),
        };
        let envelope =
            crate::ops::outbound::seal_with_id(state, envelope_id, &new.to, None, &payload, now)?;
        ledger = ledger.attr("envelope_hash", hex::encode(envelope.hash()));
        Some(NewOutbox {
            envelope_id,
            peer: new.to.clone(),
            kind: KindName::PRESERVATION_REQUEST.into(),
            request_id: id,
            envelope: envelope.to_json(),
            created_at: now,
            chunk: None,
        })
    } else {
        None
    };
    let record = NewRequest {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        fields: fields_json,
        envelope_id,
        created_by: Some(user.name.clone()),
        created_at: now,
        facts,
        warnings: warnings.clone(),
        history: vec![first.clone()],
        ack_due_at: None,
    };
    let created_by = record.created_by.clone();
    let item = NewOutgoing {
        request: record,
        outbox,
        ledger: ledger.encode(),
        idempotency: None,
    };
    // What will be committed, without reading it back.
    let rec = RequestRecord {
        id,
        direction: Direction::Outgoing,
        request_type: new.request_type,
        from: state.id.clone(),
        to: new.to.clone(),
        status,
        fields: Value::Object(new.fields.clone()),
        envelope_id,
        created_by,
        created_at: now,
        updated_at: now,
        preserved_until: None,
        decision: None,
        decided_at: None,
        receipt: None,
        response_receipt: None,
        warnings,
        seq: 1,
        ack_due_at: None,
        escalated_at: None,
        history: vec![first],
        messages: Vec::new(),
    };
    Ok((item, rec))
}

fn parse_request_id(id: &str) -> NodeResult<RequestId> {
    id.parse()
        .map_err(|_| NodeError::not_found(format!("no request {id:?}")))
}

pub async fn load(state: &Node, id: &str) -> NodeResult<RequestRecord> {
    let id = parse_request_id(id)?;
    state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| NodeError::not_found(format!("no request {id}")))
}

/// Most requests the 24/7 inbox shows at once.
pub const INBOX_ROWS: i64 = 100;

/// The 24/7 inbox: incoming requests awaiting acknowledgement first (emergencies first, then
/// by acknowledgement deadline), then the others, newest first; at most [`INBOX_ROWS`], with
/// the number of incoming requests in all. One ledger entry names the cases shown.
pub async fn inbox(
    node: &Node,
    user: &User,
) -> NodeResult<(Vec<(RequestRecord, hanoinet_core::request::Urgency)>, i64)> {
    use hanoinet_core::request::Urgency;
    require_reader(user)?;
    let (recs, total) = node.store.inbox(INBOX_ROWS).await?;
    log_listed(node, user, &recs).await?;
    let out = recs
        .into_iter()
        .map(|r| {
            let urgency = r
                .fields
                .as_object()
                .and_then(hanoinet_core::request::RequestFacts::of)
                .map_or(Urgency::Normal, |f| f.urgency);
            (r, urgency)
        })
        .collect();
    Ok((out, total))
}

/// The supervisors' queue: outgoing requests awaiting approval, oldest first (at most
/// [`MAX_LIST`]); one ledger entry names them.
pub async fn awaiting_approval(node: &Node, user: &User) -> NodeResult<Vec<RequestRecord>> {
    require_reader(user)?;
    let recs = node
        .store
        .requests_in_status(
            Direction::Outgoing,
            request::Status::AwaitingApproval,
            MAX_LIST,
        )
        .await?;
    log_listed(node, user, &recs).await?;
    Ok(recs)
}

/// Up to `limit` requests, newest first or by time limit; one ledger entry names every case
/// the list showed.
pub async fn list(
    node: &Node,
    user: &User,
    direction: Option<Direction>,
    order: ListOrder,
    limit: i64,
) -> NodeResult<Vec<RequestRecord>> {
    require_reader(user)?;
    let recs = node.store.list_requests(direction, order, limit).await?;
    log_listed(node, user, &recs).await?;
    Ok(recs)
}

/// One page of the requests matching `filter`, after `cursor`, and how many match in all.
/// Like every read of cases, the page is a ledger entry naming what it showed.
pub async fn list_page(
    node: &Node,
    user: &User,
    filter: &hanoinet_store::RequestFilter,
    order: ListOrder,
    cursor: Option<&hanoinet_store::PageCursor>,
    limit: i64,
) -> NodeResult<(Vec<RequestRecord>, i64)> {
    require_reader(user)?;
    let (recs, total) = node
        .store
        .list_requests_page(filter, order, cursor, limit)
        .await?;
    log_listed(node, user, &recs).await?;
    Ok((recs, total))
}

/// The ledger entry naming every case a list showed.
async fn log_listed(node: &Node, user: &User, recs: &[RequestRecord]) -> NodeResult<()> {
    let listed = crate::ops::ledger::entry(
        node,
        Event::RequestsListed,
        crate::ops::ledger::user_actor(user),
        String::new(),
    )
    .attr("count", recs.len().to_string())
    .attr(
        "requests",
        recs.iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
            .join(","),
    );
    node.store.append_ledger(&[listed.encode()]).await?;
    Ok(())
}

/// One request, opened by `user` (who opened which case, and when, is part of the record).
/// For a preservation in force, also the follow-up requests still undecided (Art. 42: it is
/// kept until they are decided, even past `preserved_until`).
pub async fn open(
    node: &Node,
    user: &User,
    id: &str,
) -> NodeResult<(RequestRecord, Option<Vec<RequestId>>)> {
    require_reader(user)?;
    let rec = load(node, id).await?;
    let opened = crate::ops::ledger::entry(
        node,
        Event::RequestOpened,
        crate::ops::ledger::user_actor(user),
        format!("request:{}", rec.id),
    );
    node.store.append_ledger(&[opened.encode()]).await?;
    let pending =
        if rec.request_type == request::RequestType::Preservation && rec.status.preserves() {
            Some(node.store.undecided_followups(rec.id).await?)
        } else {
            None
        };
    Ok((rec, pending))
}
