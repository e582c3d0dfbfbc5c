//! Giving data on a request from the console: the Art. 36 conditions, a summary of the results
//! and a file, in one multipart form (it works without JavaScript; with it, htmx sends it and
//! shows the upload's progress). The file is staged by the API's upload use case and sent with
//! the transfer by the API's give use case; a transfer that is refused drops the staged file.
//! Also the extension of an accepted preservation (Art. 42), asked or granted.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::case::again_with;
use super::requests::value_of;
use super::{Console, see_other};
use crate::error::{NodeError, NodeResult};
use crate::node::Node;
use crate::ops;

pub fn routes() -> Router<Arc<Node>> {
    Router::new()
        // The file's size is bounded by the upload use case (`max_attachment_bytes`), as it
        // streams; the other forms keep the console's small limit.
        .route(
            "/requests/{id}/give",
            post(give).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/requests/{id}/extension", post(extension))
}

/// The file part of the form, read as it arrives.
struct FieldSource<'a> {
    field: axum::extract::multipart::Field<'a>,
    /// Longest pause between two reads (as for the API's uploads).
    pause: std::time::Duration,
}

impl ops::upload::ByteSource for FieldSource<'_> {
    async fn next(&mut self) -> Option<NodeResult<bytes::Bytes>> {
        let Ok(next) = tokio::time::timeout(self.pause, self.field.chunk()).await else {
            return Some(Err(NodeError::refused(
                crate::error::ErrorCode::RequestTimeout,
                "the upload paused too long; send it again",
            )));
        };
        match next {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => Some(Err(NodeError::refused(
                crate::error::ErrorCode::IncompleteBody,
                format!("the upload ended early: {e}"),
            ))),
        }
    }
}

/// Where a form that worked goes next: a redirect, or for htmx the header that navigates.
fn done(headers: &HeaderMap, to: &str) -> Response {
    if headers.contains_key("hx-request") {
        let mut r = StatusCode::OK.into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        see_other(to)
    }
}

async fn give(
    State(state): State<Arc<Node>>,
    headers: HeaderMap,
    c: Console,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut staged: Option<hanoinet_store::Attachment> = None;
    let mut csrf_checked = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return c.message(StatusCode::BAD_REQUEST, "error-title", "error-invalid");
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            // The CSRF token comes first in the form: nothing is stored before it is checked.
            if !csrf_checked {
                return c.message(StatusCode::FORBIDDEN, "error-title", "error-csrf");
            }
            let file_name = field.file_name().unwrap_or_default().to_owned();
            if file_name.is_empty() {
                continue;
            }
            let mut source = FieldSource {
                field,
                pause: state.tunables.body_read_timeout,
            };
            match ops::upload::upload(&state, c.user(), &id, Some(&file_name), &mut source).await {
                Ok(a) => staged = Some(a),
                Err(e) => return again_with(&state, &c, &id, e, &values).await,
            }
        } else {
            let text = field.text().await.unwrap_or_default();
            if name == "csrf" {
                if let Err(refused) = c.check_csrf(&text) {
                    return refused;
                }
                csrf_checked = true;
            }
            values.push((name, text));
        }
    }
    if !csrf_checked {
        return c.message(StatusCode::FORBIDDEN, "error-title", "error-csrf");
    }
    let mut body = Map::new();
    body.insert(
        "conditions".into(),
        json!({
            "purpose": value_of(&values, "purpose").trim(),
            "use_limitation": value_of(&values, "use_limitation").trim(),
            "retention_until": value_of(&values, "retention_until").trim(),
            "onward_transfer": value_of(&values, "onward_transfer"),
        }),
    );
    let summary = value_of(&values, "results").trim();
    if !summary.is_empty() {
        body.insert("results".into(), json!({ "summary": summary }));
    }
    if let Some(a) = &staged {
        body.insert("attachments".into(), json!([a.id]));
    }
    match ops::give::give(&state, c.user(), &id, Value::Object(body)).await {
        Ok(_) => done(&headers, &format!("/requests/{id}")),
        Err(e) => {
            if let Some(a) = &staged
                && let Err(drop) = state.store.drop_attachment(&a.id).await
            {
                tracing::warn!(error = %drop, attachment = %a.id, "dropping a staged upload failed");
            }
            again_with(&state, &c, &id, e, &values).await
        }
    }
}

async fn extension(
    State(state): State<Arc<Node>>,
    c: Console,
    Path(id): Path<String>,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    let rec = match super::case::acting_on(&state, &c, &id, value_of(&values, "csrf")).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let mut body = Map::new();
    let days = value_of(&values, "days").trim();
    body.insert(
        "days".into(),
        days.parse::<i64>()
            .map_or_else(|_| Value::from(days), Value::from),
    );
    let note = value_of(&values, "note").trim();
    if !note.is_empty() {
        body.insert("note".into(), Value::from(note));
    }
    match ops::messages::extend(&state, c.user(), &rec, &Value::Object(body)).await {
        Ok(_) => see_other(&format!("/requests/{id}")),
        Err(e) => again_with(&state, &c, &id, e, &values).await,
    }
}
