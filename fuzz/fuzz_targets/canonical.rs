//! The canonical encoding and what is decoded from it: ledger entries (as auditors download
//! them), tree heads and authorizations.
#![no_main]

use hanoinet_ledger::{Entry, SignedTreeHead};
use hanoinet_protocol::canonical::Canonical;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Entry::decode(data) {
        // Decoding then encoding gives back the same bytes: one encoding per entry.
        assert_eq!(e.encode(), data);
    }
    // Any split of the input into fields encodes without ambiguity.
    let mut c = Canonical::new("hanoinet/v1/fuzz");
    for part in data.split(|b| *b == 0xff) {
        c.bytes(part);
    }
    let bytes = c.finish();
    assert!(bytes.len() >= data.len());
    if let Ok(text) = std::str::from_utf8(data) {
        let keys = hanoinet_protocol::NodeKeys::from_secrets(&[1; 32], &[2; 32]).expect("keys");
        if let Ok(h) = serde_json::from_str::<SignedTreeHead>(text) {
            let _ = h.verify(keys.public());
        }
        if let Ok(a) =
            serde_json::from_str::<hanoinet_protocol::authorization::OnwardAuthorization>(text)
        {
            let _ = a.verify(keys.public());
        }
        if let Ok(a) = serde_json::from_str::<hanoinet_protocol::approval::Approval>(text) {
            let _ = a.verify(keys.public());
        }
    }
});
