//! The federation endpoint: where peers deliver envelopes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use hanoinet_protocol::{ENVELOPES_PATH, MAX_ENVELOPE_BYTES};

use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::read_limited;
use crate::node::Node;
use crate::ops::inbound;

pub fn routes() -> crate::http::Routes {
    // The body limit is enforced in the handler so that it answers with its own error code.
    crate::http::Routes::new()
        .route(ENVELOPES_PATH, post(receive))
        .own_body_limits()
}

/// `POST /federation/v1/envelopes`: check 1 (size) here, the rest in [`inbound::receive`].
async fn receive(State(state): State<Arc<Node>>, headers: HeaderMap, body: Body) -> Response {
    let too_large = || {
        ApiError::new(
            ErrorCode::EnvelopeTooLarge,
            format!("envelopes are limited to {MAX_ENVELOPE_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Far too large: refuse without reading. Slightly too large: read (and drop) the rest, so
    // that the sender gets the answer instead of a reset connection.
    let bytes = if declared.is_some_and(|n| n > 2 * MAX_ENVELOPE_BYTES) {
        Err(too_large())
    } else {
        read_limited(body, MAX_ENVELOPE_BYTES, state.tunables.body_read_timeout)
            .await
            .map_err(|e| e.into_api(too_large))
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(code = e.code.as_str(), reason = ?e.message, "inbound envelope rejected");
            return e.into_response();
        }
    };
    let mut authenticated = None;
    match inbound::receive(&state, &bytes, &mut authenticated).await {
        Ok(a) => (
            if a.new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            [(header::CONTENT_TYPE, "application/json")],
            a.receipt,
        )
            .into_response(),
        Err(e) => {
            let code = e.code();
            if code != ErrorCode::Internal {
                // Debug formatting escapes what a peer put in the message (line breaks,
                // escape codes), so it cannot forge log lines.
                tracing::warn!(code = code.as_str(), reason = ?e.to_string(), "inbound envelope rejected");
                // Only a sender whose signature verified names a label: anyone else could
                // make up names without end.
                let sender = authenticated
                    .as_ref()
                    .map_or("unauthenticated".to_owned(), |(_, from, _)| {
                        from.to_string()
                    });
                state.metrics.envelope_rejected(&sender, code.as_str());
                if let Some((id, from, hash)) = authenticated {
                    inbound::log_rejection(&state, id, &from, hash, code).await;
                }
            }
            e.into_response()
        }
    }
}
