//! Property tests: the canonical encoding is injective, sealing round-trips, and any change to a
//! sealed envelope is caught.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_protocol::canonical::Canonical;
use hanoinet_protocol::{Envelope, Header, KindName, NodeKeys};

fn encode(fields: &[Vec<u8>]) -> Vec<u8> {
    let mut c = Canonical::new("test");
    for f in fields {
        c.bytes(f);
    }
    c.finish()
}

fn header(created_us: i64, reply: bool) -> Header {
    Header {
        id: EnvelopeId::new_v7(),
        from: "VNM/247".parse::<NodeId>().unwrap(),
        to: "FRA/247".parse::<NodeId>().unwrap(),
        kind: KindName::new(KindName::PRESERVATION_REQUEST).unwrap(),
        created_at: jiff::Timestamp::from_microsecond(created_us).unwrap(),
        in_reply_to: reply.then(EnvelopeId::new_v7),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn canonical_encoding_is_injective(
        a in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..5),
        b in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 0..5),
    ) {
        prop_assert_eq!(encode(&a) == encode(&b), a == b);
    }

    #[test]
    fn seal_and_open_round_trip(
        payload in proptest::collection::vec(any::<u8>(), 0..4096),
        created_us in 0i64..4_000_000_000_000_000,
        reply in any::<bool>(),
    ) {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let env = Envelope::seal(header(created_us, reply), &payload, &a, b.public(), &mut rand::rng()).unwrap();
        let back = Envelope::from_json(env.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&back, &env);
        back.verify(a.public()).unwrap();
        prop_assert_eq!(back.open(&b).unwrap(), payload);
    }

    #[test]
    fn any_flipped_bit_is_detected(
        payload in proptest::collection::vec(any::<u8>(), 1..512),
        which in 0usize..3,
        index in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (a, b) = (NodeKeys::generate(), NodeKeys::generate());
        let mut env = Envelope::seal(header(1_800_000_000_000_000, false), &payload, &a, b.public(), &mut rand::rng()).unwrap();
        match which {
            0 => { let i = index.index(env.ciphertext.len()); env.ciphertext[i] ^= 1 << bit; }
            1 => { let i = index.index(32); env.enc[i] ^= 1 << bit; }
            _ => { let i = index.index(64); env.signature[i] ^= 1 << bit; }
        }
        prop_assert!(env.verify(a.public()).is_err());
        prop_assert!(which == 2 || env.open(&b).is_err());
    }
}
