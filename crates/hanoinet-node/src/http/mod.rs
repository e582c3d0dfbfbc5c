//! The HTTP front end: the REST API (`/api/v1`), the federation endpoint (`/federation/v1`),
//! the ledger routes, the OpenAPI document. The only module that knows axum, status codes and
//! JSON views; every handler reads its input, calls one use case in [`crate::ops`] and renders
//! the result.

use std::sync::Arc;

use axum::Router;

use crate::node::Node;

pub mod api;
pub mod catalogue;
pub mod console;
pub mod data;
pub mod error;
pub mod extract;
pub mod federation;
pub mod i18n;
pub mod idempotency;
pub mod ledger;
pub mod listener;
pub mod lookup;
pub mod openapi;
pub mod openapi_centre;
pub mod public;
pub mod public_feeds;
pub mod public_form;
pub mod public_pages;
pub mod reports;
pub mod views;

/// A group of routes that remembers its paths, so the OpenAPI test can compare the router
/// with the document.
#[derive(Default)]
pub struct Routes {
    router: Router<Arc<Node>>,
    paths: Vec<&'static str>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("paths", &self.paths)
            .finish()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(
        mut self,
        path: &'static str,
        method: axum::routing::MethodRouter<Arc<Node>>,
    ) -> Self {
        self.router = self.router.route(path, method);
        self.paths.push(path);
        self
    }

    /// The routes as a router, for a listener of their own.
    pub fn into_router(self) -> Router<Arc<Node>> {
        self.router
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Bodies of these routes are read by their handlers, each with its own limit and error
    /// code; axum's default limit is off.
    pub fn own_body_limits(mut self) -> Self {
        self.router = self
            .router
            .layer(axum::extract::DefaultBodyLimit::disable());
        self
    }
}

fn all() -> Routes {
    api::routes()
        .merge(data::routes())
        .merge(reports::routes())
        .merge(federation::routes())
        .merge(ledger::api_routes())
        .merge(ledger::federation_routes())
}

/// Every path the router serves.
pub fn paths() -> Vec<&'static str> {
    all().paths
}

/// Every route, on one `Node`.
pub fn router(state: Arc<Node>) -> Router {
    all()
        .router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn(json_bodies_only))
        .merge(console::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// Counts each answered request by route template, method and status for `GET /metrics`.
async fn count_requests(
    axum::extract::State(state): axum::extract::State<Arc<Node>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    // A client may send any method name: only the standard ones name a label.
    let method = match *req.method() {
        axum::http::Method::GET => "GET",
        axum::http::Method::POST => "POST",
        axum::http::Method::PUT => "PUT",
        axum::http::Method::DELETE => "DELETE",
        axum::http::Method::HEAD => "HEAD",
        axum::http::Method::OPTIONS => "OPTIONS",
        axum::http::Method::PATCH => "PATCH",
        _ => "other",
    };
    let response = next.run(req).await;
    state
        .metrics
        .http_request(&route, method, response.status().as_u16());
    response
}

/// A request with a body is JSON: a declared `Content-Type` must be `application/json` (or
/// `…+json`), except on an attachment upload (one call, or a `PATCH` to a resumable upload),
/// which is the file's bytes. Text sent as
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
    let path = req.uri().path();
    let upload = path.ends_with("/attachments")
        || (req.method() == axum::http::Method::PATCH && path.contains("/uploads/"));
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
