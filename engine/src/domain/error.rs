//! The engine's one error type. Each variant maps to one HTTP status; the web layers translate
//! it, the engine never speaks HTTP itself.

use crate::domain::SyncStatus;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// 422: a field of the input is invalid. `field` names it, `message` says why.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// 400: the request itself is malformed (a tampered cursor, unparsable JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the caller is known but may not do this (account administration by a non-admin).
    #[error("{0}")]
    Forbidden(String),
    /// 429: too many attempts; try again after `retry_after_secs`.
    #[error("{message}")]
    TooManyAttempts {
        message: String,
        retry_after_secs: u64,
    },
    /// 404: nothing the caller may see has this id.
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the operation conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 409: a status transition the state machine refuses.
    #[error("cannot {action} a datasource whose status is '{current}'")]
    Transition { action: String, current: SyncStatus },
    /// 500: storage or I/O failed; the message is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status this error stands for.
    /// What people and scripts are told, the same on every face (REST API and pages): the
    /// message, without its field for a 422 (the field is sent beside it). An internal error's
    /// details are logged here, once, and never shown.
    pub fn public_message(&self) -> String {
        match self {
            EngineError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                "Something went wrong on the server; it has been logged.".to_owned()
            }
            EngineError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    pub fn status_code(&self) -> u16 {
        match self {
            Self::Invalid { .. } => 422,
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::TooManyAttempts { .. } => 429,
            Self::NotFound(_) => 404,
            Self::Conflict(_) | Self::Transition { .. } => 409,
            Self::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid",
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Transition { .. } => "invalid_transition",
            Self::Internal(_) => "internal",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for EngineError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Internal(format!("migration failed: {e}"))
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
