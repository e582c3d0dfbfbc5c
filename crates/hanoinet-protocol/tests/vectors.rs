//! Protocol test vectors (`testvectors/v1.json`): this implementation must reproduce every byte,
//! and must accept and open the recorded envelope. Regenerate (only when the protocol version
//! changes) with `HANOINET_WRITE_VECTORS=1 cargo test -p hanoinet-protocol --test vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;

use serde_json::{Value, json};

use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_protocol::keys::DepositaryKey;
use hanoinet_protocol::registry::{NodeEntry, NodeRole, Registry, SignedRegistry, StateEntry};
use hanoinet_protocol::{Envelope, Header, KindName, NodeKeys, Receipt, b64};

/// Hands out fixed bytes as "randomness" so that HPKE's ephemeral key is the vector's `ikm_e`.
struct FixedRng(Vec<u8>);

impl rand::TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(
            self.0.len() >= dst.len(),
            "vector ran out of fixed randomness"
        );
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}
impl rand::TryCryptoRng for FixedRng {}

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

const SENDER_SIGNING_SECRET: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const SENDER_ENCRYPTION_SECRET: &str =
    "1111111111111111111111111111111111111111111111111111111111111111";
const RECIPIENT_SIGNING_SECRET: &str =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const RECIPIENT_ENCRYPTION_SECRET: &str =
    "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
const DEPOSITARY_SECRET: &str = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";

fn generate() -> Value {
    let sender =
        NodeKeys::from_secrets(&h32(SENDER_SIGNING_SECRET), &h32(SENDER_ENCRYPTION_SECRET))
            .unwrap();
    let recipient = NodeKeys::from_secrets(
        &h32(RECIPIENT_SIGNING_SECRET),
        &h32(RECIPIENT_ENCRYPTION_SECRET),
    )
    .unwrap();
    let header = Header {
        id: "01a20000-0000-7000-8000-000000000001"
            .parse::<EnvelopeId>()
            .unwrap(),
        from: "VNM/247".parse::<NodeId>().unwrap(),
        to: "FRA/247".parse::<NodeId>().unwrap(),
        kind: KindName::new(KindName::PRESERVATION_REQUEST).unwrap(),
        created_at: "2026-11-22T08:00:00.123456Z".parse().unwrap(),
        in_reply_to: Some("01a20000-0000-7000-8000-000000000000".parse().unwrap()),
    };
    let payload = br#"{"request_id":"01a20000-0000-7000-8000-0000000000aa","type":"preservation"}"#;
    let mut rng = FixedRng(hex::decode(IKM_E).unwrap());
    let env = Envelope::seal(
        header.clone(),
        payload,
        &sender,
        recipient.public(),
        &mut rng,
    )
    .unwrap();

    let receipt = Receipt::sign(
        env.header.id,
        env.hash(),
        header.from.clone(),
        "2026-11-22T08:00:01Z".parse().unwrap(),
        header.to.clone(),
        &recipient,
    );

    let depositary = DepositaryKey::from_secret(&h32(DEPOSITARY_SECRET));
    let mut registry = Registry::new("2026-11-22T00:00:00Z".parse().unwrap(), true);
    registry.upsert_state(StateEntry {
        signed: Some("2025-10-25".parse().unwrap()),
        languages: vec!["vi".into(), "en".into()],
        ..StateEntry::new("VNM".parse().unwrap(), "Viet Nam")
    });
    registry.upsert_node(NodeEntry::new(
        "VNM/247".parse().unwrap(),
        NodeRole::PointOfContact,
        "https://247.example.vn".into(),
        sender.public(),
    ));
    let signed = registry.sign(&depositary).unwrap();

    let approval = hanoinet_protocol::approval::Approval::sign(
        "01a20000-0000-7000-8000-0000000000aa".parse().unwrap(),
        header.id,
        header.from.clone(),
        "user:01a20000-0000-7000-8000-0000000000b1",
        hanoinet_protocol::approval::SUPERVISOR,
        "user:01a20000-0000-7000-8000-0000000000b2",
        "2026-11-22T07:59:00Z".parse().unwrap(),
        &sender,
    );
    let onward = hanoinet_protocol::authorization::OnwardAuthorization::sign(
        "01a20000-0000-7000-8000-0000000000c1",
        "VNM/247".parse().unwrap(),
        "KEN/247".parse().unwrap(),
        "Joint prosecution",
        1,
        "2026-11-22T09:00:00Z".parse().unwrap(),
        &recipient,
        "FRA/247".parse().unwrap(),
    );

    json!({
        "description": "hanoinet protocol v1 test vectors; see PROTOCOL.md. Secrets are hex; binary outputs are hex or standard base64 as labelled.",
        "approval": {
            "signer_signing_secret": SENDER_SIGNING_SECRET,
            "approval": serde_json::to_value(&approval).unwrap(),
            "signing_input_hex": hex::encode(approval.signing_input()),
        },
        "onward_authorization": {
            "signer_signing_secret": RECIPIENT_SIGNING_SECRET,
            "authorization": serde_json::to_value(&onward).unwrap(),
            "signing_input_hex": hex::encode(onward.signing_input()),
        },
        "reduced_envelope": {
            "of": "envelope.wire_json",
            "reduced_json": env.reduced().to_json(),
        },
        "derived_secret": {
            "signing_secret": SENDER_SIGNING_SECRET,
            "label": "hanoinet/v1/ledger-commitment-key",
            "secret_hex": hex::encode(*sender.derive_secret("hanoinet/v1/ledger-commitment-key")),
        },
        "envelope": {
            "sender_signing_secret": SENDER_SIGNING_SECRET,
            "sender_signing_public_b64": sender.public().signing_b64(),
            "recipient_encryption_secret": RECIPIENT_ENCRYPTION_SECRET,
            "recipient_encryption_public_b64": recipient.public().encryption_b64(),
            "ikm_e": IKM_E,
            "header": serde_json::to_value(&header).unwrap(),
            "payload_utf8": std::str::from_utf8(payload).unwrap(),
            "aad_hex": hex::encode(header.aad()),
            "signing_input_hex": hex::encode(env.signing_input()),
            "envelope_hash_hex": hex::encode(env.hash()),
            "enc_b64": b64::encode(&env.enc),
            "ciphertext_b64": b64::encode(&env.ciphertext),
            "signature_b64": b64::encode(&env.signature),
            "wire_json": env.to_json(),
        },
        "receipt": {
            "signer_signing_secret": RECIPIENT_SIGNING_SECRET,
            "signer_signing_public_b64": recipient.public().signing_b64(),
            "receipt": serde_json::to_value(&receipt).unwrap(),
            "signing_input_hex": hex::encode(receipt.signing_input()),
        },
        "registry": {
            "depositary_secret": DEPOSITARY_SECRET,
            "depositary_public_b64": depositary.public_b64(),
            "signed": serde_json::to_value(&signed).unwrap(),
        }
    })
}

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors/v1.json")
}

#[test]
fn vectors_are_reproduced_byte_for_byte() {
    let fresh = generate();
    if std::env::var_os("HANOINET_WRITE_VECTORS").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(
        fresh, recorded,
        "the protocol's bytes changed; this breaks every other implementation"
    );
}

#[test]
fn recorded_envelope_verifies_and_opens() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let e = &v["envelope"];
    let env = Envelope::from_json(e["wire_json"].as_str().unwrap().as_bytes()).unwrap();
    let sender =
        NodeKeys::from_secrets(&h32(SENDER_SIGNING_SECRET), &h32(SENDER_ENCRYPTION_SECRET))
            .unwrap();
    let recipient = NodeKeys::from_secrets(
        &h32(RECIPIENT_SIGNING_SECRET),
        &h32(RECIPIENT_ENCRYPTION_SECRET),
    )
    .unwrap();
    env.verify(sender.public()).unwrap();
    assert_eq!(
        env.open(&recipient).unwrap(),
        e["payload_utf8"].as_str().unwrap().as_bytes()
    );
    assert_eq!(
        hex::encode(env.hash()),
        e["envelope_hash_hex"].as_str().unwrap()
    );

    let receipt: Receipt = serde_json::from_value(v["receipt"]["receipt"].clone()).unwrap();
    assert!(receipt.verify(recipient.public()));
    assert_eq!(receipt.envelope_hash, env.hash());

    let approval: hanoinet_protocol::approval::Approval =
        serde_json::from_value(v["approval"]["approval"].clone()).unwrap();
    assert!(approval.verify(sender.public()));
    let onward: hanoinet_protocol::authorization::OnwardAuthorization =
        serde_json::from_value(v["onward_authorization"]["authorization"].clone()).unwrap();
    assert!(onward.verify(recipient.public()));

    let signed: SignedRegistry = serde_json::from_value(v["registry"]["signed"].clone()).unwrap();
    let dep = DepositaryKey::from_secret(&h32(DEPOSITARY_SECRET));
    let reg = signed.verify(&dep.public()).unwrap();
    assert_eq!(reg.nodes[0].signing_key, sender.public().signing_b64());
}

#[test]
fn signing_input_layout_matches_the_specification() {
    // PROTOCOL.md: u32-BE length-prefixed fields, starting with the domain label.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let input = hex::decode(v["envelope"]["signing_input_hex"].as_str().unwrap()).unwrap();
    let mut fields = Vec::new();
    let mut rest = &input[..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        fields.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    assert_eq!(fields.len(), 9);
    assert_eq!(fields[0], b"hanoinet/v1/envelope");
    assert_eq!(fields[2], b"VNM/247");
    assert_eq!(fields[3], b"FRA/247");
    assert_eq!(fields[4], b"preservation_request");
    let micros = i64::from_be_bytes(fields[5].clone().try_into().unwrap());
    assert_eq!(
        micros,
        "2026-11-22T08:00:00.123456Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_microsecond()
    );
    assert_eq!(fields[7].len(), 32);
}
