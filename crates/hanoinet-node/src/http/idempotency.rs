//! `Idempotency-Key` on the API's creating POSTs: a client that lost the connection sends the
//! same call again with the same key and gets the first answer, whether or not that answer
//! reached it. Same key and same call (method, path, query, body) → the stored answer with
//! `Idempotent-Replayed: true`; same key and another call → `422 idempotency_key_reused`; the
//! call still running → `409 idempotency_key_in_use` with `Retry-After`. Keys are per user,
//! kept for 24 hours, in the database (every replica answers the same). A call that fails with
//! an internal error is forgotten, so that its retry runs again. A request's creation marks its
//! key in the same transaction: a node killed between the creation and the storing of the
//! answer answers the retry with that request, never with a second one. Attachment uploads
//! (streamed bodies) are outside this layer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use hanoinet_store::{IdempotencyRef, Reservation};

use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{AuthUser, read_body};
use crate::node::Node;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The answer header on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
use crate::node::IDEMPOTENCY_KEEP as KEEP;
/// How long a running call holds its key before a retry may take it over.
const RESERVE: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);
/// The largest answer stored (answers to creating calls are a request or a message).
const MAX_ANSWER: usize = 4 << 20;

/// The key a creating call runs under, for the use case to mark in its transaction.
#[derive(Debug, Clone)]
pub struct Claim(pub IdempotencyRef);

/// The middleware over the API routes.
pub async fn layer(State(state): State<Arc<Node>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() != Method::POST
        || !path.starts_with("/api/v1/")
        || path.ends_with("/attachments")
    {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k) if valid_key(k) => k.to_owned(),
        _ => {
            return ApiError::new(
                ErrorCode::ValidationFailed,
                "Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good one)",
            )
            .into_response();
        }
    };
    let (mut parts, body) = req.into_parts();
    let user = match AuthUser::from_request_parts(&mut parts, &state).await {
        Ok(AuthUser(u)) => u,
        Err(e) => return e.into_response(),
    };
    let bytes = match read_body(&state, body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let fingerprint = fingerprint(
        &parts.method,
        parts.uri.path_and_query().map_or("", |p| p.as_str()),
        &bytes,
    );
    let key = IdempotencyRef {
        user_id: user.id.clone(),
        key,
    };
    let now = state.clock.now();
    let reserved = state
        .store
        .reserve_idempotency(
            &key,
            &fingerprint,
            now,
            now.saturating_add(RESERVE).unwrap_or(now),
            now.saturating_sub(KEEP).unwrap_or(now),
        )
        .await;
    match reserved {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Reservation::Reserved) => {
            parts.extensions.insert(Claim(key.clone()));
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            finish(&state, &key, resp).await
        }
        Ok(Reservation::Replay { status, response }) => replayed(status, response),
        Ok(Reservation::Mismatch) => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with another call (method, path or body); use a new key for a new call",
        )
        .into_response(),
        Ok(Reservation::InProgress {
            request_id: Some(id),
            stale: true,
        }) => {
            // The process that created the request died before it stored the answer.
            match crate::ops::requests::open(&state, &user, &id).await {
                Ok((rec, _)) => {
                    let view = crate::http::views::request_view(&state, &rec);
                    let body = serde_json::to_string(&view).unwrap_or_default();
                    if let Err(e) = state
                        .store
                        .complete_idempotency(&key, StatusCode::CREATED.as_u16(), &body)
                        .await
                    {
                        return ApiError::from(e).into_response();
                    }
                    replayed(StatusCode::CREATED.as_u16(), body)
                }
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Ok(Reservation::InProgress { .. }) => {
            let mut r = ApiError::new(
                ErrorCode::IdempotencyKeyInUse,
                "a call with this Idempotency-Key is still running; retry in a moment",
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// Stores the answer (or forgets the key after an internal error) and passes it on.
async fn finish(state: &Node, key: &IdempotencyRef, resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ANSWER).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "reading an answer to store under its Idempotency-Key");
            let _ = state.store.release_idempotency(key).await;
            return ApiError::new(ErrorCode::Internal, "internal error").into_response();
        }
    };
    let stored = if parts.status.is_server_error() {
        state.store.release_idempotency(key).await
    } else {
        state
            .store
            .complete_idempotency(key, parts.status.as_u16(), &String::from_utf8_lossy(&bytes))
            .await
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "storing an answer under its Idempotency-Key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static(REPLAYED),
                HeaderValue::from_static("true"),
            ),
        ],
        body,
    )
        .into_response()
}

fn valid_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

/// SHA-256 over the method, the path with its query and the body, each length-prefixed.
fn fingerprint(method: &Method, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [method.as_str().as_bytes(), path_and_query.as_bytes(), body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_fingerprints() {
        assert!(valid_key("0189c0de-0000-7000-8000-000000000001"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(256)));
        let a = fingerprint(&Method::POST, "/api/v1/requests", b"{}");
        assert_eq!(a, fingerprint(&Method::POST, "/api/v1/requests", b"{}"));
        assert_ne!(a, fingerprint(&Method::POST, "/api/v1/requests", b"{ }"));
        // Length prefixes: moving bytes between the path and the body changes the print.
        assert_ne!(
            fingerprint(&Method::POST, "/a", b"b"),
            fingerprint(&Method::POST, "/ab", b"")
        );
    }
}
