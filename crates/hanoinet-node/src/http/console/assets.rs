//! The console's static files: its stylesheet and script, and the vendored htmx (pinned, served
//! with the Subresource Integrity hash the pages carry; a test recomputes the hash).

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::node::Node;

const HTMX: &str = include_str!("../../../assets/vendor/htmx-2.0.11.min.js");
const SSE: &str = include_str!("../../../assets/vendor/htmx-ext-sse-2.2.4.js");
pub(crate) const CSS: &str = include_str!("../../../assets/console.css");
const JS: &str = include_str!("../../../assets/console.js");

/// `integrity` of `htmx.min.js` (htmx.org 2.0.11).
pub const HTMX_INTEGRITY: &str =
    "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg";
/// `integrity` of `htmx-sse.js` (htmx-ext-sse 2.2.4).
pub const SSE_INTEGRITY: &str =
    "sha384-QA9wXqexhwzXTuTvuF5QP82pddm3R2hy81UzXi7ioNTqNF2b75hlkkSGjafohhL3";

pub fn routes() -> Router<Arc<Node>> {
    Router::new().route("/console/{file}", get(file))
}

async fn file(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "htmx-sse.js" => (SSE, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::Digest;

    fn sri(text: &str) -> String {
        let d = sha2::Sha384::digest(text.as_bytes());
        format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(d)
        )
    }

    #[test]
    fn the_integrity_hashes_are_the_files() {
        assert_eq!(sri(HTMX), HTMX_INTEGRITY);
        assert_eq!(sri(SSE), SSE_INTEGRITY);
    }

    #[test]
    fn scripts_stay_light() {
        // A page's weight budget is 150 KB with its CSS and JS.
        assert!(HTMX.len() + SSE.len() + CSS.len() + JS.len() < 90 * 1024);
    }
}
