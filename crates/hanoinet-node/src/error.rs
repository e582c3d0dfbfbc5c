//! The node's domain error: what a use case in [`crate::ops`] returns. It knows nothing of HTTP;
//! `http::error` maps it to a status code and a JSON body, a worker matches it directly.
//!
//! Codes are part of the API contract and double as translation keys; [`ErrorCode::ALL`] lists
//! them and a test checks that each is documented.

use serde::Serialize;

use hanoinet_core::request::{Direction, FieldError, Status};

/// Stable snake_case error codes, answered as `{"error": code, ...}`.
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
    /// Too many failed sign-in attempts: wait before the next.
    TooManyAttempts,
    /// Too many calls from one client address (the public side): wait before the next.
    RateLimited,
    /// An `Idempotency-Key` used before with another method, path or body.
    IdempotencyKeyReused,
    /// A call with this `Idempotency-Key` is still running.
    IdempotencyKeyInUse,
    /// An offered registry's serial is not higher than the installed one's.
    RegistryRollback,
    /// An offered registry does not verify against the trust anchor or is invalid.
    RegistryInvalid,
    /// An offered registry does not list this node.
    RegistryDropsNode,
    /// An offered registry publishes keys for this node that it does not hold.
    RegistryUnknownKeys,
    /// A download's `Range` starts beyond the attachment's end.
    RangeNotSatisfiable,
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
    pub const ALL: [Self; 33] = [
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
        Self::TooManyAttempts,
        Self::RateLimited,
        Self::IdempotencyKeyReused,
        Self::IdempotencyKeyInUse,
        Self::RegistryRollback,
        Self::RegistryInvalid,
        Self::RegistryDropsNode,
        Self::RegistryUnknownKeys,
        Self::RangeNotSatisfiable,
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
            Self::TooManyAttempts => "too_many_attempts",
            Self::RateLimited => "rate_limited",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInUse => "idempotency_key_in_use",
            Self::RegistryRollback => "registry_rollback",
            Self::RegistryInvalid => "registry_invalid",
            Self::RegistryDropsNode => "registry_drops_node",
            Self::RegistryUnknownKeys => "registry_unknown_keys",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
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

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a refusal is about, for a client to act on without parsing the message. Serialized as
/// one element of an error body's `details`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Detail {
    /// A finer code than the error's own (e.g. `onward_transfer_not_authorized`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// The request's status now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The status a refused move asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<Status>,
    /// The moves allowed now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<Status>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// The Convention paragraph behind the refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// Where a resumable upload stands: the offset to send from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

impl Detail {
    /// The request is in `status`.
    pub fn status(status: Status) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }
}

/// Why a use case did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The input has these invalid fields.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Not possible in the request's current state.
    #[error("{message}")]
    Conflict {
        message: String,
        detail: Option<Detail>,
    },
    #[error("{0}")]
    NotFound(String),
    /// It existed and was purged.
    #[error("{0}")]
    Gone(String),
    /// The user (or the data's conditions) may not do this.
    #[error("{message}")]
    Forbidden {
        message: String,
        detail: Option<Detail>,
    },
    #[error("{0}")]
    Unauthorized(String),
    /// Something a peer sent is refused, with the federation error code (PROTOCOL.md §3.4).
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    #[error("store: {0}")]
    Store(#[from] hanoinet_store::StoreError),
    /// A failure that is nobody's input: the cause goes to the log, not to the client.
    #[error("{0}")]
    Internal(String),
}

impl NodeError {
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            detail: None,
        }
    }

    pub fn conflict_in(message: impl Into<String>, detail: Detail) -> Self {
        Self::Conflict {
            message: message.into(),
            detail: Some(detail),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
            detail: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::Gone(message.into())
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }

    /// The same error, with what it is about (for a conflict or a refusal; others are kept).
    pub fn with_detail(self, d: Detail) -> Self {
        match self {
            Self::Conflict { message, .. } => Self::Conflict {
                message,
                detail: Some(d),
            },
            Self::Forbidden { message, .. } => Self::Forbidden {
                message,
                detail: Some(d),
            },
            other => other,
        }
    }

    pub fn invalid(error: FieldError) -> Self {
        Self::Invalid(vec![error])
    }

    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    /// The error's code, as answered to a client.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Gone(_) => ErrorCode::Gone,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Refused { code, .. } => *code,
            Self::Store(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

pub type NodeResult<T> = Result<T, NodeError>;
