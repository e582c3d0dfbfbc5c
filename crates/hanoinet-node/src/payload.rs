//! What travels inside sealed envelopes, per kind.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::RequestId;
use hanoinet_core::request::{Decision, PreservationFields, RequestType};
use hanoinet_ledger::SignedTreeHead;

/// Payload of a `preservation_request` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayload {
    pub request_id: RequestId,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub created_at: Timestamp,
    pub fields: PreservationFields,
    /// The sender's latest signed tree head, for gossip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_head: Option<SignedTreeHead>,
}

/// Payload of a `preservation_response` envelope.
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
