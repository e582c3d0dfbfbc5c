//! Ledger test vectors (`testvectors/v1.json`): entry encoding, leaf hashes, roots, proofs and a
//! signed tree head. Regenerate only when the format changes, with
//! `HANOINET_WRITE_VECTORS=1 cargo test -p hanoinet-ledger --test vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

use hanoinet_ledger::tree::{Plan, build, leaf_hash};
use hanoinet_ledger::{Entry, SignedTreeHead, TreeHead, verify};
use hanoinet_protocol::{NodeKeys, b64};

const SIGNING_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const ENCRYPTION_SECRET: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn keys() -> NodeKeys {
    let s: [u8; 32] = hex::decode(SIGNING_SECRET).unwrap().try_into().unwrap();
    let e: [u8; 32] = hex::decode(ENCRYPTION_SECRET).unwrap().try_into().unwrap();
    NodeKeys::from_secrets(&s, &e).unwrap()
}

fn entries() -> Vec<Entry> {
    let at = |s: &str| s.parse().unwrap();
    vec![
        Entry::new(
            "node_started",
            at("2026-11-22T08:00:00Z"),
            "VNM/247",
            "system".into(),
            "registry:1".into(),
        )
        .attr("registry", Entry::commitment(b"registry")),
        Entry::new(
            "request_created",
            at("2026-11-22T08:01:00.000001Z"),
            "VNM/247",
            "user:01a20000-0000-7000-8000-000000000007".into(),
            "request:01a20000-0000-7000-8000-0000000000aa".into(),
        )
        .attr("type", "preservation")
        .attr("peer", "FRA/247")
        .attr("fields", Entry::commitment(b"{\"offence\":\"fraud\"}")),
        Entry::new(
            "request_delivered",
            at("2026-11-22T08:01:00.5Z"),
            "VNM/247",
            "node:FRA/247".into(),
            "request:01a20000-0000-7000-8000-0000000000aa".into(),
        ),
        Entry::new(
            "request_opened",
            at("2026-11-22T08:02:00Z"),
            "VNM/247",
            "user:01a20000-0000-7000-8000-000000000007".into(),
            "request:01a20000-0000-7000-8000-0000000000aa".into(),
        ),
        Entry::new(
            "response_received",
            at("2026-11-22T09:00:00Z"),
            "VNM/247",
            "node:FRA/247".into(),
            "request:01a20000-0000-7000-8000-0000000000aa".into(),
        )
        .attr("decision", "refused")
        .attr("grounds", "essential_interests"),
    ]
}

fn hexes(v: &[[u8; 32]]) -> Vec<String> {
    v.iter().map(hex::encode).collect()
}

fn generate() -> Value {
    let es = entries();
    let bytes: Vec<Vec<u8>> = es.iter().map(Entry::encode).collect();
    let (_, nodes) = build(bytes.iter().map(Vec::as_slice));
    let roots: Vec<String> = (1..=5)
        .map(|n| hex::encode(Plan::Root { size: n }.compute(&nodes).unwrap()[0]))
        .collect();
    let root5 = Plan::Root { size: 5 }.compute(&nodes).unwrap()[0];
    let head = TreeHead {
        log_id: "VNM/247".into(),
        tree_size: 5,
        root_hash: root5,
        timestamp: "2026-11-22T09:00:01Z".parse().unwrap(),
    };
    let signing_input = head.signing_input();
    let sth = head.sign(&keys());
    json!({
        "description": "hanoinet ledger v1 test vectors; see PROTOCOL.md section 7. Hashes hex, raw bytes base64.",
        "signing_secret": SIGNING_SECRET,
        "signing_public_b64": keys().public().signing_b64(),
        "entries": es.iter().zip(&bytes).map(|(e, b)| json!({
            "event": e.event, "at": e.at, "node": e.node, "actor": e.actor, "subject": e.subject,
            "attributes": e.attributes,
            "leaf_b64": b64::encode(b),
            "leaf_hash": hex::encode(leaf_hash(b)),
        })).collect::<Vec<_>>(),
        "roots": roots,
        "inclusion": {"leaf_index": 1, "tree_size": 5, "inclusion_path": hexes(&Plan::Inclusion { index: 1, size: 5 }.compute(&nodes).unwrap())},
        "consistency": {"first": 3, "second": 5, "consistency_path": hexes(&Plan::Consistency { first: 3, second: 5 }.compute(&nodes).unwrap())},
        "tree_head": {"signing_input_hex": hex::encode(signing_input), "signed": serde_json::to_value(&sth).unwrap()},
    })
}

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testvectors/v1.json")
}

#[test]
fn vectors_are_reproduced_and_verify() {
    let fresh = generate();
    if std::env::var_os("HANOINET_WRITE_VECTORS").is_some() {
        std::fs::write(path(), serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(
        fresh, recorded,
        "the ledger's bytes changed; this breaks every independent verifier"
    );

    // The recorded proofs verify with the independent verifier.
    let leaves: Vec<Vec<u8>> = recorded["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| b64::decode(e["leaf_b64"].as_str().unwrap()).unwrap())
        .collect();
    for l in &leaves {
        assert_eq!(&Entry::decode(l).unwrap().encode(), l);
    }
    let h = |s: &Value| -> [u8; 32] {
        hex::decode(s.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let roots: Vec<[u8; 32]> = recorded["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    let inc: Vec<[u8; 32]> = recorded["inclusion"]["inclusion_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    assert!(verify::inclusion(&leaves[1], 1, 5, &inc, &roots[4]));
    let con: Vec<[u8; 32]> = recorded["consistency"]["consistency_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(h)
        .collect();
    assert!(verify::consistency(3, &roots[2], 5, &roots[4], &con));
    let sth: SignedTreeHead =
        serde_json::from_value(recorded["tree_head"]["signed"].clone()).unwrap();
    assert!(sth.verify(keys().public()));
    assert_eq!(sth.head.root_hash, roots[4]);
}
