//! The error every server function returns: the engine's status, code, message and field,
//! carried to the browser intact so forms can show a message next to its field.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppError {
    /// The HTTP status the same failure has in the REST API.
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl AppError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "Please log in to continue.")
    }

    /// The message for `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(m) => Self::new(
                503,
                "unreachable",
                format!("The server could not be reached: {m}"),
            ),
            other => Self::new(500, "internal", other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<engine::EngineError> for AppError {
    fn from(e: engine::EngineError) -> Self {
        Self {
            status: e.status_code(),
            code: e.code().into(),
            message: e.public_message(),
            field: e.field().map(str::to_owned),
        }
    }
}
