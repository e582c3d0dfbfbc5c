//! What travels inside sealed envelopes (PROTOCOL.md §5): one struct per payload, each tied
//! to its envelope kind by [`Payload::KIND`], and [`decode`], which turns an opened payload
//! into its typed form. An independent implementation or a fuzz target needs nothing else.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use hanoinet_core::RequestId;
use hanoinet_core::request::{Decision, RequestType, Status};

use crate::head::SignedTreeHead;

/// The kinds of envelope a node handles (the header's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A new request of any type (the name is kept for wire compatibility).
    PreservationRequest,
    /// The requested node's moves of a request, in its order.
    StatusUpdate,
    /// A move the requesting side asks the requested node to make.
    StatusProposal,
    /// A message about a request (enquiry, answer, declined proposal, ...).
    RequestMessage,
    /// Data given in answer to a request, with its Art. 36 conditions.
    DataTransfer,
    /// One chunk of an attachment of a data transfer.
    DataChunk,
}

impl Kind {
    pub const ALL: [Self; 6] = [
        Self::PreservationRequest,
        Self::StatusUpdate,
        Self::StatusProposal,
        Self::RequestMessage,
        Self::DataTransfer,
        Self::DataChunk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreservationRequest => "preservation_request",
            Self::StatusUpdate => "status_update",
            Self::StatusProposal => "status_proposal",
            Self::RequestMessage => "request_message",
            Self::DataTransfer => "data_transfer",
            Self::DataChunk => "data_chunk",
        }
    }

    /// The kind named `s`; `None` for a kind this version does not handle.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The header form.
    pub fn name(self) -> crate::KindName {
        crate::KindName::known(self.as_str())
    }

    /// A request envelope (its receipt moves the request to `delivered`).
    pub fn is_request(self) -> bool {
        self == Self::PreservationRequest
    }
}

/// A payload, and the envelope kind that carries it.
pub trait Payload: Serialize + DeserializeOwned {
    const KIND: Kind;
}

/// An opened payload, typed by its envelope's kind.
#[derive(Debug, Clone)]
pub enum Decoded {
    Request(RequestPayload),
    StatusUpdate(StatusUpdatePayload),
    StatusProposal(ProposalPayload),
    Message(MessagePayload),
    Transfer(TransferPayload),
    Chunk(ChunkPayload),
}

/// A payload that does not decode as its kind's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} payload: {error}")]
pub struct DecodeError {
    pub what: &'static str,
    pub error: String,
}

fn typed<P: Payload>(bytes: &[u8], what: &'static str) -> Result<P, DecodeError> {
    serde_json::from_slice(bytes).map_err(|e| DecodeError {
        what,
        error: e.to_string(),
    })
}

/// Decodes the opened payload of an envelope of `kind`.
pub fn decode(kind: Kind, bytes: &[u8]) -> Result<Decoded, DecodeError> {
    Ok(match kind {
        Kind::PreservationRequest => Decoded::Request(typed(bytes, "request")?),
        Kind::StatusUpdate => Decoded::StatusUpdate(typed(bytes, "status update")?),
        Kind::StatusProposal => Decoded::StatusProposal(typed(bytes, "status proposal")?),
        Kind::RequestMessage => Decoded::Message(typed(bytes, "message")?),
        Kind::DataTransfer => Decoded::Transfer(typed(bytes, "data transfer")?),
        Kind::DataChunk => Decoded::Chunk(typed(bytes, "data chunk")?),
    })
}

impl Payload for RequestPayload {
    const KIND: Kind = Kind::PreservationRequest;
}
impl Payload for StatusUpdatePayload {
    const KIND: Kind = Kind::StatusUpdate;
}
impl Payload for ProposalPayload {
    const KIND: Kind = Kind::StatusProposal;
}
impl Payload for MessagePayload {
    const KIND: Kind = Kind::RequestMessage;
}
impl Payload for TransferPayload {
    const KIND: Kind = Kind::DataTransfer;
}
impl Payload for ChunkPayload {
    const KIND: Kind = Kind::DataChunk;
}

/// One step of a request's history as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub status: Status,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// `requesting`, `requested` or `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<hanoinet_core::lifecycle::Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// Payload of a request envelope (`preservation_request` carries every request type; the kind
/// name is kept for wire compatibility).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayload {
    pub request_id: RequestId,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub created_at: Timestamp,
    /// The request's fields as validated by the sender; the receiver validates them again
    /// (a member named twice is refused).
    #[serde(deserialize_with = "hanoinet_core::json::strict_map")]
    pub fields: Map<String, Value>,
    /// The requesting node's history so far (draft, approval, queued); the receiver records it
    /// before `delivered`, so both nodes hold the same history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Step>,
    /// The four-eyes approval, signed by the requesting node, when a supervisor approved the
    /// request before it was sent (the `awaiting_approval` → `queued` step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::approval::Approval>,
    /// The sender's latest signed tree head, for gossip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Payload of a `status_update` envelope: moves of a request made (or accepted) by the
/// requested node, which orders the history after delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdatePayload {
    pub request_id: RequestId,
    /// The history's length before these steps (they are steps `expect_seq + 1...`).
    pub expect_seq: i64,
    pub steps: Vec<Step>,
    /// When the requested node received the request (for a requesting node whose receipt
    /// bookkeeping is behind).
    pub delivered_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserved_until: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Payload of a `status_proposal` envelope: a move the requesting side asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalPayload {
    pub request_id: RequestId,
    pub proposal_id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The history's length the requesting node saw (for information).
    pub seen_seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Payload of a `request_message` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagePayload {
    pub request_id: RequestId,
    pub message_id: String,
    pub kind: MessageKind,
    pub body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

hanoinet_core::names! {
    /// What a `request_message` is about.
    pub enum MessageKind {
        /// The requesting State asks where its request stands.
        StatusEnquiry => "status_enquiry",
        /// The answer to a status enquiry.
        StatusReply => "status_reply",
        /// The requested side proposes a move that is the requesting side's to make.
        Proposal => "proposal",
        /// The requesting side declines a proposal.
        ProposalDeclined => "proposal_declined",
        /// The requested State asks for more time.
        ExtensionRequest => "extension_request",
        /// The requesting State grants it.
        ExtensionGranted => "extension_granted",
        /// A State holding data asks the sender's leave to pass them on (Art. 36).
        OnwardRequest => "onward_transfer_request",
        /// The sender's signed leave to pass data on.
        OnwardAuthorization => "onward_transfer_authorization",
        /// The requested State cannot keep the request confidential (Art. 40(20)); the
        /// requesting State decides whether to proceed.
        ConfidentialityNotice => "confidentiality_cannot_be_kept",
    }
}

hanoinet_core::names! {
    /// Whether data may be passed on to a third State (Art. 36).
    pub enum OnwardRule {
        /// Never.
        Prohibited => "prohibited",
        /// Only with the sender's prior authorization, for that State and that purpose.
        WithAuthorization => "with_authorization",
    }
}

/// The conditions attached to data (Art. 36, 40).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub purpose: String,
    pub use_limitation: String,
    pub retention_until: Date,
    pub onward_transfer: OnwardRule,
}

impl Conditions {
    /// As a JSON object (members in name order: the form the ledger commits to and the store
    /// keeps).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "purpose": self.purpose,
            "use_limitation": self.use_limitation,
            "retention_until": self.retention_until.to_string(),
            "onward_transfer": self.onward_transfer.as_str(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentMeta {
    pub id: String,
    pub name: String,
    pub sha256: String,
    pub size: i64,
    pub chunks: i64,
}

/// Payload of a `data_transfer` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferPayload {
    pub transfer_id: String,
    pub request_id: hanoinet_core::RequestId,
    pub conditions: Conditions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Value>,
    pub attachments: Vec<AttachmentMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// For data passed on: the original sender's signed authorization, so the third node can
    /// check it was authorized, for it and for this purpose (Art. 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<crate::authorization::OnwardAuthorization>,
    /// `art43_1` for the preserving State's own disclosure of traffic data identifying a
    /// service provider in another State and the path (Art. 43(1)): the only data a
    /// preservation carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// [`TransferPayload::basis`] of an Art. 43(1) disclosure on a preservation.
pub const ART43_BASIS: &str = "art43_1";

/// Payload of a `data_chunk` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkPayload {
    pub transfer_id: String,
    pub request_id: hanoinet_core::RequestId,
    pub attachment_id: String,
    pub idx: i64,
    /// The chunk's bytes, base64.
    pub data: String,
}
