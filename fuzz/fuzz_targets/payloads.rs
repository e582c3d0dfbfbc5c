//! Payload decoding per kind and the receiver's validation of a request's fields: what a peer
//! can put inside a sealed envelope once it opens. Uses the protocol crate alone, as an
//! independent implementation would.
#![no_main]

use hanoinet_protocol::payload::{Decoded, Kind, decode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(selector) % Kind::ALL.len()];
    if let Ok(Decoded::Request(p)) = decode(kind, rest) {
        let mut body = Value::Object(p.fields.clone());
        body["type"] = p.request_type.as_str().into();
        body["to"] = "FRA/247".into();
        let _ = hanoinet_core::request::validate_new_request(&body);
    }
});
