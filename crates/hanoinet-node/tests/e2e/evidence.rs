//! Evidence at real size, end to end: a resumable upload that survives a connection cut halfway
//! through a call, refuses bytes at the wrong offset, from another user or beyond its size, and a
//! hash it does not match; `Idempotency-Key` on its creation; a transfer whose chunks are sealed
//! as they go (kept reduced once delivered); downloads streamed with byte ranges.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::harness::*;

both_backends!(resumable_uploads_transfers_and_ranged_downloads);

const KIB: usize = 1024;
const CHUNK: usize = 256 * KIB;

async fn patch(
    net: &Net,
    token: &str,
    path: &str,
    offset: Option<usize>,
    bytes: &[u8],
) -> (u16, Value) {
    let mut req = net
        .http
        .patch(format!("{}{path}", net.url(FRA)))
        .bearer_auth(token)
        .body(bytes.to_vec());
    if let Some(o) = offset {
        req = req.header("Upload-Offset", o.to_string());
    }
    let resp = req.send().await.unwrap();
    let s = resp.status().as_u16();
    (s, resp.json().await.unwrap_or(Value::Null))
}

/// A `PATCH` that declares `declared` bytes and sends only `bytes` before the connection drops.
async fn cut_off(net: &Net, path: &str, offset: usize, declared: usize, bytes: &[u8]) {
    let addr = net.url(FRA).trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nUpload-Offset: {offset}\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\n\r\n",
        net.token(FRA)
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(s);
}

/// A `PATCH` of 64 KiB at `offset` (no header if empty) that the node refuses, and a `GET` of
/// the upload pipelined after it on the same connection; returns all the node answered.
async fn pipelined_after_refusal(net: &Net, path: &str, offset: &str, token: &str) -> String {
    use tokio::io::AsyncReadExt;
    let addr = net.url(FRA).trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let offset = if offset.is_empty() {
        String::new()
    } else {
        format!("Upload-Offset: {offset}\r\n")
    };
    let body = vec![b'x'; 64 * KIB];
    let mut wire = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{offset}Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    wire.extend_from_slice(&body);
    wire.extend_from_slice(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            net.token(FRA)
        )
        .as_bytes(),
    );
    s.write_all(&wire).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn ranged(
    net: &Net,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = net
        .http
        .get(format!("{}{path}", net.url(VNM)))
        .bearer_auth(net.token(VNM));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let s = resp.status().as_u16();
    let h = resp.headers().clone();
    (s, h, resp.bytes().await.unwrap().to_vec())
}

async fn resumable_uploads_transfers_and_ranged_downloads(
    backend: hanoinet_store::testing::Backend,
) {
    let tunables = hanoinet_node::Tunables {
        max_attachment_bytes: 8 << 20,
        ..fast()
    };
    let net = Net::start_tuned(
        backend,
        &IDS,
        std::sync::Arc::new(hanoinet_core::SystemClock),
        |_| {},
        tunables,
    )
    .await;
    let secs = std::time::Duration::from_secs(30);
    let id = net.send_stored_data(VNM, FRA).await;
    net.wait_status(FRA, &id, "delivered").await;
    net.respond(FRA, &id, json!({"decision": "accept"})).await;
    let uploads = format!("/api/v1/requests/{id}/uploads");

    // 3 MiB and 1,000 bytes: twelve whole chunks and a short last one.
    let bytes: Vec<u8> = (0..3 * 1024 * KIB + 1000)
        .map(|i| (i.wrapping_mul(31) % 253) as u8)
        .collect();
    let sha = hex::encode(Sha256::digest(&bytes));

    // Hostile starts: each bad field named.
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": "a/b.img", "size": 10}), "name"),
        (json!({"name": "disk.img"}), "size"),
        (json!({"name": "disk.img", "size": 0}), "size"),
        (json!({"name": "disk.img", "size": "10"}), "size"),
        (json!({"name": "disk.img", "size": 9 << 20}), "size"),
        (
            json!({"name": "disk.img", "size": 10, "sha256": "xyz"}),
            "sha256",
        ),
        (
            json!({"name": "disk.img", "size": 10, "path": "/etc"}),
            "path",
        ),
    ] {
        let (s, v) = net
            .call(FRA, reqwest::Method::POST, &uploads, Some(body.clone()))
            .await;
        assert_eq!(s, 422, "{body}: {v}");
        assert!(
            v["details"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["field"] == field),
            "{body} names {field}: {v}"
        );
    }
    let (s, v) = net
        .call(
            VNM,
            reqwest::Method::POST,
            &uploads,
            Some(json!({"name": "x", "size": 1})),
        )
        .await;
    assert_eq!(s, 409, "the requesting node gives no data on it: {v}");

    // Started once under an Idempotency-Key: the same call again is the same upload.
    let start =
        json!({"name": "disk image.img", "size": bytes.len(), "sha256": sha.to_uppercase()});
    let started = |body: Value| {
        net.http
            .post(format!("{}{uploads}", net.url(FRA)))
            .bearer_auth(net.token(FRA))
            .header("Idempotency-Key", "upload-1")
            .json(&body)
            .send()
    };
    let first = started(start.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        (first["offset"].as_i64(), first["complete"].as_bool()),
        (Some(0), Some(false))
    );
    assert_eq!(first["sha256"], json!(sha), "kept in lower case");
    let again = started(start.clone()).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let other = started(json!({"name": "other.img", "size": 5}))
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 422);
    let uid = first["id"].as_str().unwrap().to_owned();
    let path = format!("{uploads}/{uid}");

    // No offset, a wrong offset: refused, with where it stands.
    let (s, v) = patch(&net, net.token(FRA), &path, None, &bytes[..10]).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = patch(&net, net.token(FRA), &path, Some(5), &bytes[..10]).await;
    assert_eq!(
        (
            s,
            v["details"][0]["code"].as_str(),
            v["details"][0]["offset"].as_i64()
        ),
        (409, Some("upload_offset_mismatch"), Some(0)),
        "{v}"
    );

    // 1 MiB and 100 bytes: four whole chunks are kept, the 100 bytes are not.
    let (s, v) = patch(
        &net,
        net.token(FRA),
        &path,
        Some(0),
        &bytes[..4 * CHUNK + 100],
    )
    .await;
    assert_eq!(
        (s, v["offset"].as_u64()),
        (200, Some(4 * CHUNK as u64)),
        "{v}"
    );

    // The connection drops halfway through the next call: its whole chunks are kept.
    let from = 4 * CHUNK;
    cut_off(
        &net,
        &path,
        from,
        bytes.len() - from,
        &bytes[from..from + 4 * CHUNK + 5000],
    )
    .await;
    let deadline = std::time::Instant::now() + secs;
    let at = loop {
        let at = net.call(FRA, reqwest::Method::GET, &path, None).await.1;
        if at["offset"].as_u64() == Some(8 * CHUNK as u64) || std::time::Instant::now() > deadline {
            break at;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        at["offset"].as_u64(),
        Some(8 * CHUNK as u64),
        "the upload stands after the last whole chunk: {at}"
    );

    // Another officer may not add to it; bytes beyond the declared size are refused.
    let (s, v) = patch(
        &net,
        net.supervisor(FRA),
        &path,
        Some(8 * CHUNK),
        &bytes[8 * CHUNK..],
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("another user"),
        "{v}"
    );
    // A refused PATCH leaves its connection good for the next request: the node reads the body
    // it refused (else it must close the connection, and a client that reuses it at that
    // moment loses its next call). Two requests pipelined on one connection: both answered.
    for (offset, token) in [
        ("1", net.token(FRA)),
        ("", net.token(FRA)),
        ("0", net.supervisor(FRA)),
    ] {
        let answers = pipelined_after_refusal(&net, &path, offset, token).await;
        assert!(
            answers.matches("HTTP/1.1 ").count() == 2 && answers.contains("HTTP/1.1 200"),
            "offset {offset:?}: {answers}"
        );
    }
    let mut too_long = bytes[8 * CHUNK..].to_vec();
    too_long.push(0);
    let (s, v) = patch(&net, net.token(FRA), &path, Some(8 * CHUNK), &too_long).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    let (_, now) = net.call(FRA, reqwest::Method::GET, &path, None).await;
    let resume = usize::try_from(now["offset"].as_u64().unwrap()).unwrap();
    assert!(resume >= 8 * CHUNK && resume < bytes.len(), "{now}");

    // The rest: complete, hashed, an attachment with the upload's id.
    let (s, done) = patch(&net, net.token(FRA), &path, Some(resume), &bytes[resume..]).await;
    assert_eq!((s, done["complete"].as_bool()), (200, Some(true)), "{done}");
    let a = &done["attachment"];
    assert_eq!(
        (
            a["id"].as_str(),
            a["sha256"].as_str(),
            a["size"].as_u64(),
            a["chunks"].as_u64(),
            a["state"].as_str()
        ),
        (
            Some(uid.as_str()),
            Some(sha.as_str()),
            Some(bytes.len() as u64),
            Some(13),
            Some("staged")
        ),
        "{done}"
    );
    let (s, v) = net.call(FRA, reqwest::Method::GET, &path, None).await;
    assert_eq!((s, v["complete"].as_bool()), (200, Some(true)), "{v}");
    let (s, v) = patch(&net, net.token(FRA), &path, Some(bytes.len()), b"x").await;
    assert_eq!(s, 409, "a complete upload takes no more: {v}");

    // A declared hash the bytes do not match: discarded.
    let (s, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &uploads,
            Some(json!({"name": "x.bin", "size": 300 * KIB, "sha256": "0".repeat(64)})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let bad = format!("{uploads}/{}", v["id"].as_str().unwrap());
    let (s, v) = patch(&net, net.token(FRA), &bad, Some(0), &bytes[..300 * KIB]).await;
    assert_eq!(
        (s, v["details"][0]["field"].as_str()),
        (422, Some("sha256")),
        "{v}"
    );
    assert_eq!(net.call(FRA, reqwest::Method::GET, &bad, None).await.0, 404);
    // Abandoned: gone with what it stored.
    let (_, v) = net
        .call(
            FRA,
            reqwest::Method::POST,
            &uploads,
            Some(json!({"name": "y.bin", "size": 600 * KIB})),
        )
        .await;
    let dropped = format!("{uploads}/{}", v["id"].as_str().unwrap());
    let (s, _) = patch(&net, net.token(FRA), &dropped, Some(0), &bytes[..CHUNK]).await;
    assert_eq!(s, 200);
    assert_eq!(
        net.call(FRA, reqwest::Method::DELETE, &dropped, None)
            .await
            .0,
        204
    );
    assert_eq!(
        net.call(FRA, reqwest::Method::GET, &dropped, None).await.0,
        404
    );
    assert_eq!(
        net.call(FRA, reqwest::Method::DELETE, &dropped, None)
            .await
            .0,
        404
    );

    // Given: the transfer and thirteen chunks, sealed as they go.
    let (s, v) = net
        .call(FRA, reqwest::Method::POST, &format!("/api/v1/requests/{id}/data"),
            Some(json!({"conditions": {"purpose": "Investigation 42", "use_limitation": "This case only",
                "retention_until": "2030-01-01", "onward_transfer": "prohibited"}, "attachments": [uid]})))
        .await;
    assert_eq!(s, 201, "{v}");
    let deadline = std::time::Instant::now() + secs;
    let received = loop {
        let t = crate::data::transfers(&net, VNM, &id)
            .await
            .first()
            .cloned()
            .unwrap_or_default();
        if t["attachments"][0]["state"] == "complete" || std::time::Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        received["attachments"][0]["state"], "complete",
        "the attachment arrives whole: {received}"
    );
    let aid = received["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Delivered chunks are kept as proof (header, hash, signature), not as a second copy. The
    // receiver may hold the last chunk a moment before the sender has recorded its receipt.
    let count = |sql: &'static str| {
        let store = net.store(FRA).clone();
        async move {
            hanoinet_store::tamper::execute_raw(&store, sql)
                .await
                .unwrap()
        }
    };
    let delivered = "UPDATE outbox SET attempts = attempts WHERE kind = 'data_chunk' AND delivered_at IS NOT NULL";
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            count(delivered).await == 13
        })
        .await,
        "every chunk's receipt recorded"
    );
    let big = count(
        "UPDATE outbox SET attempts = attempts WHERE kind = 'data_chunk' AND delivered_at IS NOT NULL AND length(envelope) > 4000",
    )
    .await;
    assert_eq!(big, 0);

    // Downloads: all of it, or the range asked for.
    let dl = format!("/api/v1/requests/{id}/attachments/{aid}");
    let (s, h, body) = ranged(&net, &dl, &[]).await;
    assert_eq!(s, 200);
    assert!(body == bytes, "the bytes sent");
    let etag = format!("\"{sha}\"");
    assert_eq!(
        (
            h["etag"].to_str().unwrap(),
            h["accept-ranges"].to_str().unwrap()
        ),
        (etag.as_str(), "bytes")
    );
    assert_eq!(
        h["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    let n = bytes.len();
    for (range, first, last) in [
        (format!("bytes={}-", CHUNK - 10), CHUNK - 10, n - 1),
        (
            format!("bytes={}-{}", CHUNK - 10, CHUNK + 10),
            CHUNK - 10,
            CHUNK + 10,
        ),
        ("bytes=-1500".to_owned(), n - 1500, n - 1),
        (format!("bytes={}-", n - 1), n - 1, n - 1),
        ("bytes=0-0".to_owned(), 0, 0),
    ] {
        let (s, h, body) = ranged(&net, &dl, &[("Range", &range), ("If-Range", &etag)]).await;
        assert_eq!(s, 206, "{range}");
        assert!(body == bytes[first..=last], "{range}");
        assert_eq!(
            h["content-range"].to_str().unwrap(),
            format!("bytes {first}-{last}/{n}")
        );
    }
    let (s, h, _) = ranged(&net, &dl, &[("Range", &format!("bytes={n}-"))]).await;
    assert_eq!(
        (s, h["content-range"].to_str().unwrap()),
        (416, format!("bytes */{n}").as_str())
    );
    let (s, _, body) = ranged(
        &net,
        &dl,
        &[("Range", "bytes=10-"), ("If-Range", "\"other\"")],
    )
    .await;
    assert_eq!((s, body.len()), (200, n), "another version: all of it");
}
