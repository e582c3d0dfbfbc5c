//! What travels inside sealed envelopes, per kind.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::RequestId;
use hanoinet_core::request::{Decision, RequestType};
use hanoinet_ledger::SignedTreeHead;
use serde_json::{Map, Value};

/// Payload of a request envelope (`preservation_request` carries every request type; the kind
/// name is kept for wire compatibility).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayload {
    pub request_id: RequestId,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub created_at: Timestamp,
    /// The request's fields as validated by the sender; the receiver validates them again.
    pub fields: Map<String, Value>,
    /// The sender's latest signed tree head, for gossip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Payload of a response envelope (`preservation_response`, for every request type).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsePayload {
    pub request_id: RequestId,
    pub decision: Decision,
    pub decided_at: Timestamp,
    #[serde(default)]
    pub preserved_until: Option<Timestamp>,
    /// The sender's latest signed tree head, for gossip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}
