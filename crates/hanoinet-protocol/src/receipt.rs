//! Signed receipts: the recipient's non-repudiable statement that it stored an envelope.
//!
//! What a sender MUST check before treating an envelope as delivered: the receipt's
//! `envelope_id` and `envelope_hash` match what it sent, `from` is the node it sent to, and
//! [`Receipt::verify`] succeeds with that node's registry key.

use ed25519_dalek::Signature;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::{EnvelopeId, NodeId};

use crate::b64;
use crate::canonical::{Canonical, domain};
use crate::keys::{NodeKeys, PublicKeys};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub envelope_id: EnvelopeId,
    /// SHA-256 of the envelope's signing input, lower-case hex.
    #[serde(with = "b64::hex32")]
    pub envelope_hash: [u8; 32],
    /// The node that received the envelope and signs this receipt.
    pub from: NodeId,
    /// The node that sent the envelope.
    pub to: NodeId,
    pub received_at: Timestamp,
    #[serde(with = "b64::array")]
    pub signature: [u8; 64],
    /// The receiving node's latest signed tree head (its own signature covers it; the receipt's
    /// does not). Absent until the node has signed one. A head that does not parse is taken as
    /// absent: it is gossip, and never makes the receipt itself invalid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_head"
    )]
    pub tree_head: Option<crate::head::SignedTreeHead>,
}

impl Receipt {
    pub fn sign(
        envelope_id: EnvelopeId,
        envelope_hash: [u8; 32],
        to: NodeId,
        received_at: Timestamp,
        from: NodeId,
        keys: &NodeKeys,
    ) -> Self {
        let mut r = Self {
            envelope_id,
            envelope_hash,
            from,
            to,
            received_at,
            signature: [0; 64],
            tree_head: None,
        };
        r.signature = keys.sign(&r.signing_input());
        r
    }

    pub fn signing_input(&self) -> Vec<u8> {
        Canonical::new(domain::RECEIPT)
            .bytes(self.envelope_id.as_bytes())
            .bytes(&self.envelope_hash)
            .str(self.from.as_str())
            .str(self.to.as_str())
            .timestamp(self.received_at)
            .finish()
    }

    pub fn verify(&self, signer: &PublicKeys) -> bool {
        let sig = Signature::from_bytes(&self.signature);
        signer
            .signing
            .verify_strict(&self.signing_input(), &sig)
            .is_ok()
    }
}

fn lenient_head<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::head::SignedTreeHead>, D::Error> {
    let v: Option<serde_json::Value> = serde::Deserialize::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_verify_and_detect_tampering() {
        let k = NodeKeys::generate();
        let r = Receipt::sign(
            EnvelopeId::new_v7(),
            [9; 32],
            "VNM/247".parse().unwrap(),
            hanoinet_core::time::truncate_to_micros(Timestamp::now()),
            "FRA/247".parse().unwrap(),
            &k,
        );
        assert!(r.verify(k.public()));
        let back: Receipt = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let mut bad = r.clone();
        bad.envelope_hash[0] ^= 1;
        assert!(!bad.verify(k.public()));
        assert!(!r.verify(NodeKeys::generate().public()));
    }
}
