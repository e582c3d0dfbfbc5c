//! What travels inside sealed envelopes, per kind.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::RequestId;
use hanoinet_core::request::{Decision, PreservationFields, RequestType};

/// Payload of a `preservation_request` envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestPayload {
    pub request_id: RequestId,
    #[serde(rename = "type")]
    pub request_type: RequestType,
    pub created_at: Timestamp,
    pub fields: PreservationFields,
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
}
