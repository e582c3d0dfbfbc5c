//! Four-eyes approvals: the requesting node signs, with its registry key, that a supervisor of
//! that node (named by a pseudonymous id, never by name) approved one request before it was sent.
//! The approval travels with the request (PROTOCOL.md §5), so the requested node sees who
//! approved and when, and can check the signature itself.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::{EnvelopeId, NodeId, RequestId};

use crate::b64;
use crate::canonical::Canonical;
use crate::keys::{NodeKeys, PublicKeys};

/// Domain label of the signing input.
pub const DOMAIN: &str = "hanoinet/v1/approval";

/// The role an approver holds (the only one that may approve).
pub const SUPERVISOR: &str = "supervisor";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The request approved.
    pub request_id: RequestId,
    /// The envelope that carries the request (fixed when the request is created).
    pub envelope_id: EnvelopeId,
    /// The requesting node, whose key signs.
    pub node: NodeId,
    /// A pseudonymous id of the approver on that node (`user:<uuid>`).
    pub approver: String,
    /// The approver's role (`supervisor`).
    pub role: String,
    /// A pseudonymous id of the request's author, so the peer sees they are different people.
    pub author: String,
    pub approved_at: Timestamp,
    /// Ed25519 signature by the node's registry key over [`Self::signing_input`].
    #[serde(with = "b64::array")]
    pub signature: [u8; 64],
}

impl Approval {
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        request_id: RequestId,
        envelope_id: EnvelopeId,
        node: NodeId,
        approver: &str,
        role: &str,
        author: &str,
        approved_at: Timestamp,
        keys: &NodeKeys,
    ) -> Self {
        let mut a = Self {
            request_id,
            envelope_id,
            node,
            approver: approver.to_owned(),
            role: role.to_owned(),
            author: author.to_owned(),
            approved_at,
            signature: [0; 64],
        };
        a.signature = keys.sign(&a.signing_input());
        a
    }

    /// Domain, request id, envelope id (16 bytes each), node, approver, role, author, time.
    pub fn signing_input(&self) -> Vec<u8> {
        Canonical::new(DOMAIN)
            .bytes(self.request_id.as_uuid().as_bytes())
            .bytes(self.envelope_id.as_uuid().as_bytes())
            .str(self.node.as_str())
            .str(&self.approver)
            .str(&self.role)
            .str(&self.author)
            .timestamp(self.approved_at)
            .finish()
    }

    /// Whether `node` (its registry keys) signed exactly this document. Callers MUST also check
    /// that `node` is the envelope's sender, that `request_id` and `envelope_id` are those of the
    /// request envelope it rides in, that `role` is `supervisor` and that `approver` differs from
    /// `author`.
    pub fn verify(&self, node: &PublicKeys) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature);
        node.signing
            .verify_strict(&self.signing_input(), &sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_by_the_node_and_bound_to_its_request() {
        let vnm = NodeKeys::generate();
        let other = NodeKeys::generate();
        let a = Approval::sign(
            RequestId::new_v7(),
            EnvelopeId::new_v7(),
            "VNM/247".parse().unwrap(),
            "user:1",
            SUPERVISOR,
            "user:2",
            "2026-11-22T10:00:00Z".parse().unwrap(),
            &vnm,
        );
        assert!(a.verify(vnm.public()));
        assert!(!a.verify(other.public()));
        let back: Approval = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert!(back.verify(vnm.public()));
        for tamper in [
            |a: &mut Approval| a.request_id = RequestId::new_v7(),
            |a: &mut Approval| a.envelope_id = EnvelopeId::new_v7(),
            |a: &mut Approval| a.approver = "user:2".into(),
            |a: &mut Approval| a.author = "user:1".into(),
            |a: &mut Approval| a.role = "officer".into(),
            |a: &mut Approval| a.node = "KEN/247".parse().unwrap(),
        ] {
            let mut t = a.clone();
            tamper(&mut t);
            assert!(!t.verify(vnm.public()), "{t:?}");
        }
    }
}
