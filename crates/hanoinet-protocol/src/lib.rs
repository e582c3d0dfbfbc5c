//! The hanoinet wire protocol: keys, the canonical encoding, envelopes (sealed with HPKE,
//! signed with Ed25519), signed receipts and the depositary-signed registry.
//!
//! Layout: [`canonical`] builds the byte strings that are signed and hashed; [`keys`] holds a
//! node's key pair and its public half; [`envelope`] seals, signs, verifies and opens envelopes;
//! [`receipt`] signs and verifies delivery receipts; [`registry`] signs and verifies the
//! registry. `PROTOCOL.md` at the repository root specifies all of it, and
//! `testvectors/` holds the vectors that `tests` check.
//!
//! **Architecture Invariant:** no cryptographic primitive is implemented here. Signatures are
//! ed25519-dalek's `verify_strict`, sealing is the `hpke` crate (RFC 9180), hashing is `sha2`.
//! This crate does no I/O.

pub mod approval;
pub mod authorization;
pub mod b64;
pub mod canonical;
pub mod envelope;
pub mod head;
pub mod keys;
pub mod payload;
pub mod receipt;
pub mod registry;

pub use envelope::{Envelope, EnvelopeError, Header, KindName};
pub use keys::{NodeKeys, PublicKeys};
pub use payload::{Kind, Payload};
pub use receipt::Receipt;
pub use registry::{Registry, SignedRegistry};

/// Largest envelope, in bytes of its JSON form, that a node accepts.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;
/// Where a node receives envelopes, under its registry URL (PROTOCOL.md §3).
pub const ENVELOPES_PATH: &str = "/federation/v1/envelopes";

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
