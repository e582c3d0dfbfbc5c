//! The one HTTP error type: every error body is `{"error": code, "message": text, "details":
//! [...]}`, with the codes of [`crate::error::ErrorCode`]. A use case's [`NodeError`] becomes one
//! here, and only here is an internal failure logged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hanoinet_core::request::FieldCode;
use hanoinet_core::request::FieldError;
use serde_json::{Value, json};

pub use crate::error::ErrorCode;
use crate::error::NodeError;

/// The HTTP status of an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized | ErrorCode::BadSignature => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::UnknownSender => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::MalformedJson
        | ErrorCode::MalformedEnvelope
        | ErrorCode::StaleEnvelope
        | ErrorCode::IncompleteBody => StatusCode::BAD_REQUEST,
        ErrorCode::PayloadTooLarge | ErrorCode::EnvelopeTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::ValidationFailed
        | ErrorCode::UnsupportedKind
        | ErrorCode::UndecryptablePayload
        | ErrorCode::InvalidPayload
        | ErrorCode::UnknownRequest
        | ErrorCode::IdempotencyKeyReused
        | ErrorCode::RegistryInvalid
        | ErrorCode::RegistryDropsNode
        | ErrorCode::RegistryUnknownKeys => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Conflict
        | ErrorCode::HistoryConflict
        | ErrorCode::EnvelopeIdTaken
        | ErrorCode::IdempotencyKeyInUse
        | ErrorCode::RegistryRollback => StatusCode::CONFLICT,
        ErrorCode::Gone => StatusCode::GONE,
        ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorCode::TooManyAttempts | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::WrongRecipient => StatusCode::MISDIRECTED_REQUEST,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details = details;
        self
    }

    /// An unexpected failure: the whole cause chain goes to the log, the client sees only that
    /// something failed.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            ErrorCode::Internal,
            "internal error; the node's log has the details",
        )
    }
}

impl From<hanoinet_store::StoreError> for ApiError {
    fn from(e: hanoinet_store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let detail = |d: Option<crate::error::Detail>| {
            d.map(|d| vec![serde_json::to_value(d).unwrap_or(Value::Null)])
                .unwrap_or_default()
        };
        match e {
            NodeError::Invalid(errors) => validation_failed(errors),
            NodeError::Conflict { message, detail: d } => {
                Self::new(ErrorCode::Conflict, message).with_details(detail(d))
            }
            NodeError::Forbidden { message, detail: d } => {
                Self::new(ErrorCode::Forbidden, message).with_details(detail(d))
            }
            NodeError::NotFound(m) => Self::new(ErrorCode::NotFound, m),
            NodeError::Gone(m) => Self::new(ErrorCode::Gone, m),
            NodeError::Unauthorized(m) => Self::new(ErrorCode::Unauthorized, m),
            NodeError::Refused { code, message } => Self::new(code, message),
            NodeError::Store(e) => Self::internal(e),
            NodeError::Internal(m) => Self::internal(m),
        }
    }
}

/// `422 validation_failed` naming each bad field.
pub fn validation_failed(errors: Vec<hanoinet_core::request::FieldError>) -> ApiError {
    let n = errors.len();
    let details = errors
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
        .collect();
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!("the request has {n} invalid field(s)"),
    )
    .with_details(details)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": self.code.as_str(), "message": self.message, "details": self.details});
        (status_of(self.code), Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for NodeError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

pub fn field_error(field: &str, code: FieldCode, message: String) -> FieldError {
    FieldError::new(field, code, message, None)
}
