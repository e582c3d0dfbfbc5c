//! The records the store reads and writes, and the SQL shared by several operations.

use hanoinet_core::request::Flow;
use hanoinet_protocol::payload::MessageKind;
use jiff::Timestamp;
use serde_json::Value;
use sqlx::Row;

use hanoinet_core::access::Role;
use hanoinet_core::request::{Direction, RequestFacts, RequestType, Status};
use hanoinet_core::time::from_micros;
use hanoinet_core::{EnvelopeId, NodeId, RequestId};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// A user with the state of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub user: User,
    pub created_at: Timestamp,
    /// When it was disabled: its token no longer works.
    pub disabled_at: Option<Timestamp>,
    /// When its token stops working (`None`: never).
    pub token_expires_at: Option<Timestamp>,
    /// When its token was last used (to the minute).
    pub last_used_at: Option<Timestamp>,
}

/// A request as first stored, on either side.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: RequestId,
    pub direction: Direction,
    pub request_type: RequestType,
    pub from: NodeId,
    pub to: NodeId,
    /// The type's fields, as JSON text.
    pub fields: String,
    /// The envelope that carries (or carried) the request.
    pub envelope_id: EnvelopeId,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    /// The facts read from the validated fields (offence, legal basis, urgency, time limit...).
    pub facts: RequestFacts,
    /// The history to record at creation; the request takes the last event's status. For an
    /// incoming request: the sender's history so far, then `delivered`.
    pub history: Vec<StatusEvent>,
    /// Incoming requests: when this node must have acknowledged it (node policy).
    pub ack_due_at: Option<Timestamp>,
    /// Warnings shown with the request, as a JSON array.
    pub warnings: Value,
}

/// A notification to an escalation contact (webhook or e-mail), delivered with retries.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: String,
    /// `webhook` or `smtp`.
    pub channel: String,
    /// The webhook URL or the e-mail address.
    pub target: String,
    pub subject: String,
    /// JSON text (webhook body; the e-mail's text is rendered from it).
    pub body: String,
    pub created_at: Timestamp,
    pub attempts: i64,
}

/// How a list of requests is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Earliest requested time limit (Art. 40) first; requests without one last.
    TimeLimit,
}

/// An envelope to deliver.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    pub envelope_id: EnvelopeId,
    pub peer: NodeId,
    pub kind: String,
    pub request_id: RequestId,
    /// The sealed envelope as JSON; empty for a chunk sealed when it is first sent.
    pub envelope: String,
    pub created_at: Timestamp,
    /// For a `data_chunk`: which chunk it carries (sealed at its first sending, queued behind
    /// every other envelope).
    pub chunk: Option<ChunkRef>,
}

/// The chunk a `data_chunk` outbox row carries, before it is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    pub transfer_id: String,
    pub attachment_id: String,
    pub idx: i64,
}

/// A new outgoing request with what commits with it.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub request: NewRequest,
    /// The request's envelope; `None` for a draft or a request awaiting approval.
    pub outbox: Option<NewOutbox>,
    /// Its ledger entry.
    pub ledger: Vec<u8>,
    /// The `Idempotency-Key` the creating call came with: marked with the request's id in the
    /// same transaction.
    pub idempotency: Option<crate::IdempotencyRef>,
}

/// Where a request's envelopes stand (`Store::delivery_states`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub attempts: i64,
    pub last_error: Option<String>,
    /// `None` once delivered.
    pub next_attempt_at: Option<Timestamp>,
}

/// An envelope claimed for delivery.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub envelope_id: EnvelopeId,
    pub peer: NodeId,
    pub kind: String,
    pub request_id: RequestId,
    /// The sealed envelope as JSON; empty while a chunk is not yet sealed (`chunk` says which).
    pub envelope: String,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub chunk: Option<ChunkRef>,
}

/// An inbound envelope with the receipt this node signed for it.
#[derive(Debug, Clone)]
pub struct NewInbox {
    pub envelope_id: EnvelopeId,
    pub sender: NodeId,
    pub kind: String,
    pub envelope: String,
    pub received_at: Timestamp,
    pub receipt: String,
    /// The data transfer the envelope carried (a `data_transfer` or one of its chunks).
    pub transfer_id: Option<String>,
}

/// A verified receipt to record, with its ledger entry.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub envelope_id: EnvelopeId,
    /// When the peer received it (from its signed receipt).
    pub delivered_at: Timestamp,
    /// The receipt as JSON text.
    pub receipt: String,
    /// The ledger entry for the delivery (appended only if the delivery is new).
    pub ledger: Vec<u8>,
    /// What the receipt does to the request besides (the node decides by the envelope's kind).
    pub effect: DeliveryEffect,
    /// What to keep of the envelope once delivered, if not all of it (a chunk's reduced
    /// envelope: its bytes stay in the attachment's store).
    pub keep: Option<String>,
}

/// What a delivery receipt does to its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEffect {
    /// The request itself arrived: `queued` → `delivered`, and its receipt is kept.
    RequestDelivered,
    /// The requested node's answer arrived: the receipt is kept as the response receipt.
    ResponseReceipt,
    /// Nothing beyond the outbox row.
    None,
}

/// One entry of a request's status history.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEvent {
    pub status: Status,
    pub at: Timestamp,
    pub note: Option<String>,
    /// Which side made the move: `requesting`, `requested` or `system`.
    pub by: Option<hanoinet_core::lifecycle::Side>,
    /// What the move carried: grounds and explanation, conditions, a note's context.
    pub details: Option<Value>,
}

impl StatusEvent {
    /// Whether `other` is the same step as stored (times compared at the stored precision).
    pub fn same_step(&self, other: &Self) -> bool {
        self.status == other.status
            && self.at.as_microsecond() == other.at.as_microsecond()
            && self.note == other.note
            && self.by == other.by
            && self.details == other.details
    }

    pub fn new(status: Status, at: Timestamp) -> Self {
        Self {
            status,
            at,
            note: None,
            by: None,
            details: None,
        }
    }
}

/// A message about a request that is not a status change (status enquiry, answer, declined
/// proposal).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub request_id: RequestId,
    pub direction: hanoinet_core::request::Flow,
    pub kind: hanoinet_protocol::payload::MessageKind,
    pub body: Value,
    pub at: Timestamp,
    pub in_reply_to: Option<String>,
}

/// A status change to record atomically: the history grows by `events` only if it is still
/// `expect_seq` long (compare-and-swap), and the request takes the last event's status.
#[derive(Debug, Clone)]
pub struct Transition {
    pub request_id: RequestId,
    pub direction: Direction,
    pub expect_seq: i64,
    pub events: Vec<StatusEvent>,
    /// A decision to record (JSON text) and when it was made.
    pub decision: Option<(String, Timestamp)>,
    pub preserved_until: Option<Timestamp>,
    /// On the requesting side: if the request is still `queued` one event short of
    /// `expect_seq`, the receipt's bookkeeping is behind: record `delivered` at this time first.
    pub fill_delivered: Option<Timestamp>,
    /// Received from the node that orders the history: if the history is already longer, these
    /// steps were applied before (a replay in another envelope) and nothing is to be done.
    /// Otherwise a stale history means someone moved first and the sender must try again.
    pub replay_ok: bool,
    pub outbox: Vec<NewOutbox>,
    pub messages: Vec<Message>,
    pub ledger: Vec<Vec<u8>>,
}

impl Transition {
    /// `events` on a history of length `expect_seq`, with nothing else attached.
    pub fn new(
        request_id: RequestId,
        direction: Direction,
        expect_seq: i64,
        events: Vec<StatusEvent>,
    ) -> Self {
        Self {
            request_id,
            direction,
            expect_seq,
            events,
            decision: None,
            preserved_until: None,
            fill_delivered: None,
            replay_ok: false,
            outbox: Vec::new(),
            messages: Vec::new(),
            ledger: Vec::new(),
        }
    }
}

/// What happened to a [`Transition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transitioned {
    Recorded,
    NotFound,
    /// The history is no longer `expect_seq` long: someone moved first.
    Stale {
        status: Status,
        seq: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub id: RequestId,
    pub direction: Direction,
    pub request_type: RequestType,
    pub from: NodeId,
    pub to: NodeId,
    pub status: Status,
    pub fields: Value,
    pub envelope_id: EnvelopeId,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub preserved_until: Option<Timestamp>,
    pub decision: Option<Value>,
    pub decided_at: Option<Timestamp>,
    pub receipt: Option<Value>,
    pub response_receipt: Option<Value>,
    /// Warnings shown with the request (JSON array).
    pub warnings: Value,
    /// The length of the history (its compare-and-swap token).
    pub seq: i64,
    /// Incoming requests: the acknowledgement deadline.
    pub ack_due_at: Option<Timestamp>,
    /// When a missed acknowledgement deadline was escalated.
    pub escalated_at: Option<Timestamp>,
    /// Filled by `get_request`; empty in lists.
    pub history: Vec<StatusEvent>,
    /// Filled by `get_request`; empty in lists.
    pub messages: Vec<Message>,
}

pub(crate) const REQUEST_COLUMNS: &str = "id, direction, request_type, from_node, to_node, status, fields, envelope_id, \
     created_by, created_at, updated_at, preserved_until, decision, decided_at, receipt, response_receipt, warnings, seq, ack_due_at, escalated_at";

/// A stored name parsed back into its type (a name the code does not know is corruption).
pub(crate) fn parsed<T>(
    v: &str,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(v).ok_or_else(|| corrupt(what, v))
}

fn corrupt(what: &str, v: impl std::fmt::Debug) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

pub(crate) fn ts(v: i64) -> Result<Timestamp, StoreError> {
    from_micros(v).ok_or_else(|| corrupt("timestamp", v))
}

fn json(v: Option<String>) -> Result<Option<Value>, StoreError> {
    v.map(|s| serde_json::from_str(&s).map_err(|e| corrupt("json", e)))
        .transpose()
}

pub(crate) fn request_record<R>(r: &R) -> Result<RequestRecord, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |c: &str| r.try_get::<String, _>(c);
    let direction = s("direction")?;
    let kind = s("request_type")?;
    let status = s("status")?;
    Ok(RequestRecord {
        id: s("id")?.parse().map_err(|e| corrupt("request id", e))?,
        direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction", &direction))?,
        request_type: RequestType::parse(&kind).ok_or_else(|| corrupt("request type", &kind))?,
        from: s("from_node")?.parse().map_err(|e| corrupt("node", e))?,
        to: s("to_node")?.parse().map_err(|e| corrupt("node", e))?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        fields: serde_json::from_str(&s("fields")?).map_err(|e| corrupt("fields", e))?,
        envelope_id: s("envelope_id")?
            .parse()
            .map_err(|e| corrupt("envelope id", e))?,
        created_by: r.try_get("created_by")?,
        created_at: ts(r.try_get("created_at")?)?,
        updated_at: ts(r.try_get("updated_at")?)?,
        preserved_until: r
            .try_get::<Option<i64>, _>("preserved_until")?
            .map(ts)
            .transpose()?,
        decision: json(r.try_get("decision")?)?,
        decided_at: r
            .try_get::<Option<i64>, _>("decided_at")?
            .map(ts)
            .transpose()?,
        receipt: json(r.try_get("receipt")?)?,
        response_receipt: json(r.try_get("response_receipt")?)?,
        warnings: json(r.try_get("warnings")?)?.unwrap_or(Value::Array(Vec::new())),
        seq: r.try_get("seq")?,
        ack_due_at: r
            .try_get::<Option<i64>, _>("ack_due_at")?
            .map(ts)
            .transpose()?,
        escalated_at: r
            .try_get::<Option<i64>, _>("escalated_at")?
            .map(ts)
            .transpose()?,
        history: Vec::new(),
        messages: Vec::new(),
    })
}

pub(crate) fn status_event<R>(r: &R) -> Result<StatusEvent, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let status: String = r.try_get("status")?;
    let by: Option<String> = r.try_get("by_side")?;
    let by = match by {
        None => None,
        Some(b) => {
            Some(hanoinet_core::lifecycle::Side::parse(&b).ok_or_else(|| corrupt("by_side", &b))?)
        }
    };
    Ok(StatusEvent {
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        at: ts(r.try_get("at")?)?,
        note: r.try_get("note")?,
        by,
        details: json(r.try_get("details")?)?,
    })
}

pub(crate) fn message<R>(r: &R) -> Result<Message, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |c: &str| r.try_get::<String, _>(c);
    Ok(Message {
        id: s("id")?,
        request_id: s("request_id")?
            .parse()
            .map_err(|e| corrupt("request id", e))?,
        direction: parsed(&s("direction")?, "message direction", Flow::parse)?,
        kind: parsed(&s("kind")?, "message kind", MessageKind::parse)?,
        body: serde_json::from_str(&s("body")?).map_err(|e| corrupt("message body", e))?,
        at: ts(r.try_get("at")?)?,
        in_reply_to: r.try_get("in_reply_to")?,
    })
}

pub(crate) fn outbox_item<R>(r: &R) -> Result<OutboxItem, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let s = |c: &str| r.try_get::<String, _>(c);
    Ok(OutboxItem {
        envelope_id: s("envelope_id")?
            .parse()
            .map_err(|e| corrupt("envelope id", e))?,
        peer: s("peer")?.parse().map_err(|e| corrupt("node", e))?,
        kind: s("kind")?,
        request_id: s("request_id")?
            .parse()
            .map_err(|e| corrupt("request id", e))?,
        envelope: s("envelope")?,
        attempts: r.try_get("attempts")?,
        created_at: ts(r.try_get("created_at")?)?,
        chunk: match r.try_get::<Option<String>, _>("chunk_attachment")? {
            Some(attachment_id) => Some(ChunkRef {
                transfer_id: r
                    .try_get::<Option<String>, _>("chunk_transfer")?
                    .unwrap_or_default(),
                attachment_id,
                idx: r
                    .try_get::<Option<i64>, _>("chunk_idx")?
                    .unwrap_or_default(),
            }),
            None => None,
        },
    })
}

/// Inserts a request row inside a transaction.
/// Evaluates to the number of rows inserted: 0 when a request with that id already exists.
macro_rules! insert_request {
    ($tx:ident, $req:expr, $receipt:expr) => {{
        let req: &$crate::NewRequest = $req;
        sqlx::query(
            "INSERT INTO requests (id, direction, request_type, from_node, to_node, status, fields, envelope_id,
                                   created_by, created_at, updated_at, receipt, offence_category, legal_basis,
                                   urgency, language, time_limit, follows_request, warnings, ack_due_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(req.id.to_string())
        .bind(req.direction.as_str())
        .bind(req.request_type.as_str())
        .bind(req.from.as_str())
        .bind(req.to.as_str())
        .bind(req.history.last().map_or(match req.direction {
            hanoinet_core::request::Direction::Outgoing => hanoinet_core::request::Status::Queued,
            hanoinet_core::request::Direction::Incoming => hanoinet_core::request::Status::Delivered,
        }, |e| e.status).as_str())
        .bind(&req.fields)
        .bind(req.envelope_id.to_string())
        .bind(req.created_by.as_deref())
        .bind(hanoinet_core::time::to_micros(req.created_at))
        .bind($receipt)
        .bind(&req.facts.offence_category)
        .bind(&req.facts.legal_basis)
        .bind(req.facts.urgency.as_str())
        .bind(&req.facts.language)
        .bind(req.facts.time_limit.map(|d| d.to_string()))
        .bind(req.facts.follows_request.map(|r| r.to_string()))
        .bind(req.warnings.to_string())
        .bind(req.ack_due_at.map(hanoinet_core::time::to_micros))
        .bind(req.history.len() as i64)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    }};
}

/// Appends a status event to a request's history, at position `seq`, inside a transaction.
/// Callers set the request row's `seq` in the same statement that changes its status (a
/// compare-and-swap on the old length), which serializes concurrent transitions of one request.
macro_rules! insert_event {
    ($tx:ident, $request_id:expr, $seq:expr, $event:expr) => {{
        let ev: &$crate::StatusEvent = $event;
        sqlx::query(
            "INSERT INTO request_events (request_id, seq, status, at, note, by_side, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($request_id.to_string())
        .bind(i64::from($seq))
        .bind(ev.status.as_str())
        .bind(hanoinet_core::time::to_micros(ev.at))
        .bind(ev.note.as_deref())
        .bind(ev.by.map(|b| b.as_str()))
        .bind(ev.details.as_ref().map(|d| d.to_string()))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Appends several events at positions `first_seq, first_seq + 1, ...` in one statement.
macro_rules! insert_events {
    ($tx:ident, $request_id:expr, $first_seq:expr, $events:expr) => {{
        let evs: &[$crate::StatusEvent] = $events;
        if evs.len() == 1 {
            insert_event!($tx, $request_id, $first_seq, &evs[0]);
        } else if !evs.is_empty() {
            let rid = $request_id.to_string();
            let values = (0..evs.len())
                .map(|i| {
                    let b = i * 7;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6,
                        b + 7
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO request_events (request_id, seq, status, at, note, by_side, details) VALUES {values}"
            );
            let mut q = sqlx::query(&sql);
            for (i, ev) in evs.iter().enumerate() {
                q = q
                    .bind(rid.clone())
                    .bind(i64::from($first_seq) + i as i64)
                    .bind(ev.status.as_str())
                    .bind(hanoinet_core::time::to_micros(ev.at))
                    .bind(ev.note.clone())
                    .bind(ev.by.map(|b| b.as_str()))
                    .bind(ev.details.as_ref().map(|d| d.to_string()));
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// Records a message about a request inside a transaction (idempotent on its id).
macro_rules! insert_message {
    ($tx:ident, $message:expr) => {{
        let m: &$crate::Message = $message;
        sqlx::query(
            "INSERT INTO request_messages (id, request_id, direction, kind, body, at, in_reply_to)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&m.id)
        .bind(m.request_id.to_string())
        .bind(m.direction.as_str())
        .bind(m.kind.as_str())
        .bind(m.body.to_string())
        .bind(hanoinet_core::time::to_micros(m.at))
        .bind(m.in_reply_to.as_deref())
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Queues an envelope for delivery inside a transaction.
macro_rules! insert_outbox {
    ($tx:ident, $outbox:expr) => {{
        let o: &$crate::NewOutbox = $outbox;
        sqlx::query(
            "INSERT INTO outbox (envelope_id, peer, kind, request_id, envelope, created_at, next_attempt_at,
                                 chunk_attachment, chunk_transfer, chunk_idx, bulk)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)",
        )
        .bind(o.envelope_id.to_string())
        .bind(o.peer.as_str())
        .bind(&o.kind)
        .bind(o.request_id.to_string())
        .bind(&o.envelope)
        .bind(hanoinet_core::time::to_micros(o.created_at))
        .bind(o.chunk.as_ref().map(|c| c.attachment_id.as_str()))
        .bind(o.chunk.as_ref().map(|c| c.transfer_id.as_str()))
        .bind(o.chunk.as_ref().map(|c| c.idx))
        .bind(i64::from(o.chunk.is_some()))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Queues ledger entries inside a transaction: the event and its log entry commit together.
/// Many entries go in multi-row statements.
macro_rules! insert_ledger {
    ($tx:ident, $entries:expr) => {{
        let entries: Vec<&[u8]> = $entries.iter().map(|e| e.as_ref()).collect();
        for chunk in entries.chunks($crate::ledger::MAX_VARS) {
            let values = (1..=chunk.len())
                .map(|i| format!("(${i})"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO ledger_queue (entry) VALUES {values}");
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q.bind(*e);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// Inserts an alert inside a transaction (idempotent on its id).
macro_rules! insert_alert {
    ($tx:ident, $alert:expr) => {{
        let a: &$crate::Alert = $alert;
        sqlx::query(
            "INSERT INTO alerts (id, kind, subject, message, evidence, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&a.id)
        .bind(a.kind.as_str())
        .bind(&a.subject)
        .bind(&a.message)
        .bind(a.evidence.to_string())
        .bind(hanoinet_core::time::to_micros(a.created_at))
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Queues notifications inside a transaction.
macro_rules! insert_notifications {
    ($tx:ident, $notifications:expr) => {{
        for n in $notifications {
            let n: &$crate::Notification = n;
            sqlx::query(
                "INSERT INTO notifications (id, channel, target, subject, body, created_at, next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&n.id)
            .bind(&n.channel)
            .bind(&n.target)
            .bind(&n.subject)
            .bind(&n.body)
            .bind(hanoinet_core::time::to_micros(n.created_at))
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Inserts a transfer and its attachments' metadata inside a transaction.
macro_rules! insert_transfer {
    ($tx:ident, $t:expr, $attachments:expr) => {{
        let t: &$crate::DataTransfer = $t;
        sqlx::query(
            "INSERT INTO data_transfers (id, request_id, direction, peer, conditions, results, retention_until,
                                         onward_transfer, created_at, forwarded_from)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&t.id)
        .bind(t.request_id.to_string())
        .bind(t.direction.as_str())
        .bind(t.peer.as_str())
        .bind(t.conditions.to_json().to_string())
        .bind(t.results.as_ref().map(|r| r.to_string()))
        .bind(t.retention_until.to_string())
        .bind(t.onward_transfer.as_str())
        .bind(hanoinet_core::time::to_micros(t.created_at))
        .bind(t.forwarded_from.as_deref())
        .execute(&mut *$tx)
        .await?;
        for a in $attachments {
            insert_attachment!($tx, a);
        }
    }};
}

/// Inserts an attachment's metadata, or updates its transfer and state if it exists.
macro_rules! insert_attachment {
    ($tx:ident, $a:expr) => {{
        let a: &$crate::Attachment = $a;
        sqlx::query(
            "INSERT INTO attachments (id, request_id, transfer_id, name, sha256, size, chunks, state, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET transfer_id = excluded.transfer_id, state = excluded.state",
        )
        .bind(&a.id)
        .bind(a.request_id.to_string())
        .bind(a.transfer_id.as_deref())
        .bind(&a.name)
        .bind(a.sha256.as_deref())
        .bind(a.size)
        .bind(a.chunks)
        .bind(a.state.as_str())
        .bind(hanoinet_core::time::to_micros(a.created_at))
        .execute(&mut *$tx)
        .await?;
    }};
}

// The wire form of a history step and its row.
impl From<&StatusEvent> for hanoinet_protocol::payload::Step {
    fn from(e: &StatusEvent) -> Self {
        Self {
            status: e.status,
            at: e.at,
            note: e.note.clone(),
            by: e.by,
            details: e.details.clone(),
        }
    }
}

impl From<&hanoinet_protocol::payload::Step> for StatusEvent {
    fn from(s: &hanoinet_protocol::payload::Step) -> Self {
        Self {
            status: s.status,
            at: s.at,
            note: s.note.clone(),
            by: s.by,
            details: s.details.clone(),
        }
    }
}
