//! The data routes: attachments (upload in one call or resumable, download with byte ranges),
//! transfers with their Art. 36 conditions,
//! onward-transfer requests and authorizations, forwarding, Art. 43(1) traffic disclosure.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ErrorCode, NodeError, NodeResult};
use crate::http::error::ApiResult;
use crate::http::extract::{AuthUser, officer_action};
use crate::http::views::{
    AttachmentView, MessageView, TransferView, UploadView, attachment_view, message_view,
    request_view, transfer_view, upload_view,
};
use crate::node::Node;
use crate::ops::{give, onward, upload};

type S = State<Arc<Node>>;

pub fn routes() -> crate::http::Routes {
    crate::http::Routes::new()
        .route("/api/v1/requests/{id}/attachments", post(upload))
        .route("/api/v1/requests/{id}/attachments/{aid}", get(download))
        .route("/api/v1/requests/{id}/uploads", post(start_upload))
        .route(
            "/api/v1/requests/{id}/uploads/{uid}",
            get(upload_status)
                .patch(append_upload)
                .delete(abandon_upload),
        )
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
    /// Reads and drops what is left of the body, up to `up_to` bytes and with the same pause
    /// allowed between two reads, so that a client still sending hears the answer (a server
    /// that answers and closes while bytes keep coming resets the connection, and the client
    /// sees the reset, not the answer).
    async fn drain(&mut self, up_to: usize) {
        use http_body_util::BodyExt;
        let mut seen = 0usize;
        while seen <= up_to {
            match tokio::time::timeout(self.pause, self.body.frame()).await {
                Ok(Some(Ok(f))) => seen += f.into_data().map(|d| d.len()).unwrap_or(0),
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

/// `GET /api/v1/requests/{id}/attachments/{aid}`: the content, while it is held (streamed;
/// `Range` for a part of it).
async fn download(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, aid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let a = give::attachment(&state, &user, &id, &aid).await?;
    Ok(serve_attachment(&state, &user, a, &headers).await?)
}

/// The part of an attachment a download asks for with `Range` (RFC 9110 §14): one range of
/// bytes, or all of it when there is no `Range`, when `If-Range` names another version, or
/// when the range is not one this server serves (several ranges, another unit, bad syntax:
/// ignored, as RFC 9110 allows).
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    All,
    /// First and last byte, inclusive.
    Part(u64, u64),
    /// Starts at or beyond the end.
    Unsatisfiable,
}

pub fn wanted(headers: &HeaderMap, size: u64, etag: &str) -> Wanted {
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Wanted::All;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Wanted::All;
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Wanted::All;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match num(suffix) {
            Some(0) => Wanted::Unsatisfiable,
            Some(n) if size > 0 => Wanted::Part(size - n.min(size), size - 1),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::All,
        },
        (first, "") => match num(first) {
            Some(a) if a < size => Wanted::Part(a, size - 1),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::All,
        },
        (first, last) => match (num(first), num(last)) {
            (Some(a), Some(b)) if a > b => Wanted::All,
            (Some(a), Some(_)) if a >= size => Wanted::Unsatisfiable,
            (Some(a), Some(b)) => Wanted::Part(a, b.min(size - 1)),
            _ => Wanted::All,
        },
    }
}

/// An attachment's bytes as a download named after it (the API's and the console's), streamed
/// chunk by chunk from the store (memory does not grow with the size), all of it or the range
/// asked for; opening it is recorded first.
pub async fn serve_attachment(
    state: &Arc<Node>,
    user: &hanoinet_store::User,
    a: hanoinet_store::Attachment,
    headers: &HeaderMap,
) -> NodeResult<Response> {
    let size = u64::try_from(a.size).unwrap_or(0);
    let etag = format!("\"{}\"", a.sha256.as_deref().unwrap_or_default());
    let (status, first, len) = match wanted(headers, size, &etag) {
        Wanted::All => (StatusCode::OK, 0, size),
        Wanted::Part(first, last) => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Wanted::Unsatisfiable => {
            let mut r: Response = crate::http::error::ApiError::from(NodeError::refused(
                ErrorCode::RangeNotSatisfiable,
                format!(
                    "{} holds {size} bytes: the range asked for starts beyond them",
                    a.name
                ),
            ))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let range = (status == StatusCode::PARTIAL_CONTENT)
        .then(|| format!("bytes {first}-{}/{size}", first + len - 1));
    give::opened(state, user, &a, range.clone()).await?;
    let chunk = crate::ops::data::CHUNK_BYTES as u64;
    let body = Body::from_stream(futures_util::stream::unfold(
        (
            state.clone(),
            a.id.clone(),
            i64::try_from(first / chunk).unwrap_or(i64::MAX),
            usize::try_from(first % chunk).unwrap_or(0),
            len,
        ),
        |(state, id, idx, skip, left)| async move {
            if left == 0 {
                return None;
            }
            let bytes = match state.store.chunk(&id, idx).await {
                Ok(Some(c)) => c,
                Ok(None) => {
                    tracing::error!(attachment = %id, chunk = idx, "a chunk of a download is missing");
                    return Some((
                        Err(std::io::Error::other("chunk missing")),
                        (state, id, idx, 0, 0),
                    ));
                }
                Err(e) => {
                    tracing::error!(attachment = %id, error = %e, "reading a download failed");
                    return Some((
                        Err(std::io::Error::other(e.to_string())),
                        (state, id, idx, 0, 0),
                    ));
                }
            };
            let mut part = bytes::Bytes::from(bytes);
            let part = part.split_off(skip.min(part.len()));
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(part.len());
            let part = part.slice(..take);
            let left = left - take as u64;
            if take == 0 {
                // A chunk shorter than it should be: stop rather than loop.
                return Some((
                    Err(std::io::Error::other("chunk too short")),
                    (state, id, idx, 0, 0),
                ));
            }
            Some((Ok(part), (state, id, idx + 1, 0, left)))
        },
    ));
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    for (name, value) in [
        (header::CONTENT_DISPOSITION, content_disposition(&a.name)),
        (header::ETAG, etag),
    ]
    .into_iter()
    .chain(range.map(|r| (header::CONTENT_RANGE, r)))
    {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(r)
}

/// `POST /api/v1/requests/{id}/uploads`: `{"name", "size", "sha256"?}` starts a resumable
/// upload (`Idempotency-Key` applies: the same call again answers with the same upload).
async fn start_upload(
    State(state): S,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let (_, body) = officer_action(&state, &user, &id, body).await?;
    let u = upload::start(&state, &user, &id, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(upload_view(&upload::UploadState::Open(u))),
    ))
}

/// `GET /api/v1/requests/{id}/uploads/{uid}`: where it stands (`offset`), and its attachment
/// once complete.
async fn upload_status(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult<Json<UploadView>> {
    let st = upload::status(&state, &user, &id, &uid).await?;
    Ok(Json(upload_view(&st)))
}

/// `PATCH /api/v1/requests/{id}/uploads/{uid}` with `Upload-Offset: N` and the bytes from N:
/// answers with the offset reached (the attachment with the last byte).
async fn append_upload(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<UploadView>> {
    let offset = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let mut source = BodySource {
        body,
        pause: state.tunables.body_read_timeout,
    };
    let st = match offset {
        Some(offset) => upload::append(&state, &user, &id, &uid, offset, &mut source).await,
        None => Err(NodeError::Invalid(vec![hanoinet_core::request::FieldError::new(
            "Upload-Offset",
            hanoinet_core::request::FieldCode::Missing,
            "Upload-Offset is required: the byte the body starts at (GET the upload for where it stands)".into(),
            None,
        )])),
    };
    if let Err(e) = &st
        && e.code() != ErrorCode::RequestTimeout
    {
        // Refused before (or while) its bytes were read: the client is still sending them.
        source.drain(REFUSED_BODY_DRAINED).await;
    }
    Ok(Json(upload_view(&st?)))
}

/// How much of a refused `PATCH`'s body is read (and dropped) so that its client hears why:
/// two of the CLI's segments. A client that sends more gets the connection closed on it.
const REFUSED_BODY_DRAINED: usize = 32 << 20;

/// `DELETE /api/v1/requests/{id}/uploads/{uid}`: abandons it and what it stored.
async fn abandon_upload(
    State(state): S,
    AuthUser(user): AuthUser,
    Path((id, uid)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    upload::abandon(&state, &user, &id, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The request header naming the byte a `PATCH` to an upload starts at.
pub const UPLOAD_OFFSET: &str = "upload-offset";

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
    use super::{Wanted, wanted};
    use axum::http::{HeaderMap, HeaderValue, header};

    fn ask(range: &str, if_range: Option<&str>) -> Wanted {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        if let Some(t) = if_range {
            h.insert(header::IF_RANGE, HeaderValue::from_str(t).unwrap());
        }
        wanted(&h, 1000, "\"abc\"")
    }

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(wanted(&HeaderMap::new(), 1000, "\"abc\""), Wanted::All);
        assert_eq!(ask("bytes=0-99", None), Wanted::Part(0, 99));
        assert_eq!(ask("bytes=900-", None), Wanted::Part(900, 999));
        assert_eq!(ask("bytes=900-5000", None), Wanted::Part(900, 999));
        assert_eq!(ask("bytes=-100", None), Wanted::Part(900, 999));
        assert_eq!(ask("bytes=-5000", None), Wanted::Part(0, 999));
        assert_eq!(ask("bytes=1000-", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=1000-1001", None), Wanted::Unsatisfiable);
        assert_eq!(ask("bytes=-0", None), Wanted::Unsatisfiable);
        // Ignored: another unit, bad syntax, several ranges, reversed, signs, a stale If-Range.
        for r in [
            "items=0-1",
            "bytes=a-b",
            "bytes=0-1,5-6",
            "bytes=9-1",
            "bytes=+1-2",
            "bytes=",
            "bytes=-",
        ] {
            assert_eq!(ask(r, None), Wanted::All, "{r}");
        }
        assert_eq!(ask("bytes=0-9", Some("\"abc\"")), Wanted::Part(0, 9));
        assert_eq!(ask("bytes=0-9", Some("\"old\"")), Wanted::All);
    }

    #[test]
    fn downloads_name_the_file_in_ascii_and_utf8() {
        assert_eq!(
            super::content_disposition("nhật ký \"a\".csv"),
            "attachment; filename=\"nh_t k_ _a_.csv\"; filename*=UTF-8''nh%E1%BA%ADt%20k%C3%BD%20%22a%22.csv"
        );
    }
}
