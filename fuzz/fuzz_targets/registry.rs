//! Registry parsing: the signed file, the registry inside it (after its signature verifies),
//! its validation and the entry-into-force arithmetic computed from it.
#![no_main]

use hanoinet_protocol::registry::{Registry, SignedRegistry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let depositary = hanoinet_protocol::keys::DepositaryKey::from_secret(&[5; 32]);
    if let Ok(signed) = SignedRegistry::parse(text) {
        let _ = signed.verify(&depositary.public());
    }
    // The part that only a correctly signed file reaches.
    if let Ok(reg) = serde_json::from_str::<Registry>(text)
        && reg.validate().is_ok()
    {
        let _ = reg.general_in_force_from();
        let _ = reg.party_facts();
        for s in &reg.states {
            let _ = reg.in_force(s);
            let _ = s.has_dual_criminality_reservation();
        }
        for n in &reg.nodes {
            let _ = n.public_keys();
        }
    }
});
