//! The API's JSON bodies: strict parsing (repeated members, depth), then the validation of a new
//! request, a move and a decision, for every request type.
#![no_main]

use hanoinet_core::request::{RequestType, RequestedStateFacts, validate_decision, validate_move};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = hanoinet_core::json::parse(data) else {
        return;
    };
    if let Ok(new) = hanoinet_core::request::validate_new_request(&v) {
        // What validates carries its facts.
        assert!(hanoinet_core::request::RequestFacts::of(&new.fields).is_some());
    }
    for t in RequestType::ALL {
        for reservation in [false, true] {
            let facts = RequestedStateFacts {
                has_dual_criminality_reservation: reservation,
                offence_outside_convention: !reservation,
                requires_dual_criminality: reservation,
            };
            let _ = validate_move(&v, t, facts);
            let _ = validate_decision(&v, t, facts);
        }
    }
    if let Some(s) = v.as_str() {
        for lines in [hanoinet_core::text::Lines::One, hanoinet_core::text::Lines::Many] {
            if let Ok(t) = hanoinet_core::text::clean(s, 500, lines) {
                // Clean text is a fixed point of the policy.
                assert_eq!(hanoinet_core::text::clean(&t, 500, lines).as_deref(), Ok(t.as_str()));
            }
        }
    }
});
