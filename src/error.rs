//! Errors: [`Error`] inside the crate, [`ApiError`] at the HTTP edge.
//!
//! Every error has a stable snake_case code. Messages shown to clients never contain SQL,
//! paths, stack traces or key material; the cause is logged once, at the edge.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::path::PathBuf;

/// Everything that can go wrong below the HTTP edge and in the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input failed validation; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The object exists already or the change conflicts with current state.
    #[error("{0}")]
    Conflict(String),
    /// The caller is not signed in, or the credentials are wrong.
    #[error("not signed in or wrong credentials")]
    Unauthorized,
    /// The caller is signed in but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts, try again in {0} s")]
    Throttled(u64),
    /// The data directory has not been initialised.
    #[error("no kontor data directory at {0}; run `kontor init` first")]
    NotInitialized(PathBuf),
    /// The master key file is missing although encrypted data exists.
    #[error(
        "master key {0} is missing but encrypted data exists; restore the key file (or pass it via systemd LoadCredential=master.key)"
    )]
    MissingKey(PathBuf),
    /// The master key does not open the database.
    #[error("the master key {key} does not open {db}: wrong key, or the file is damaged")]
    WrongKey {
        /// Key file used.
        key: PathBuf,
        /// Database that refused it.
        db: PathBuf,
    },
    /// Configuration error; the message names the key or file.
    #[error("configuration: {0}")]
    Config(String),
    /// An operating-system error with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing, e.g. "creating /var/lib/kontor".
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A database error that is not the caller's fault.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::Throttled(_) => "too_many_attempts",
            Error::NotInitialized(_) => "not_initialized",
            Error::MissingKey(_) => "missing_master_key",
            Error::WrongKey { .. } => "wrong_master_key",
            Error::Config(_) => "config_error",
            Error::Io { .. } => "io_error",
            Error::Db(_) => "database_error",
            Error::Internal(_) => "internal_error",
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The one error type at the HTTP edge: a status, a stable code and a safe message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with an explicit status, code and client-safe message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 with a message that says what is wrong with the input.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 403 for a failed CSRF or Origin check.
    pub fn csrf() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_rejected",
            "request rejected: missing or wrong CSRF token or origin",
        )
    }

    /// 404 without saying whether anything exists.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds for `Retry-After`, when throttled.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl From<Error> for ApiError {
    #[track_caller]
    fn from(err: Error) -> ApiError {
        let status = match &err {
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status.is_server_error() {
            // Logged here, once, with the cause and where it arose; the client gets no details.
            let at = std::panic::Location::caller();
            tracing::error!(code = err.code(), at = %at, error = %err, "internal error");
            "internal error; the server log has details".to_string()
        } else {
            err.to_string()
        };
        let code = if status.is_server_error() {
            "internal_error"
        } else {
            err.code()
        };
        ApiError {
            status,
            code,
            message,
            retry_after: match err {
                Error::Throttled(s) => Some(s),
                _ => None,
            },
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    #[track_caller]
    fn from(_: actix_web::error::BlockingError) -> ApiError {
        Error::Internal("blocking task was cancelled".into()).into()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            res.insert_header(("Retry-After", s.to_string()));
        }
        res.json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e: ApiError = Error::Internal("SELECT secret FROM /var/lib/x".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code(), "internal_error");
        assert!(!e.message().contains("SELECT"));
        let e: ApiError = Error::WrongKey {
            key: "/k".into(),
            db: "/d".into(),
        }
        .into();
        assert!(!e.message().contains("/k"));
    }

    #[test]
    fn client_errors_keep_code_and_status() {
        let e: ApiError = Error::Throttled(30).into();
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code(), "too_many_attempts");
        assert_eq!(e.retry_after(), Some(30));
        let e: ApiError = Error::NotFound("tenant".into()).into();
        assert_eq!((e.status(), e.code()), (StatusCode::NOT_FOUND, "not_found"));
    }
}
