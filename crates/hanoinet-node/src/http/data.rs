//! The data routes: attachments (upload, download), transfers with their Art. 36 conditions,
//! onward-transfer requests and authorizations, forwarding, Art. 43(1) traffic disclosure.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::http::error::ApiResult;
use crate::http::extract::{AuthUser, officer_action};
use crate::http::views::{
    AttachmentView, MessageView, TransferView, attachment_view, message_view, request_view,
    transfer_view,
};
use crate::node::Node;
use crate::ops::{give, onward, upload};

type S = State<Arc<Node>>;

pub fn routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/api/v1/requests/{id}/attachments", post(upload))
        .route("/api/v1/requests/{id}/attachments/{aid}", get(download))
        .route("/api/v1/requests/{id}/data", post(send).get(list))
        .route(
            "/api/v1/requests/{id}/data/{tid}/onward-requests",
            post(onward_request),
        )
        .route(
            "/api/v1/requests/{id}/data/{tid}/onward-authorizations",
            post(onward_authorize),
        )
        .route("/api/v1/requests/{id}/data/{tid}/forward", post(forward))
        .route(
            "/api/v1/requests/{id}/traffic-disclosure",
            post(art43_disclosure),
        )
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

/// `POST /api/v1/requests/{id}/attachments?name=FILE`: the raw body, streamed into chunks.
async fn upload(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<AttachmentView>)> {
    let max = state.tunables.max_attachment_bytes;
    let mut source = BodySource {
        body,
        pause: state.tunables.body_read_timeout,
    };
    match upload::upload(&state, &user, &id, q.name.as_deref(), &mut source).await {
        Ok(a) => Ok((StatusCode::CREATED, Json(attachment_view(&a)))),
        Err(e) => {
            if e.code() == ErrorCode::PayloadTooLarge {
                // Read (and drop) a little more, so the client gets the answer, not a reset.
                source.drain(max.saturating_mul(2)).await;
            }
            Err(e.into())
        }
    }
}

/// An upload's body, read with a deadline between two pieces.
struct BodySource {
    body: Body,
    pause: std::time::Duration,
}

impl BodySource {
    async fn drain(&mut self, up_to: usize) {
        use http_body_util::BodyExt;
        let mut seen = 0usize;
        while seen <= up_to {
            match self.body.frame().await {
                Some(Ok(f)) => seen += f.into_data().map(|d| d.len()).unwrap_or(0),
                _ => break,
            }
        }
    }
}

impl upload::ByteSource for BodySource {
    async fn next(&mut self) -> Option<NodeResult<bytes::Bytes>> {
        use http_body_util::BodyExt;
        loop {
            let Ok(next) = tokio::time::timeout(self.pause, self.body.frame()).await else {
                return Some(Err(NodeError::refused(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the upload paused for more than {} s; send it again",
                        self.pause.as_secs()
                    ),
                )));
            };
            let frame = match next? {
                Ok(f) => f,
                Err(e) => {
                    return Some(Err(NodeError::refused(
                        ErrorCode::IncompleteBody,
                        format!("the upload ended before its declared length: {e}"),
                    )));
                }
            };
            if let Ok(data) = frame.into_data() {
                return Some(Ok(data));
            }
        }
    }
}

/// `POST /api/v1/requests/{id}/traffic-disclosure`: Art. 43(1) (see [`give::disclose_traffic`]).
async fn art43_disclosure(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let t = give::disclose_traffic(&state, &user, &id, body).await?;
    Ok((StatusCode::CREATED, Json(transfer_view(&t))))
}

/// `POST /api/v1/requests/{id}/data`: `{conditions, results?, attachments?: [ids]}`.
async fn send(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let t = give::give(&state, &user, &id, body).await?;
    Ok((StatusCode::CREATED, Json(transfer_view(&t))))
}

/// `GET /api/v1/requests/{id}/data`.
async fn list(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let out = give::transfers(&state, &user, &id).await?;
    Ok(Json(
        json!({"transfers": out.iter().map(transfer_view).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/requests/{id}/attachments/{aid}`: the content, while it is held.
async fn download(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, aid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (a, bytes) = give::attachment(&state, &user, &id, &aid).await?;
    Ok(attachment_response(&a, bytes))
}

/// An attachment's bytes as a download named after it (the API's and the console's).
pub fn attachment_response(a: &hanoinet_store::Attachment, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, content_disposition(&a.name)),
        ],
        bytes,
    )
        .into_response()
}

/// `POST .../data/{tid}/onward-requests` (the node that received the data): asks the original
/// sender for an onward-transfer authorization.
async fn onward_request(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let (m, rec) = onward::request_onward(&state, &user, &id, &tid, body).await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(&m, &rec))))
}

/// `POST .../data/{tid}/onward-authorizations` (the node that sent the data): signs and sends an
/// authorization to pass this transfer on to `to` for `purpose`.
async fn onward_authorize(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let (m, rec) = onward::authorize_onward(&state, &user, &id, &tid, body).await?;
    Ok((StatusCode::CREATED, Json(message_view(&m, &rec))))
}

/// `POST .../data/{tid}/forward` (the node that received the data): passes it on to a third
/// node as spontaneous information, only with the original sender's authorization (Art. 36).
async fn forward(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, tid)): Path<(String, String)>,
    body: Body,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let (new, sent) = onward::forward(&state, &user, &id, &tid, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"request": request_view(&state, &new), "transfer": transfer_view(&sent)})),
    ))
}

/// `Content-Disposition` for a download (RFC 6266): an ASCII fallback name and the exact name
/// as UTF-8 in `filename*` (RFC 8187). Names never hold control or bidi-override characters
/// (refused at upload and on receipt).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn downloads_name_the_file_in_ascii_and_utf8() {
        assert_eq!(
            super::content_disposition("nhật ký \"a\".csv"),
            "attachment; filename=\"nh_t k_ _a_.csv\"; filename*=UTF-8''nh%E1%BA%ADt%20k%C3%BD%20%22a%22.csv"
        );
    }
}
