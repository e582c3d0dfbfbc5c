//! Envelope parsing, verification, opening, hashing and reduction: any bytes a peer can post to
//! `/federation/v1/envelopes` after the size check.
#![no_main]

use hanoinet_protocol::{Envelope, NodeKeys, Receipt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = NodeKeys::from_secrets(&[7; 32], &[9; 32]).expect("fixed keys");
    if let Ok(env) = Envelope::from_json(data) {
        let _ = env.verify(keys.public());
        let _ = env.open(&keys);
        let hash = env.hash();
        let reduced = env.reduced().to_json();
        assert!(!reduced.is_empty());
        // What is parsed survives a round trip unchanged.
        let again = Envelope::from_json(env.to_json().as_bytes()).expect("own output parses");
        assert_eq!(again.hash(), hash);
    }
    // Receipts come back from peers too.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(r) = serde_json::from_str::<Receipt>(text)
    {
        let _ = r.verify(keys.public());
    }
});
