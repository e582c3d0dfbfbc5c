//! The canonical encoding: the exact bytes that are signed, hashed and bound as AAD.
//!
//! A canonical byte string is a sequence of fields, each `u32` big-endian length followed by the
//! field's bytes. The first field is always a domain-separation label (e.g.
//! `hanoinet/v1/envelope`), so a signature made for one message kind can never verify as another.
//! Timestamps are `i64` big-endian microseconds since the Unix epoch; UUIDs are their 16 bytes;
//! an absent optional value is a zero-length field.

use jiff::Timestamp;

/// Domain-separation labels, one per signed or bound structure.
pub mod domain {
    pub const ENVELOPE: &str = "hanoinet/v1/envelope";
    pub const ENVELOPE_AAD: &str = "hanoinet/v1/envelope-aad";
    pub const RECEIPT: &str = "hanoinet/v1/receipt";
    pub const REGISTRY: &str = "hanoinet/v1/registry";
    /// HPKE `info` for envelope payloads.
    pub const HPKE_INFO: &str = "hanoinet/v1/envelope-payload";
}

/// Builds a canonical byte string field by field.
#[derive(Debug, Clone)]
pub struct Canonical(Vec<u8>);

impl Canonical {
    pub fn new(domain: &str) -> Self {
        let mut c = Self(Vec::with_capacity(256));
        c.bytes(domain.as_bytes());
        c
    }

    /// Appends one length-prefixed field.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        // Every field is bounded by MAX_ENVELOPE_BYTES long before u32::MAX.
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(b);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    pub fn timestamp(&mut self, t: Timestamp) -> &mut Self {
        self.bytes(&t.as_microsecond().to_be_bytes())
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let out = Canonical::new("d").str("ab").bytes(&[]).finish();
        assert_eq!(out, [0, 0, 0, 1, b'd', 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 0]);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = Canonical::new("d").str("ab").str("c").finish();
        let b = Canonical::new("d").str("a").str("bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn timestamps_are_big_endian_microseconds() {
        let t = Timestamp::from_microsecond(1).unwrap();
        let out = Canonical::new("").timestamp(t).finish();
        assert_eq!(&out[4..], &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]);
    }
}
