//! What travels inside sealed envelopes, per kind (PROTOCOL.md §5).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use hanoinet_core::RequestId;
use hanoinet_core::request::{Decision, RequestType, Status};
use hanoinet_ledger::SignedTreeHead;
use hanoinet_store::StatusEvent;

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
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl From<&StatusEvent> for Step {
    fn from(e: &StatusEvent) -> Self {
        Self {
            status: e.status,
            at: e.at,
            note: e.note.clone(),
            by: e.by.clone(),
            details: e.details.clone(),
        }
    }
}

impl From<&Step> for StatusEvent {
    fn from(s: &Step) -> Self {
        Self {
            status: s.status,
            at: s.at,
            note: s.note.clone(),
            by: s.by.clone(),
            details: s.details.clone(),
        }
    }
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
    pub approval: Option<hanoinet_protocol::approval::Approval>,
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
    /// `status_enquiry`, `status_reply` or `proposal_declined`.
    pub kind: String,
    pub body: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Message kinds.
pub mod messages {
    pub const STATUS_ENQUIRY: &str = "status_enquiry";
    pub const STATUS_REPLY: &str = "status_reply";
    pub const PROPOSAL: &str = "proposal";
    pub const PROPOSAL_DECLINED: &str = "proposal_declined";
    pub const EXTENSION_REQUEST: &str = "extension_request";
    pub const EXTENSION_GRANTED: &str = "extension_granted";
    pub const ONWARD_REQUEST: &str = "onward_transfer_request";
    pub const ONWARD_AUTHORIZATION: &str = "onward_transfer_authorization";
    /// The requested State cannot keep the request confidential (Art. 40(20)); the requesting
    /// State decides whether to proceed.
    pub const CONFIDENTIALITY_NOTICE: &str = "confidentiality_cannot_be_kept";
}
