//! The one HTTP error type, with stable snake_case codes.
//!
//! Every error body is `{"error": code, "message": text, "details": [...]}`. Codes are part of the
//! API contract and double as translation keys; `ErrorCode::ALL` lists them and a test checks that
//! each is documented.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    // REST API
    Unauthorized,
    Forbidden,
    NotFound,
    MalformedJson,
    PayloadTooLarge,
    /// The body ended before its declared length.
    IncompleteBody,
    /// The body did not arrive in time.
    RequestTimeout,
    /// A body that is not declared as JSON.
    UnsupportedMediaType,
    ValidationFailed,
    Conflict,
    /// The content existed and was purged (retention ended).
    Gone,
    Internal,
    // Federation endpoint, in the order the checks run
    EnvelopeTooLarge,
    MalformedEnvelope,
    UnknownSender,
    BadSignature,
    WrongRecipient,
    StaleEnvelope,
    /// The envelope id was already used by another sender.
    EnvelopeIdTaken,
    UnsupportedKind,
    UndecryptablePayload,
    InvalidPayload,
    UnknownRequest,
    /// A status update would put other steps where the history already holds steps.
    HistoryConflict,
}

impl ErrorCode {
    pub const ALL: [Self; 24] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MalformedJson,
        Self::PayloadTooLarge,
        Self::IncompleteBody,
        Self::RequestTimeout,
        Self::UnsupportedMediaType,
        Self::ValidationFailed,
        Self::Conflict,
        Self::Gone,
        Self::Internal,
        Self::EnvelopeTooLarge,
        Self::MalformedEnvelope,
        Self::UnknownSender,
        Self::BadSignature,
        Self::WrongRecipient,
        Self::StaleEnvelope,
        Self::EnvelopeIdTaken,
        Self::UnsupportedKind,
        Self::UndecryptablePayload,
        Self::InvalidPayload,
        Self::UnknownRequest,
        Self::HistoryConflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MalformedJson => "malformed_json",
            Self::PayloadTooLarge => "payload_too_large",
            Self::IncompleteBody => "incomplete_body",
            Self::RequestTimeout => "request_timeout",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::Internal => "internal",
            Self::EnvelopeTooLarge => "envelope_too_large",
            Self::MalformedEnvelope => "malformed_envelope",
            Self::UnknownSender => "unknown_sender",
            Self::BadSignature => "bad_signature",
            Self::WrongRecipient => "wrong_recipient",
            Self::StaleEnvelope => "stale_envelope",
            Self::EnvelopeIdTaken => "envelope_id_taken",
            Self::UnsupportedKind => "unsupported_kind",
            Self::UndecryptablePayload => "undecryptable_payload",
            Self::InvalidPayload => "invalid_payload",
            Self::UnknownRequest => "unknown_request",
            Self::HistoryConflict => "history_conflict",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::UnknownSender => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MalformedJson
            | Self::MalformedEnvelope
            | Self::StaleEnvelope
            | Self::IncompleteBody => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge | Self::EnvelopeTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ValidationFailed
            | Self::UnsupportedKind
            | Self::UndecryptablePayload
            | Self::InvalidPayload
            | Self::UnknownRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict | Self::HistoryConflict | Self::EnvelopeIdTaken => StatusCode::CONFLICT,
            Self::Gone => StatusCode::GONE,
            Self::WrongRecipient => StatusCode::MISDIRECTED_REQUEST,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": self.code.as_str(), "message": self.message, "details": self.details});
        (self.code.status(), Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
