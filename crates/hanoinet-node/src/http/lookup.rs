//! The public indicator lookup, on the public listener, no key: `GET /lookup/v1/hashes/{prefix}`
//! answers every served indicator whose identity (`sha256("<type>:<canonical>")`, PROTOCOL.md
//! §8) starts with the 4 to 8 hex digits asked, so the asker never says which value they hold.
//! The answer is padded to a size class (the length does not tell how many matched), cacheable
//! (`ETag`, `Cache-Control`), and nothing of the call is logged.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use hanoinet_core::request::FieldCode;

use crate::http::error::{field_error, validation_failed};
use crate::lookup::Prefix;
use crate::node::Node;

/// The smallest answer, in bytes; larger ones are this times a power of two.
pub const SIZE_CLASS: usize = 1024;
/// How long a client or cache may keep an answer.
pub const MAX_AGE_SECS: u32 = 60;

pub fn routes() -> Router<Arc<Node>> {
    Router::new().route("/lookup/v1/hashes/{prefix}", get(by_prefix))
}

/// The size class a body of `n` bytes is padded to.
pub fn size_class(n: usize) -> usize {
    let mut class = SIZE_CLASS;
    while class < n {
        class *= 2;
    }
    class
}

async fn by_prefix(
    State(state): State<Arc<Node>>,
    Path(prefix): Path<String>,
    headers: HeaderMap,
) -> Response {
    let p = match Prefix::parse(&prefix) {
        Ok(p) => p,
        Err(why) => {
            return validation_failed(vec![field_error(
                "prefix",
                FieldCode::Invalid,
                format!("{why}, got {prefix:?}"),
            )])
            .into_response();
        }
    };
    let snap = match state.lookup.snapshot() {
        Some(s) => s,
        // Not built yet (the node just started): build it now rather than answer wrongly.
        None => match state.lookup.refresh(&state.store).await {
            Ok(_) => state.lookup.snapshot().unwrap_or_default(),
            Err(e) => {
                return crate::http::error::ApiError::from(crate::error::NodeError::from(e))
                    .into_response();
            }
        },
    };
    let now = state.clock.now().as_second();
    let mut body = format!("{{\"prefix\":\"{prefix}\",\"matches\":[");
    for (i, (h, m)) in snap.with_prefix(p, now).iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!("{{\"hash\":\"{}\",\"category\":", hex::encode(h)));
        match m.category() {
            Some(c) => body.push_str(&format!("\"{}\"", c.as_str())),
            None => body.push_str("null"),
        }
        body.push('}');
    }
    body.push(']');
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let cache = format!("public, max-age={MAX_AGE_SECS}");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // `,"padding":"…"}` fills the body to its size class.
        let frame = ",\"padding\":\"\"}".len();
        let target = size_class(body.len() + frame);
        body.push_str(",\"padding\":\"");
        body.push_str(&"0".repeat(target - body.len() - 2));
        body.push_str("\"}");
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_double_from_one_kibibyte() {
        assert_eq!(size_class(0), 1024);
        assert_eq!(size_class(1024), 1024);
        assert_eq!(size_class(1025), 2048);
        assert_eq!(size_class(5000), 8192);
    }
}
