//! Envelopes: a plain header, a payload sealed to the recipient with HPKE, and the sender's
//! Ed25519 signature over the canonical encoding of both.
//!
//! Sealing uses HPKE base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305; the AAD binds the envelope id, sender, recipient and kind, so a ciphertext
//! cannot be replayed under another header. The signature authenticates the sender.
//!
//! What a receiver MUST check, in this order: the sender is in the registry, [`Envelope::verify`]
//! with the sender's registry key, the recipient is itself, `created_at` is fresh, the id has not
//! been seen before; only then [`Envelope::open`].

use ed25519_dalek::Signature;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use hanoinet_core::{EnvelopeId, NodeId};

use crate::b64;
use crate::canonical::{Canonical, domain};
use crate::keys::{Kem, NodeKeys, PublicKeys};

/// An envelope kind as the header names it: lower-case ASCII letters, digits and `_`, 1 to 64
/// characters. A name this version does not handle still verifies (the receiver answers
/// `unsupported_kind`); [`crate::payload::Kind`] is the set it handles.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KindName(String);

impl KindName {
    pub const PRESERVATION_REQUEST: &'static str = "preservation_request";
    /// The requested node's moves of a request, in its order (PROTOCOL.md §5).
    pub const STATUS_UPDATE: &'static str = "status_update";
    /// A move the requesting side asks the requested node to make.
    pub const STATUS_PROPOSAL: &'static str = "status_proposal";
    /// A message about a request: status enquiry, answer, declined proposal.
    pub const REQUEST_MESSAGE: &'static str = "request_message";
    /// Data given in answer to a request, with its Art. 36 conditions (§5.2).
    pub const DATA_TRANSFER: &'static str = "data_transfer";
    /// One chunk of an attachment of a data transfer.
    pub const DATA_CHUNK: &'static str = "data_chunk";

    pub fn new(s: &str) -> Result<Self, EnvelopeError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(EnvelopeError::Malformed(format!("bad kind {s:?}")))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of a kind this crate defines (always valid).
    pub(crate) fn known(s: &'static str) -> Self {
        Self(s.to_owned())
    }

    /// The kind this version handles, if it is one.
    pub fn handled(&self) -> Option<crate::payload::Kind> {
        crate::payload::Kind::parse(&self.0)
    }
}

impl TryFrom<String> for KindName {
    type Error = EnvelopeError;
    fn try_from(s: String) -> Result<Self, EnvelopeError> {
        Self::new(&s)
    }
}

impl From<KindName> for String {
    fn from(k: KindName) -> String {
        k.0
    }
}

/// The plain, signed header of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub id: EnvelopeId,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: KindName,
    /// When the sender (last) signed the envelope, microsecond precision.
    pub created_at: Timestamp,
    /// The envelope this one answers, if any.
    #[serde(default)]
    pub in_reply_to: Option<EnvelopeId>,
}

/// A signed, sealed envelope in its JSON wire form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub header: Header,
    /// HPKE encapsulated key (32 bytes), base64.
    #[serde(with = "b64::array")]
    pub enc: [u8; 32],
    /// HPKE ciphertext of the payload (payload + 16-byte tag), base64.
    #[serde(with = "b64::vec")]
    pub ciphertext: Vec<u8>,
    /// Ed25519 signature over [`Envelope::signing_input`], base64.
    #[serde(with = "b64::array")]
    pub signature: [u8; 64],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("malformed envelope: {0}")]
    Malformed(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("payload could not be sealed")]
    Seal,
    #[error("payload could not be opened")]
    Open,
}

impl Header {
    /// The AAD bound into the HPKE ciphertext.
    pub fn aad(&self) -> Vec<u8> {
        Canonical::new(domain::ENVELOPE_AAD)
            .bytes(self.id.as_bytes())
            .str(self.from.as_str())
            .str(self.to.as_str())
            .str(self.kind.as_str())
            .finish()
    }
}

impl Envelope {
    /// Seals `payload` to `recipient` and signs the result as `sender`.
    pub fn seal(
        header: Header,
        payload: &[u8],
        sender: &NodeKeys,
        recipient: &PublicKeys,
        rng: &mut impl rand::CryptoRng,
    ) -> Result<Self, EnvelopeError> {
        let (enc, ciphertext) =
            hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
                &OpModeS::Base,
                &recipient.encryption,
                domain::HPKE_INFO.as_bytes(),
                payload,
                &header.aad(),
                rng,
            )
            .map_err(|_| EnvelopeError::Seal)?;
        let mut env = Self {
            header,
            enc: enc.to_bytes().into(),
            ciphertext,
            signature: [0; 64],
        };
        env.signature = sender.sign(&env.signing_input());
        Ok(env)
    }

    /// Re-signs the envelope with a new `created_at`, keeping its id and sealed payload. Used by
    /// the outbox when an undelivered envelope would otherwise fall out of the freshness window.
    pub fn restamp(&mut self, created_at: Timestamp, sender: &NodeKeys) {
        self.header.created_at = created_at;
        self.signature = sender.sign(&self.signing_input());
    }

    /// The canonical bytes the sender signs.
    pub fn signing_input(&self) -> Vec<u8> {
        let h = &self.header;
        Canonical::new(domain::ENVELOPE)
            .bytes(h.id.as_bytes())
            .str(h.from.as_str())
            .str(h.to.as_str())
            .str(h.kind.as_str())
            .timestamp(h.created_at)
            .bytes(h.in_reply_to.as_ref().map_or(&[][..], |id| id.as_bytes()))
            .bytes(&self.enc)
            .bytes(&self.ciphertext)
            .finish()
    }

    /// SHA-256 of the signing input: what a receipt acknowledges.
    pub fn hash(&self) -> [u8; 32] {
        crate::sha256(&self.signing_input())
    }

    /// Verifies the sender's signature (strict Ed25519).
    pub fn verify(&self, sender: &PublicKeys) -> Result<(), EnvelopeError> {
        let sig = Signature::from_bytes(&self.signature);
        sender
            .signing
            .verify_strict(&self.signing_input(), &sig)
            .map_err(|_| EnvelopeError::BadSignature)
    }

    /// Opens the sealed payload with the recipient's keys.
    pub fn open(&self, recipient: &NodeKeys) -> Result<Vec<u8>, EnvelopeError> {
        let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&self.enc)
            .map_err(|_| EnvelopeError::Open)?;
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            recipient.encryption_key(),
            &enc,
            domain::HPKE_INFO.as_bytes(),
            &self.ciphertext,
            &self.header.aad(),
        )
        .map_err(|_| EnvelopeError::Open)
    }

    /// Parses the JSON wire form. Rejects unknown fields, wrong lengths and timestamps with more
    /// than microsecond precision (they would not survive the canonical encoding).
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let env: Self =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if env.header.created_at.subsec_nanosecond() % 1000 != 0 {
            return Err(EnvelopeError::Malformed(
                "created_at has more than microsecond precision".into(),
            ));
        }
        Ok(env)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What a node keeps of a received envelope once the content it carried is purged (Art. 36
    /// retention): the header, the hash its receipt acknowledges and the sender's signature. It
    /// proves what was received and when, and nothing in it opens to the content.
    pub fn reduced(&self) -> ReducedEnvelope {
        ReducedEnvelope {
            header: self.header.clone(),
            envelope_hash: self.hash(),
            signature: self.signature,
        }
    }
}

/// An envelope with its sealed content removed (see [`Envelope::reduced`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReducedEnvelope {
    pub header: Header,
    /// SHA-256 of the envelope's signing input, hex.
    #[serde(with = "hex_array")]
    pub envelope_hash: [u8; 32],
    #[serde(with = "b64::array")]
    pub signature: [u8; 64],
}

impl ReducedEnvelope {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(D::Error::custom)?;
        v.try_into()
            .map_err(|_| D::Error::custom("expected 32 bytes of hex"))
    }
}

impl From<crate::payload::Kind> for KindName {
    fn from(k: crate::payload::Kind) -> Self {
        k.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            id: EnvelopeId::new_v7(),
            from: "VNM/247".parse().unwrap(),
            to: "FRA/247".parse().unwrap(),
            kind: KindName::new(KindName::PRESERVATION_REQUEST).unwrap(),
            created_at: hanoinet_core::time::truncate_to_micros(Timestamp::now()),
            in_reply_to: None,
        }
    }

    #[test]
    fn seal_verify_open_round_trip() {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        for payload in [&b""[..], b"x", &[7u8; 70_000]] {
            let env = Envelope::seal(header(), payload, &a, b.public(), &mut rand::rng()).unwrap();
            let back = Envelope::from_json(env.to_json().as_bytes()).unwrap();
            assert_eq!(back, env);
            back.verify(a.public()).unwrap();
            assert_eq!(back.open(&b).unwrap(), payload);
            // Only the recipient can open it.
            assert_eq!(back.open(&a), Err(EnvelopeError::Open));
        }
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let env = Envelope::seal(header(), b"payload", &a, b.public(), &mut rand::rng()).unwrap();
        let mut tampered = env.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(
            tampered.verify(a.public()),
            Err(EnvelopeError::BadSignature)
        );
        let mut tampered = env.clone();
        tampered.header.to = "KEN/247".parse().unwrap();
        assert_eq!(
            tampered.verify(a.public()),
            Err(EnvelopeError::BadSignature)
        );
        let mut tampered = env.clone();
        tampered.header.in_reply_to = Some(EnvelopeId::new_v7());
        assert_eq!(
            tampered.verify(a.public()),
            Err(EnvelopeError::BadSignature)
        );
        assert_eq!(env.verify(b.public()), Err(EnvelopeError::BadSignature));
    }

    #[test]
    fn a_ciphertext_does_not_open_under_another_header() {
        // A sender that re-signs someone else's ciphertext under a new header (a different id)
        // cannot make the recipient open it: the AAD binds the id.
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let mut env =
            Envelope::seal(header(), b"payload", &a, b.public(), &mut rand::rng()).unwrap();
        env.header.id = EnvelopeId::new_v7();
        env.restamp(env.header.created_at, &a);
        env.verify(a.public()).unwrap();
        assert_eq!(env.open(&b), Err(EnvelopeError::Open));
    }

    #[test]
    fn restamping_keeps_the_payload() {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let mut env =
            Envelope::seal(header(), b"payload", &a, b.public(), &mut rand::rng()).unwrap();
        let later = env
            .header
            .created_at
            .checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap();
        env.restamp(later, &a);
        env.verify(a.public()).unwrap();
        assert_eq!(env.open(&b).unwrap(), b"payload");
    }

    #[test]
    fn malformed_wire_forms_are_rejected() {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let env = Envelope::seal(header(), b"p", &a, b.public(), &mut rand::rng()).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&env.to_json()).unwrap();
        for (path, value) in [
            ("/enc", serde_json::json!("AAAA")),
            ("/signature", serde_json::json!("not base64!")),
            ("/header/kind", serde_json::json!("Bad Kind")),
            ("/header/from", serde_json::json!("nobody")),
            (
                "/header/created_at",
                serde_json::json!("2026-11-22T08:00:00.1234567Z"),
            ),
        ] {
            let mut bad = v.clone();
            *bad.pointer_mut(path).unwrap() = value;
            assert!(
                Envelope::from_json(bad.to_string().as_bytes()).is_err(),
                "{path}"
            );
        }
        v["extra"] = serde_json::json!(1);
        assert!(Envelope::from_json(v.to_string().as_bytes()).is_err());
        assert!(Envelope::from_json(b"\xa1\x01\x02").is_err());
    }
}
