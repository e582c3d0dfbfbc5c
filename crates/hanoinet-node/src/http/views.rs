//! JSON views: how the API shows requests, messages and data transfers. Each view is a struct;
//! the OpenAPI document's schemas for them are derived from these same structs ([`schemas`]),
//! so the document cannot drift from what the API sends.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use hanoinet_core::lifecycle::{Side, Status};
use hanoinet_core::request::{Direction, Flow, RequestType};
use hanoinet_protocol::payload::MessageKind;
use hanoinet_store::{AttachmentState, Message, RequestRecord};

use crate::node::Node;
use crate::ops::updates::ProposalState;

/// A request as this node holds it: metadata, the type's fields at top level as posted, the
/// decision, the status history and the receipts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Request)]
pub struct RequestView {
    #[schema(value_type = String, format = "uuid")]
    pub id: hanoinet_core::RequestId,
    #[serde(rename = "type")]
    #[schema(schema_with = request_types)]
    pub request_type: &'static str,
    #[schema(schema_with = directions)]
    pub direction: &'static str,
    #[schema(value_type = String)]
    pub from: hanoinet_core::NodeId,
    #[schema(value_type = String)]
    pub to: hanoinet_core::NodeId,
    #[schema(schema_with = statuses)]
    pub status: &'static str,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<String>,
    /// The type's own fields and the fields every request carries, as posted.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// Preservation only, set when accepted: acceptance + the longer of 60 days and
    /// requested_period_days (Art. 42).
    pub preserved_until: Option<Timestamp>,
    /// Incoming requests only: when the acknowledgement is due (Art. 41).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ack_due_at: Option<Option<Timestamp>>,
    /// Incoming requests only: when a missed acknowledgement was escalated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<Option<Timestamp>>,
    /// The requested State's decision, with `decided_at`.
    #[schema(value_type = Option<Object>)]
    pub decision: Option<Value>,
    /// The same on both nodes once delivered.
    pub history: Vec<StepView>,
    /// The four-eyes approval, signed by the requesting node (PROTOCOL.md §5.4):
    /// `{request_id, envelope_id, node, approver, role, author, approved_at, signature}`, with
    /// pseudonymous ids; null when none was needed.
    #[schema(value_type = Option<Object>)]
    pub approval: Option<Value>,
    /// The statuses this node's users may move the request to now.
    #[schema(schema_with = status_list)]
    pub allowed_transitions: Vec<&'static str>,
    pub messages: Vec<MessageView>,
    /// Warnings given when the request was made, e.g. `language_not_accepted`.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Value,
    #[schema(value_type = String, format = "uuid")]
    pub envelope_id: hanoinet_core::EnvelopeId,
    /// The requested node's signed receipt for the request envelope.
    #[schema(schema_with = receipt)]
    pub receipt: Option<Value>,
    /// The requesting node's signed receipt for the response envelope.
    #[schema(schema_with = receipt)]
    pub response_receipt: Option<Value>,
    /// A preservation kept past `preserved_until` while the request that follows it is
    /// decided (Art. 42): that request's id. Shown when one request is opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub preserved_while_pending: Option<Value>,
    /// Failed delivery attempts of this node's envelope on the request that is still on its way
    /// (the request itself, or an answer), else of the last one delivered; `0` when every
    /// envelope went through at the first try or nothing was sent (a draft).
    pub attempts: i64,
    /// Why the last attempt failed, while it is still on its way.
    pub last_error: Option<String>,
    /// When it is tried next (`null` once delivered).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<jiff::Timestamp>,
}

impl RequestView {
    /// Adds the delivery state of the request's envelopes.
    pub fn with_delivery(mut self, d: Option<&hanoinet_store::DeliveryState>) -> Self {
        if let Some(d) = d {
            self.attempts = d.attempts;
            self.last_error = d.last_error.clone();
            self.next_attempt_at = d.next_attempt_at;
        }
        self
    }
}

/// One step of a request's status history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Step)]
pub struct StepView {
    #[schema(schema_with = statuses)]
    pub status: &'static str,
    pub at: Timestamp,
    /// Which side made the move.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = sides)]
    pub by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The decision a step carried (grounds and explanation, conditions), the approval
    /// (`approval`) or the proposal a requesting-side step answered (`proposal_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<Value>,
}

/// A message about a request that is not a status change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: String,
    #[schema(schema_with = message_kinds)]
    pub kind: MessageKind,
    #[schema(schema_with = flows)]
    pub direction: Flow,
    pub at: Timestamp,
    #[schema(value_type = Object)]
    pub body: Value,
    pub in_reply_to: Option<String>,
    /// Sent proposals only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = proposal_states)]
    pub state: Option<ProposalState>,
}

/// Data given on a request, with their Art. 36 conditions and attachments.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Transfer)]
pub struct TransferView {
    pub id: String,
    #[schema(schema_with = flows)]
    pub direction: Flow,
    #[schema(value_type = String)]
    pub peer: hanoinet_core::NodeId,
    /// `{purpose, use_limitation, retention_until, onward_transfer}` (Art. 36, 40).
    #[schema(value_type = Object)]
    pub conditions: Value,
    /// Structured results; null once purged (or if there were none).
    #[schema(value_type = Option<Object>)]
    pub results: Option<Value>,
    #[schema(value_type = String, format = Date)]
    pub retention_until: String,
    #[schema(schema_with = onward_rules)]
    pub onward_transfer: hanoinet_protocol::payload::OnwardRule,
    pub created_at: Timestamp,
    /// When the content was purged at the end of retention (hashes and metadata remain).
    pub purged_at: Option<Timestamp>,
    /// For a forwarded copy: the transfer it was forwarded from.
    pub forwarded_from: Option<String>,
    pub attachments: Vec<AttachmentView>,
}

/// An attachment's metadata (never its content).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attachment)]
pub struct AttachmentView {
    pub id: String,
    pub name: String,
    /// Lower-case hex.
    pub sha256: Option<String>,
    pub size: i64,
    pub chunks: i64,
    #[schema(schema_with = attachment_states)]
    pub state: AttachmentState,
}

/// A resumable upload: where it stands, and its attachment once every byte is in.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Upload)]
pub struct UploadView {
    pub id: String,
    pub request_id: String,
    pub name: String,
    /// Declared size in bytes.
    pub size: i64,
    /// Bytes stored so far: the next `PATCH` sends from here (`Upload-Offset`).
    pub offset: i64,
    /// The declared SHA-256 (lower-case hex), checked with the last byte; once complete, the
    /// attachment's.
    pub sha256: Option<String>,
    pub complete: bool,
    /// The attachment it became (same id), once complete.
    pub attachment: Option<AttachmentView>,
}

/// The schemas of every view, by name, for the OpenAPI document's components.
pub fn schemas() -> Vec<(String, RefOr<Schema>)> {
    let mut out = vec![
        ("Request".to_owned(), RequestView::schema()),
        ("Transfer".to_owned(), TransferView::schema()),
        ("Upload".to_owned(), UploadView::schema()),
    ];
    RequestView::schemas(&mut out);
    TransferView::schemas(&mut out);
    UploadView::schemas(&mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn one_of_names(names: Vec<&'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(names))
}

fn request_types() -> ObjectBuilder {
    one_of_names(RequestType::ALL.iter().map(|t| t.as_str()).collect())
}
fn directions() -> ObjectBuilder {
    one_of_names(Direction::ALL.iter().map(|d| d.as_str()).collect())
}
fn statuses() -> ObjectBuilder {
    one_of_names(Status::ALL.iter().map(|s| s.as_str()).collect())
}
fn status_list() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::Array::new(statuses())
}
fn sides() -> ObjectBuilder {
    one_of_names(Side::ALL.iter().map(|s| s.as_str()).collect())
}
fn flows() -> ObjectBuilder {
    one_of_names(Flow::ALL.iter().map(|f| f.as_str()).collect())
}
fn message_kinds() -> ObjectBuilder {
    one_of_names(MessageKind::ALL.iter().map(|k| k.as_str()).collect())
}
fn proposal_states() -> ObjectBuilder {
    one_of_names(ProposalState::ALL.iter().map(|s| s.as_str()).collect())
}
fn onward_rules() -> ObjectBuilder {
    one_of_names(
        hanoinet_protocol::payload::OnwardRule::ALL
            .iter()
            .map(|r| r.as_str())
            .collect(),
    )
}
fn attachment_states() -> ObjectBuilder {
    one_of_names(AttachmentState::ALL.iter().map(|s| s.as_str()).collect())
}
fn receipt() -> Schema {
    Schema::OneOf(
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(Ref::from_schema_name("Receipt"))
            .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
            .build(),
    )
}

/// The view of a request.
pub fn request_view(state: &Node, r: &RequestRecord) -> RequestView {
    let incoming = r.direction == Direction::Incoming;
    let decision = r.decision.clone().map(|mut d| {
        if let Value::Object(o) = &mut d {
            o.insert(
                "decided_at".into(),
                serde_json::to_value(r.decided_at).unwrap_or(Value::Null),
            );
        }
        d
    });
    // The four-eyes approval, signed by the requesting node (on both nodes).
    let approval = r
        .history
        .iter()
        .rev()
        .find_map(|e| e.details.as_ref()?.get("approval").cloned());
    RequestView {
        id: r.id,
        request_type: r.request_type.as_str(),
        direction: r.direction.as_str(),
        from: r.from.clone(),
        to: r.to.clone(),
        status: r.status.as_str(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        created_by: r.created_by.clone(),
        fields: match &r.fields {
            Value::Object(fields) => fields.clone(),
            _ => Map::new(),
        },
        preserved_until: r.preserved_until,
        ack_due_at: incoming.then_some(r.ack_due_at),
        escalated_at: incoming.then_some(r.escalated_at),
        decision,
        history: r
            .history
            .iter()
            .map(|e| StepView {
                status: e.status.as_str(),
                at: e.at,
                by: e.by.map(Side::as_str),
                note: e.note.clone(),
                details: e.details.clone(),
            })
            .collect(),
        approval,
        allowed_transitions: crate::ops::moves::allowed_moves(&state.policy, r)
            .iter()
            .map(|s| s.as_str())
            .collect(),
        messages: r.messages.iter().map(|msg| message_view(msg, r)).collect(),
        warnings: r.warnings.clone(),
        envelope_id: r.envelope_id,
        receipt: r.receipt.clone(),
        response_receipt: r.response_receipt.clone(),
        preserved_while_pending: None,
        attempts: 0,
        last_error: None,
        next_attempt_at: None,
    }
}

/// The view of a message; a sent proposal says whether it is still pending, applied or
/// declined.
pub fn message_view(msg: &Message, r: &RequestRecord) -> MessageView {
    MessageView {
        id: msg.id.clone(),
        kind: msg.kind,
        direction: msg.direction,
        at: msg.at,
        body: msg.body.clone(),
        in_reply_to: msg.in_reply_to.clone(),
        state: crate::ops::updates::proposal_state(msg, r),
    }
}

/// The view of a data transfer and its attachments.
pub fn transfer_view(t: &crate::ops::give::Transfer) -> TransferView {
    let (t, atts) = (&t.transfer, &t.attachments);
    TransferView {
        id: t.id.clone(),
        direction: t.direction,
        peer: t.peer.clone(),
        conditions: t.conditions.to_json(),
        results: t.results.clone(),
        retention_until: t.retention_until.to_string(),
        onward_transfer: t.onward_transfer,
        created_at: t.created_at,
        purged_at: t.purged_at,
        forwarded_from: t.forwarded_from.clone(),
        attachments: atts.iter().map(attachment_view).collect(),
    }
}

/// The view of an attachment (metadata, never content).
pub fn upload_view(st: &crate::ops::upload::UploadState) -> UploadView {
    match st {
        crate::ops::upload::UploadState::Open(u) => UploadView {
            id: u.id.clone(),
            request_id: u.request_id.clone(),
            name: u.name.clone(),
            size: u.size,
            offset: u.received,
            sha256: u.sha256.clone(),
            complete: false,
            attachment: None,
        },
        crate::ops::upload::UploadState::Done(a) => UploadView {
            id: a.id.clone(),
            request_id: a.request_id.to_string(),
            name: a.name.clone(),
            size: a.size,
            offset: a.size,
            sha256: a.sha256.clone(),
            complete: true,
            attachment: Some(attachment_view(a)),
        },
    }
}

pub fn attachment_view(a: &hanoinet_store::Attachment) -> AttachmentView {
    AttachmentView {
        id: a.id.clone(),
        name: a.name.clone(),
        sha256: a.sha256.clone(),
        size: a.size,
        chunks: a.chunks,
        state: a.state,
    }
}
