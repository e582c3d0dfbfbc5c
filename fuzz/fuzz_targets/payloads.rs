//! Payload decoding per kind and the receiver's validation of a request's fields: what a peer
//! can put inside a sealed envelope once it opens.
#![no_main]

use hanoinet_node::ops::data::{ChunkPayload, TransferPayload};
use hanoinet_node::payload::{MessagePayload, ProposalPayload, RequestPayload, StatusUpdatePayload};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(p) = serde_json::from_slice::<RequestPayload>(rest) {
                let mut body = Value::Object(p.fields.clone());
                body["type"] = p.request_type.as_str().into();
                body["to"] = "FRA/247".into();
                let _ = hanoinet_core::request::validate_new_request(&body);
            }
        }
        1 => {
            let _ = serde_json::from_slice::<StatusUpdatePayload>(rest);
        }
        2 => {
            let _ = serde_json::from_slice::<ProposalPayload>(rest);
        }
        3 => {
            let _ = serde_json::from_slice::<MessagePayload>(rest);
        }
        4 => {
            let _ = serde_json::from_slice::<TransferPayload>(rest);
        }
        _ => {
            let _ = serde_json::from_slice::<ChunkPayload>(rest);
        }
    }
});
