//! Onward-transfer authorizations (Convention Art. 36): the State that transferred data signs,
//! with its node's key, that the receiving node may pass the data of one transfer on to one third
//! node, for one purpose, at most `max_uses` times (once unless it says otherwise). The receiving
//! node keeps the signed document, checks it against the registry key before it forwards
//! anything, sends the data with exactly that purpose, and counts the uses.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::NodeId;

use crate::b64;
use crate::canonical::Canonical;
use crate::keys::{NodeKeys, PublicKeys};

/// Domain label of the signing input.
pub const DOMAIN: &str = "hanoinet/v1/onward-authorization";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnwardAuthorization {
    /// The data transfer the authorization covers.
    pub transfer_id: String,
    /// The node that transferred the data and grants the authorization.
    pub grantor: NodeId,
    /// The node that received the data and may pass it on.
    pub holder: NodeId,
    /// The node it may be passed on to.
    pub third: NodeId,
    pub purpose: String,
    pub granted_at: Timestamp,
    /// How many times the data may be passed on under this authorization (at least 1).
    pub max_uses: u32,
    /// Ed25519 signature by the grantor's registry key over [`Self::signing_input`].
    #[serde(with = "b64::array")]
    pub signature: [u8; 64],
}

impl OnwardAuthorization {
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        transfer_id: &str,
        holder: NodeId,
        third: NodeId,
        purpose: &str,
        max_uses: u32,
        granted_at: Timestamp,
        keys: &NodeKeys,
        grantor: NodeId,
    ) -> Self {
        let mut a = Self {
            transfer_id: transfer_id.to_owned(),
            grantor,
            holder,
            third,
            purpose: purpose.to_owned(),
            granted_at,
            max_uses,
            signature: [0; 64],
        };
        a.signature = keys.sign(&a.signing_input());
        a
    }

    /// Domain, transfer id, grantor, holder, third node, purpose, time, uses (u32 big-endian):
    /// each length-prefixed.
    pub fn signing_input(&self) -> Vec<u8> {
        Canonical::new(DOMAIN)
            .str(&self.transfer_id)
            .str(self.grantor.as_str())
            .str(self.holder.as_str())
            .str(self.third.as_str())
            .str(&self.purpose)
            .timestamp(self.granted_at)
            .bytes(&self.max_uses.to_be_bytes())
            .finish()
    }

    /// Whether `grantor` (its registry keys) signed exactly this document. Callers MUST also
    /// check that `grantor` is the node the data came from, `holder` is themselves, `third` is
    /// the node they forward to, that the data go with `purpose` and no other, and that they
    /// used it fewer than `max_uses` times before.
    pub fn verify(&self, grantor: &PublicKeys) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature);
        grantor
            .signing
            .verify_strict(&self.signing_input(), &sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_by_the_grantor_and_nothing_else() {
        let fra = NodeKeys::generate();
        let other = NodeKeys::generate();
        let node = |s: &str| s.parse::<NodeId>().unwrap();
        let a = OnwardAuthorization::sign(
            "t1",
            node("VNM/247"),
            node("KEN/247"),
            "Joint prosecution",
            1,
            "2026-11-22T10:00:00Z".parse().unwrap(),
            &fra,
            node("FRA/247"),
        );
        assert!(a.verify(fra.public()));
        assert!(!a.verify(other.public()));
        let json = serde_json::to_string(&a).unwrap();
        let back: OnwardAuthorization = serde_json::from_str(&json).unwrap();
        assert!(back.verify(fra.public()));
        for tamper in [
            |a: &mut OnwardAuthorization| a.third = "CHL/247".parse().unwrap(),
            |a: &mut OnwardAuthorization| a.purpose.push('!'),
            |a: &mut OnwardAuthorization| a.transfer_id = "t2".into(),
            |a: &mut OnwardAuthorization| a.holder = "EU/X".parse().unwrap(),
            |a: &mut OnwardAuthorization| a.max_uses = 2,
        ] {
            let mut t = a.clone();
            tamper(&mut t);
            assert!(!t.verify(fra.public()));
        }
    }
}
