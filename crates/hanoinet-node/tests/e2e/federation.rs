//! The federation endpoint: one test per rejection code, replay, and the order of checks.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use hanoinet_core::{EnvelopeId, NodeId};
use hanoinet_node::provision::dir;
use hanoinet_protocol::payload::RequestPayload;
use hanoinet_protocol::{Envelope, Header, KindName, NodeKeys, PublicKeys};

use crate::harness::*;

both_backends!(
    every_rejection_has_its_code_and_stores_nothing,
    a_replayed_envelope_gets_the_same_receipt_and_no_second_effect
);

fn keys(net: &Net, i: usize) -> NodeKeys {
    NodeKeys::from_key_file_json(&dir::read(&net.file.nodes[i].dir.join(dir::KEYS_FILE)).unwrap())
        .unwrap()
}

fn header(from: &str, to: &str, kind: &str, created_at: Timestamp) -> Header {
    Header {
        id: EnvelopeId::new_v7(),
        from: from.parse::<NodeId>().unwrap(),
        to: to.parse::<NodeId>().unwrap(),
        kind: KindName::new(kind).unwrap(),
        created_at: hanoinet_core::time::truncate_to_micros(created_at),
        in_reply_to: None,
    }
}

fn request_payload() -> Vec<u8> {
    let mut fields = preservation("FRA/247");
    let o = fields.as_object_mut().unwrap();
    o.remove("type");
    o.remove("to");
    let p = json!({"request_id": hanoinet_core::RequestId::new_v7(), "type": "preservation", "created_at": Timestamp::now(), "fields": fields});
    let _: RequestPayload = serde_json::from_value(p.clone()).unwrap();
    serde_json::to_vec(&p).unwrap()
}

fn seal(h: Header, payload: &[u8], sender: &NodeKeys, recipient: &PublicKeys) -> Envelope {
    Envelope::seal(h, payload, sender, recipient, &mut rand::rng()).unwrap()
}

async fn every_rejection_has_its_code_and_stores_nothing(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let (vnm, fra) = (keys(&net, VNM), keys(&net, FRA));
    let now = Timestamp::now();
    let good = || {
        seal(
            header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
            &request_payload(),
            &vnm,
            fra.public(),
        )
    };

    let mut cases: Vec<(&str, Vec<u8>, u16, &str)> = Vec::new();
    cases.push((
        "oversized",
        vec![b' '; hanoinet_protocol::MAX_ENVELOPE_BYTES + 1],
        413,
        "envelope_too_large",
    ));
    cases.push((
        "not JSON (CBOR)",
        vec![0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02],
        400,
        "malformed_envelope",
    ));
    cases.push((
        "JSON but not an envelope",
        br#"{"hello":"world"}"#.to_vec(),
        400,
        "malformed_envelope",
    ));
    let stranger = NodeKeys::generate();
    let e = seal(
        header("ZZZ/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
        &request_payload(),
        &stranger,
        fra.public(),
    );
    cases.push((
        "unknown sender",
        e.to_json().into_bytes(),
        403,
        "unknown_sender",
    ));
    // Signed by a key that is not VNM's registry key.
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
        &request_payload(),
        &stranger,
        fra.public(),
    );
    cases.push((
        "bad signature",
        e.to_json().into_bytes(),
        401,
        "bad_signature",
    ));
    let mut e = good();
    e.ciphertext[3] ^= 0x55;
    cases.push((
        "tampered ciphertext",
        e.to_json().into_bytes(),
        401,
        "bad_signature",
    ));
    let mut e = good();
    e.header.kind = KindName::new(KindName::STATUS_UPDATE).unwrap();
    cases.push((
        "tampered header",
        e.to_json().into_bytes(),
        401,
        "bad_signature",
    ));
    let e = seal(
        header("VNM/247", "KEN/247", KindName::PRESERVATION_REQUEST, now),
        &request_payload(),
        &vnm,
        keys(&net, KEN).public(),
    );
    cases.push((
        "wrong recipient",
        e.to_json().into_bytes(),
        421,
        "wrong_recipient",
    ));
    let old = now.checked_sub(SignedDuration::from_hours(25)).unwrap();
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, old),
        &request_payload(),
        &vnm,
        fra.public(),
    );
    cases.push(("stale", e.to_json().into_bytes(), 400, "stale_envelope"));
    let future = now.checked_add(SignedDuration::from_mins(30)).unwrap();
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, future),
        &request_payload(),
        &vnm,
        fra.public(),
    );
    cases.push((
        "from the future",
        e.to_json().into_bytes(),
        400,
        "stale_envelope",
    ));
    let e = seal(
        header("VNM/247", "FRA/247", "extradition_request", now),
        &request_payload(),
        &vnm,
        fra.public(),
    );
    cases.push((
        "unsupported kind",
        e.to_json().into_bytes(),
        422,
        "unsupported_kind",
    ));
    // Correctly signed by VNM, but sealed to the wrong key: FRA cannot open it.
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
        &request_payload(),
        &vnm,
        keys(&net, KEN).public(),
    );
    cases.push((
        "undecryptable payload",
        e.to_json().into_bytes(),
        422,
        "undecryptable_payload",
    ));
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
        b"{\"request_id\": 1}",
        &vnm,
        fra.public(),
    );
    cases.push((
        "invalid payload",
        e.to_json().into_bytes(),
        422,
        "invalid_payload",
    ));
    let mut incomplete: Value = serde_json::from_slice(&request_payload()).unwrap();
    incomplete["fields"]["necessity"] = json!("");
    let e = seal(
        header("VNM/247", "FRA/247", KindName::PRESERVATION_REQUEST, now),
        &serde_json::to_vec(&incomplete).unwrap(),
        &vnm,
        fra.public(),
    );
    cases.push((
        "payload missing an Art. 42 field",
        e.to_json().into_bytes(),
        422,
        "invalid_payload",
    ));
    let decision = json!({"request_id": hanoinet_core::RequestId::new_v7(), "expect_seq": 2, "steps": [{"status": "acknowledged", "at": now, "by": "requested"}], "delivered_at": now});
    let e = seal(
        header("VNM/247", "FRA/247", KindName::STATUS_UPDATE, now),
        &serde_json::to_vec(&decision).unwrap(),
        &vnm,
        fra.public(),
    );
    cases.push((
        "decision on a request never sent",
        e.to_json().into_bytes(),
        422,
        "unknown_request",
    ));

    for (name, body, status, code) in cases {
        let (s, v) = net.post_raw(FRA, body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (status, Some(code)),
            "{name}: {v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    // Nothing was stored.
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (0, 0));

    // And the genuine article is accepted.
    let (s, receipt) = net.post_raw(FRA, good().to_json().into_bytes()).await;
    assert_eq!(s, 201, "{receipt}");
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (1, 1));
}

async fn a_replayed_envelope_gets_the_same_receipt_and_no_second_effect(
    backend: hanoinet_store::testing::Backend,
) {
    let net = Net::start(backend).await;
    let (vnm, fra) = (keys(&net, VNM), keys(&net, FRA));
    let env = seal(
        header(
            "VNM/247",
            "FRA/247",
            KindName::PRESERVATION_REQUEST,
            Timestamp::now(),
        ),
        &request_payload(),
        &vnm,
        fra.public(),
    );
    let body = env.to_json().into_bytes();
    let (s1, r1) = net.post_raw(FRA, body.clone()).await;
    assert_eq!(s1, 201, "{r1}");
    // Concurrent and sequential replays.
    let replays = futures_join(&net, body.clone(), 8).await;
    for (s, r) in replays {
        assert_eq!(s, 200);
        assert_eq!(r, r1);
    }
    assert_eq!(net.store(FRA).inbox_counts().await.unwrap(), (1, 1));
    let receipt: hanoinet_protocol::Receipt = serde_json::from_value(r1).unwrap();
    assert_eq!(receipt.envelope_id, env.header.id);
    assert_eq!(receipt.envelope_hash, env.hash());
    assert!(receipt.verify(fra.public()));
}

async fn futures_join(net: &Net, body: Vec<u8>, n: usize) -> Vec<(u16, Value)> {
    let mut set = Vec::new();
    for _ in 0..n {
        let (http, url, body) = (
            net.http.clone(),
            format!("{}/federation/v1/envelopes", net.url(FRA)),
            body.clone(),
        );
        set.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }));
    }
    let mut out = Vec::new();
    for t in set {
        out.push(t.await.unwrap());
    }
    out
}
