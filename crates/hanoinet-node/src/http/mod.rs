//! The HTTP front end: the REST API (`/api/v1`), the federation endpoint (`/federation/v1`),
//! the ledger routes, the OpenAPI document. The only module that knows axum, status codes and
//! JSON views; every handler reads its input, calls one use case in [`crate::ops`] and renders
//! the result.

use std::sync::Arc;

use axum::Router;

use crate::node::Node;

pub mod api;
pub mod catalogue;
pub mod data;
pub mod error;
pub mod extract;
pub mod federation;
pub mod ledger;
pub mod listener;
pub mod openapi;
pub mod views;

/// Every route, on one `Node`.
pub fn router(state: Arc<Node>) -> Router {
    api::routes()
        .merge(data::routes())
        .merge(federation::routes())
        .merge(ledger::api_routes())
        .merge(ledger::federation_routes())
        .layer(axum::middleware::from_fn(json_bodies_only))
        .with_state(state)
}

/// A request with a body is JSON: a declared `Content-Type` must be `application/json` (or
/// `…+json`), except on an attachment upload, which is the file's bytes. Text sent as
/// `text/plain`, or a form, is not taken for JSON.
async fn json_bodies_only(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let upload = req.uri().path().ends_with("/attachments");
    // An absent type is taken for JSON; a declared one must say JSON.
    let json = h.get(header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
    });
    if has_body && !upload && !json {
        return error::ApiError::new(
            error::ErrorCode::UnsupportedMediaType,
            "request bodies are JSON: send them with Content-Type: application/json",
        )
        .into_response();
    }
    next.run(req).await
}
