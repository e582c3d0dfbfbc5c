//! Reading requests: the authenticated user, bodies within their limits and deadlines, JSON.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hanoinet_store::User;
use serde_json::Value;

use crate::http::error::{ApiError, ApiResult, ErrorCode};
use crate::node::Node;

/// Largest accepted API request body.
pub const MAX_API_BODY: usize = 256 * 1024;

/// The authenticated user of an API call.
#[derive(Debug)]
pub struct AuthUser(pub User);

impl FromRequestParts<Arc<Node>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<Node>) -> Result<Self, ApiError> {
        let unauthorized =
            || ApiError::new(ErrorCode::Unauthorized, crate::ops::auth::TOKEN_REQUIRED);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(unauthorized)?;
        let value = header.to_str().map_err(|_| unauthorized())?;
        // The scheme is case-insensitive (RFC 7235 §2.1).
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let user = crate::ops::auth::by_token(state, token)
            .await
            .map_err(|e| match e {
                crate::error::NodeError::Unauthorized(m) => {
                    ApiError::new(ErrorCode::Unauthorized, m)
                }
                other => other.into(),
            })?;
        Ok(Self(user))
    }
}

/// Reads a JSON body of at most [`MAX_API_BODY`] bytes.
pub async fn parse_json(state: &Node, body: Body) -> ApiResult<Value> {
    json_of(&read_body(state, body).await?)
}

/// [`parse_json`], where an empty body is `null`.
pub async fn parse_json_or_empty(state: &Node, body: Body) -> ApiResult<Value> {
    let bytes = read_body(state, body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    json_of(&bytes)
}

pub(crate) async fn read_body(state: &Node, body: Body) -> ApiResult<axum::body::Bytes> {
    crate::http::extract::read_limited(body, MAX_API_BODY, state.tunables.body_read_timeout)
        .await
        .map_err(|e| {
            e.into_api(|| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request bodies are limited to {MAX_API_BODY} bytes"),
                )
            })
        })
}

fn json_of(bytes: &[u8]) -> ApiResult<Value> {
    hanoinet_core::json::parse(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {e}"),
        )
    })
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Larger than the limit.
    TooLarge,
    /// The connection broke (or the client stopped) before the body was complete.
    Incomplete,
    /// Not complete within the deadline.
    TimedOut,
}

impl BodyError {
    /// The HTTP error for it; `too_large` is the caller's own 413.
    pub(crate) fn into_api(self, too_large: impl FnOnce() -> ApiError) -> ApiError {
        match self {
            Self::TooLarge => too_large(),
            Self::Incomplete => ApiError::new(
                ErrorCode::IncompleteBody,
                "the request body ended before its declared length; send it again",
            ),
            Self::TimedOut => ApiError::new(
                ErrorCode::RequestTimeout,
                "the request body did not arrive in time; send it again",
            ),
        }
    }
}

/// Reads a body of at most `max` bytes within `deadline`. A larger one is read up to `2 * max`
/// bytes before it is refused, so that a sender slightly over the limit gets the answer
/// instead of a reset connection.
pub(crate) async fn read_limited(
    mut body: Body,
    max: usize,
    deadline: std::time::Duration,
) -> Result<axum::body::Bytes, BodyError> {
    use http_body_util::BodyExt;
    let drain = max.saturating_mul(2);
    let read = async {
        let mut buf = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| BodyError::Incomplete)?.into_data() else {
                continue;
            };
            seen = seen.saturating_add(data.len());
            if seen > drain {
                return Err(BodyError::TooLarge);
            }
            if seen <= max {
                buf.extend_from_slice(&data);
            }
        }
        if seen > max {
            return Err(BodyError::TooLarge);
        }
        Ok(buf.into())
    };
    tokio::time::timeout(deadline, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

/// The common start of an officer's action on request `id`: the role (403), the request (404),
/// then the JSON body (400/413), in that order.
pub async fn officer_action(
    state: &Node,
    user: &User,
    id: &str,
    body: Body,
) -> ApiResult<(hanoinet_store::RequestRecord, Value)> {
    crate::ops::access::require_officer(user)?;
    let rec = crate::ops::requests::load(state, id).await?;
    let body = parse_json(state, body).await?;
    Ok((rec, body))
}
