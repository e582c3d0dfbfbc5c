//! Signed tree heads: the node's signed statement of its log's size and root at a time. They
//! travel in receipts and payloads (gossip), so the wire format owns them; the ledger crate
//! builds and verifies the trees they commit to.
//!
//! Signing input = canonical(`hanoinet/v1/tree-head`, log_id, tree_size (u64 big-endian),
//! root_hash (32 bytes), timestamp (i64 big-endian microseconds)); Ed25519 with the node's registry
//! signing key. What a verifier MUST check: the signature with the registry key of the node named
//! by `log_id`, and, against every earlier head it holds, a consistency proof.

use crate::keys::Signature;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::canonical::Canonical;
use crate::{NodeKeys, PublicKeys, b64};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

pub const DOMAIN: &str = "hanoinet/v1/tree-head";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The log's id: the node id.
    pub log_id: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub timestamp: Timestamp,
}

impl TreeHead {
    pub fn signing_input(&self) -> Vec<u8> {
        Canonical::new(DOMAIN)
            .str(&self.log_id)
            .bytes(&self.tree_size.to_be_bytes())
            .bytes(&self.root_hash)
            .timestamp(self.timestamp)
            .finish()
    }

    pub fn sign(self, keys: &NodeKeys) -> SignedTreeHead {
        let signature = keys.sign(&self.signing_input());
        SignedTreeHead {
            head: self,
            signature,
        }
    }
}

/// A tree head with its signature; JSON `{"log_id","tree_size","root_hash","timestamp","signature"}`
/// with the root in hex and the signature in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub signature: [u8; 64],
}

impl SignedTreeHead {
    pub fn verify(&self, signer: &PublicKeys) -> bool {
        let sig = Signature::from_bytes(&self.signature);
        signer
            .signing
            .verify_strict(&self.head.signing_input(), &sig)
            .is_ok()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    log_id: String,
    tree_size: u64,
    #[serde(with = "b64::hex32")]
    root_hash: Hash,
    timestamp: Timestamp,
    #[serde(with = "b64::array")]
    signature: [u8; 64],
}

impl Serialize for SignedTreeHead {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            log_id: self.head.log_id.clone(),
            tree_size: self.head.tree_size,
            root_hash: self.head.root_hash,
            timestamp: self.head.timestamp,
            signature: self.signature,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SignedTreeHead {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        if w.timestamp.subsec_nanosecond() % 1000 != 0 {
            return Err(serde::de::Error::custom(
                "timestamp has more than microsecond precision",
            ));
        }
        Ok(Self {
            head: TreeHead {
                log_id: w.log_id,
                tree_size: w.tree_size,
                root_hash: w.root_hash,
                timestamp: w.timestamp,
            },
            signature: w.signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_sign_verify_and_round_trip() {
        let k = NodeKeys::generate();
        let head = TreeHead {
            log_id: "VNM/247".into(),
            tree_size: 42,
            root_hash: [7; 32],
            timestamp: "2026-11-22T08:00:00.5Z".parse().unwrap(),
        };
        let sth = head.sign(&k);
        assert!(sth.verify(k.public()));
        let json = serde_json::to_value(&sth).unwrap();
        assert_eq!(json["root_hash"], hex::encode([7u8; 32]));
        assert_eq!(json["tree_size"], 42);
        let back: SignedTreeHead = serde_json::from_value(json).unwrap();
        assert_eq!(back, sth);
        let mut bad = sth.clone();
        bad.head.tree_size = 43;
        assert!(!bad.verify(k.public()));
        assert!(!sth.verify(NodeKeys::generate().public()));
    }
}
