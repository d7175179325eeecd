//! Errors: [`Error`] inside the crate, [`ApiError`] at the HTTP edge.
//!
//! Every error has a stable snake_case code. Messages shown to clients never contain SQL,
//! paths, stack traces or key material; the cause is logged once, at the edge.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How an error reaches a WebSocket client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSocket {
    /// Not a socket error.
    No,
    /// An `error` frame with the code; the socket stays open.
    Frame,
}

/// One registered error: its stable code and how each channel answers with it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The stable snake_case code, the same on every channel.
    pub code: &'static str,
    /// The HTTP status, where the code is an HTTP answer (0: not one).
    pub status: u16,
    /// Whether sockets send it as an `error` frame.
    pub socket: OnSocket,
    /// The CLI's exit status when a command fails with it.
    pub exit: u8,
    /// When it happens, in a few words (for `docs/errors.md`).
    pub means: &'static str,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $kind:ident = $code:literal, $status:literal, $socket:ident, $means:literal;)*) => {
        /// Every error code kontor answers with, on HTTP, the sockets and the CLI
        /// (`docs/errors.md` lists them; a test holds the two together).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $kind,)*
        }

        impl Code {
            /// Every code, in the order of `docs/errors.md`.
            pub const ALL: &'static [Code] = &[$(Code::$kind,)*];

            /// Its registration.
            pub const fn spec(self) -> Spec {
                match self {
                    $(Code::$kind => Spec {
                        code: $code,
                        status: $status,
                        socket: OnSocket::$socket,
                        // Every failure exits 1 (clap's usage errors: 2), as before the
                        // registry; the column is where a finer status would go.
                        exit: 1,
                        means: $means,
                    },)*
                }
            }
        }
    };
}

codes! {
    /// Bad input: a malformed form, JSON, frame field or value.
    InvalidInput = "invalid_input", 400, Frame, "a malformed form, JSON body, query or frame field, or an invalid value";
    /// Not signed in or wrong credentials.
    Unauthorized = "unauthorized", 401, No, "not signed in, the session ended, or wrong credentials";
    /// The role lacks the permission.
    Forbidden = "forbidden", 403, Frame, "signed in, but the role lacks the permission";
    /// The CSRF token or Origin check failed.
    CsrfRejected = "csrf_rejected", 403, No, "the Origin check or the CSRF token failed";
    /// An API token past its expiry.
    TokenExpired = "token_expired", 401, No, "an API token (Authorization: Bearer, /api/v1/) past its expiry";
    /// A revoked API token, or one whose agent was disabled.
    TokenRevoked = "token_revoked", 401, No, "an API token that was revoked, or whose agent is disabled";
    /// A page-view report or socket from an origin the site does not allow.
    OriginRefused = "origin_refused", 403, No, "a page-view report (POST /api/track), an FAQ-view report (POST /api/widget/faq-view) or a widget socket from an origin the site does not allow, or for an unknown site";
    /// No such object (or not one the caller may know of).
    NotFound = "not_found", 404, Frame, "no such route or object; says nothing about whether anything exists";
    /// Exists already, or conflicts with the current state.
    Conflict = "conflict", 409, No, "the object exists already or conflicts with the current state";
    /// An upload over the size limit (a page-view report answers `too_large`).
    FileTooLarge = "file_too_large", 413, No, "a file upload (POST /api/files, /api/widget/files) over 10 MB";
    /// A page-view report over its size limit (an upload answers `file_too_large`).
    TooLarge = "too_large", 413, No, "a page-view report (POST /api/track) over 4096 bytes";
    /// An upload that would take the tenant's stored files over its quota.
    QuotaExceeded = "quota_exceeded", 413, No, "a file upload (POST /api/files, /api/widget/files) that would take the tenant's stored files over its quota ([uploads] tenant_quota_mb)";
    /// An upload of a type that is not accepted.
    UnsupportedFileType = "unsupported_file_type", 415, No, "an upload that is not PNG, JPEG, GIF, WebP or PDF (decided from the bytes)";
    /// Page views for a site whose tracking is off.
    TrackingOff = "tracking_off", 409, No, "a page-view report (POST /api/track) for a site whose tracking mode is off";
    /// Sign-in or offline messages throttled (page-view reports answer `too_many_requests`,
    /// sockets `rate_limited`).
    TooManyAttempts = "too_many_attempts", 429, No, "throttled sign-in, or offline messages of one address (POST /api/widget/offline); Retry-After gives the seconds";
    /// Page-view reports of one address over its limit.
    TooManyRequests = "too_many_requests", 429, No, "page-view and FAQ-view reports (POST /api/track, POST /api/widget/faq-view) of one address over their shared limit; Retry-After gives the seconds";
    /// Calls of one API token over its limit.
    ApiRateLimited = "api_rate_limited", 429, No, "calls of one API token over 600 a minute; Retry-After gives the seconds";
    /// A widget socket beyond the open sockets allowed for its address or site.
    TooManySockets = "too_many_sockets", 429, No, "a widget socket (GET /ws/visitor) from an address (IPv4, IPv6 /64) or for a site with as many open as [chat] allows";
    /// A chat start beyond what the address or site may start a minute.
    TooManyChats = "too_many_chats", 0, Frame, "start of a chat when the address (IPv4, IPv6 /64) or site started as many this minute as [chat] allows";
    /// A chat start when the tenant's waiting queue is full.
    QueueFull = "queue_full", 0, Frame, "start of a chat when the tenant's waiting queue is full ([chat] max_waiting): leave a message instead";
    /// A visitor an agent blocked starts a chat or leaves an offline message.
    Blocked = "blocked", 403, Frame, "start of a chat, or an offline message (POST /api/widget/offline), by a visitor an agent blocked (by browser or address), until the block ends or is lifted";
    /// A chat start outside the business hours.
    Closed = "closed", 0, Frame, "start of a chat outside the business hours (the widget's config says open: false): leave a message instead";
    /// Uploads of one chat or one visitor address over their limits within the window.
    UploadLimit = "upload_limit", 429, No, "a file upload (POST /api/files, /api/widget/files) over what one chat or one visitor address may send within the window ([uploads]); Retry-After gives the seconds for an address";
    /// A socket sent frames faster than allowed.
    RateLimited = "rate_limited", 0, Frame, "socket frames faster than 20/s (bursts of 40), said once per run of refused frames; after 20 refused frames in a row the socket closes with 1008";
    /// A frame that is not one of the protocol's.
    InvalidFrame = "invalid_frame", 0, Frame, "JSON that does not match a frame type exactly";
    /// A `client_id` that is not 1-64 characters of `A-Za-z0-9-_`.
    InvalidClientId = "invalid_client_id", 0, Frame, "a message or note whose client_id is not 1-64 characters of A-Z, a-z, 0-9, - and _ (an upload's: invalid_input)";
    /// The tenant is drained for a move to another host.
    TenantMoving = "tenant_moving", 503, No, "the tenant is moving to another host (`kontor tenant move-out`): retry after Retry-After seconds; the proxy then sends the request to the new host";
    /// The hub's queue is full.
    Busy = "busy", 503, Frame, "the server is overloaded: retry (with the same client_id); a page-view report (POST /api/track) gets 503";
    /// The batch holding the frame could not be stored.
    NotStored = "not_stored", 0, Frame, "the server could not store this: retry (with the same client_id)";
    /// An upload the server could not store now.
    Retry = "retry", 503, No, "an upload the server could not store now (busy): retry with the same client_id";
    /// A message without text.
    EmptyMessage = "empty_message", 0, Frame, "a message without text";
    /// A message over 4000 characters.
    MessageTooLong = "message_too_long", 0, Frame, "a message over 4000 characters";
    /// Pre-chat form values that do not fit the site's form.
    InvalidForm = "invalid_form", 0, Frame, "start whose pre-chat form values do not fit the site's current form (fields names each refused field); nothing is stored";
    /// A department the site does not offer.
    DepartmentNotOffered = "department_not_offered", 0, Frame, "start naming a department the site's pre-chat form does not offer";
    /// `start` without consent.
    ConsentRequired = "consent_required", 0, Frame, "start without consent: true";
    /// `start` or `resume` on a socket that has a chat.
    AlreadyStarted = "already_started", 0, Frame, "start or resume on a socket that has a chat already";
    /// A visitor token that names no chat of this site.
    UnknownConversation = "unknown_conversation", 0, Frame, "a visitor token that names no chat (of this site)";
    /// A visitor frame before `start` or `resume`.
    NoConversation = "no_conversation", 0, Frame, "a visitor frame before start or resume";
    /// The chat has ended.
    ConversationClosed = "conversation_closed", 409, Frame, "the chat has ended";
    /// A rating out of range.
    InvalidRating = "invalid_rating", 0, Frame, "a score outside 1-5 or a comment over 1000 characters";
    /// Another agent took the chat.
    AlreadyTaken = "already_taken", 0, Frame, "accept of a chat another agent has";
    /// The agent has as many chats as their capacity.
    AtCapacity = "at_capacity", 0, Frame, "accept beyond the agent's capacity";
    /// A transfer to an agent who is not online with room.
    AgentUnavailable = "agent_unavailable", 0, Frame, "transfer to an agent who is not online with chat permission and room";
    /// An invitation to a visitor who has an open one.
    AlreadyInvited = "already_invited", 0, Frame, "invite of a visitor with an open invitation";
    /// An invitation to a visitor who is chatting.
    InChat = "in_chat", 0, Frame, "invite of a visitor who is in a chat";
    /// The data directory is not initialised.
    NotInitialized = "not_initialized", 500, No, "no kontor data directory (run kontor init)";
    /// The master key is missing.
    MissingMasterKey = "missing_master_key", 500, No, "the master key is missing although encrypted data exists";
    /// The master key does not open the data.
    WrongMasterKey = "wrong_master_key", 500, No, "the master key does not open a database (wrong key or damaged file)";
    /// The configuration is wrong.
    ConfigError = "config_error", 500, No, "the configuration is invalid (the message names the key or file)";
    /// An operating-system error.
    IoError = "io_error", 500, No, "an operating-system error (the message says what was being done)";
    /// A database error.
    DatabaseError = "database_error", 500, No, "a database error that is not the caller's fault";
    /// A check (doctor, audit verify, backup verify) found a problem.
    CheckFailed = "check_failed", 0, No, "a check (audit verify, backup verify) found a problem";
    /// The running server's admin socket failed.
    AdminSocketError = "admin_socket_error", 0, No, "talking to the running server's admin socket failed";
    /// Anything that is the server's fault.
    InternalError = "internal_error", 500, Frame, "anything that is the server's fault; the log has the cause";
}

impl Code {
    /// The stable code string.
    pub const fn as_str(self) -> &'static str {
        self.spec().code
    }

    /// The code registered under this string, if any.
    pub fn parse(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The HTTP status; 500 for a code that is no HTTP answer.
    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.spec().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// On every wire (HTTP bodies, socket frames, the admin socket) a code is its string.
impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Code, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Code::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown error code {s:?}")))
    }
}

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
    /// The tenant (its uuid) is drained here for a move to another host.
    #[error("this tenant is moving to another host; try again in a few seconds")]
    Moving(String),
}

impl Error {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Its registered code.
    pub fn code(&self) -> Code {
        match self {
            Error::Invalid(_) => Code::InvalidInput,
            Error::NotFound(_) => Code::NotFound,
            Error::Conflict(_) => Code::Conflict,
            Error::Unauthorized => Code::Unauthorized,
            Error::Forbidden(_) => Code::Forbidden,
            Error::Throttled(_) => Code::TooManyAttempts,
            Error::NotInitialized(_) => Code::NotInitialized,
            Error::MissingKey(_) => Code::MissingMasterKey,
            Error::WrongKey { .. } => Code::WrongMasterKey,
            Error::Config(_) => Code::ConfigError,
            Error::Io { .. } => Code::IoError,
            Error::Db(_) => Code::DatabaseError,
            Error::Internal(_) => Code::InternalError,
            Error::Moving(_) => Code::TenantMoving,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The one error type at the HTTP edge: a registered code (which gives the status) and a
/// safe message.
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: Code,
    message: &'a str,
}

impl ApiError {
    /// An error with a registered code, answered with the code's status, and a client-safe
    /// message.
    pub fn of(code: Code, message: impl Into<String>) -> ApiError {
        debug_assert!(code.spec().status != 0, "{code} is no HTTP answer");
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with `Retry-After: seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 with a message that says what is wrong with the input.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::of(Code::InvalidInput, message)
    }

    /// 403 for a failed CSRF or Origin check.
    pub fn csrf() -> ApiError {
        ApiError::of(
            Code::CsrfRejected,
            "request rejected: missing or wrong CSRF token or origin",
        )
    }

    /// 404 without saying whether anything exists.
    pub fn not_found() -> ApiError {
        ApiError::of(Code::NotFound, "not found")
    }

    /// A chat frame's refusal answered over HTTP (the API's chat actions), with the frame's
    /// code (see [`ApiError::status`] for the status of codes only frames carry).
    pub fn of_frame(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The HTTP status, from the registry; codes only frames carry answer 400 when the input
    /// was wrong and 409 when the chat's state did not allow it.
    pub fn status(&self) -> StatusCode {
        match self.code {
            Code::InvalidClientId
            | Code::EmptyMessage
            | Code::MessageTooLong
            | Code::InvalidFrame
            | Code::InvalidRating => StatusCode::BAD_REQUEST,
            c if c.spec().status == 0 => StatusCode::CONFLICT,
            c => c.status(),
        }
    }

    /// The registered code.
    pub fn code(&self) -> Code {
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

/// What `Retry-After` says while a tenant moves.
pub const MOVING_RETRY_SECS: u64 = 2;

impl From<Error> for ApiError {
    #[track_caller]
    fn from(err: Error) -> ApiError {
        let code = err.code();
        if let Error::Moving(_) = err {
            // Not a fault: the client retries and the proxy sends it to the tenant's new
            // host once the route flips (a move takes seconds).
            return ApiError::of(code, err.to_string()).with_retry_after(MOVING_RETRY_SECS);
        }
        let (code, message) = if code.status().is_server_error() {
            // Logged here, once, with the cause and where it arose; the client gets no details.
            let at = std::panic::Location::caller();
            tracing::error!(code = code.as_str(), at = %at, error = %err, "internal error");
            (
                Code::InternalError,
                "internal error; the server log has details".to_string(),
            )
        } else {
            (code, err.to_string())
        };
        ApiError {
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
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status());
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

    /// The rows `docs/errors.md` must hold, one per registered code, in order.
    fn doc_rows() -> Vec<String> {
        Code::ALL
            .iter()
            .map(|c| {
                let s = c.spec();
                let status = if s.status == 0 {
                    "-".to_string()
                } else {
                    s.status.to_string()
                };
                let socket = match s.socket {
                    OnSocket::Frame => "frame",
                    OnSocket::No => "-",
                };
                format!(
                    "| `{}` | {status} | {socket} | {} | {} |",
                    s.code, s.exit, s.means
                )
            })
            .collect()
    }

    #[test]
    fn errors_doc_lists_every_registered_code() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/errors.md"))
            .expect("docs/errors.md");
        let rows: Vec<String> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(str::to_string)
            .collect();
        let want = doc_rows();
        assert!(
            rows == want,
            "docs/errors.md does not match the registry; its table rows should be:\n{}",
            want.join("\n")
        );
    }

    #[test]
    fn codes_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(Code::parse(s), Some(*c));
        }
        assert_eq!(Code::parse("no_such_code"), None);
    }

    #[test]
    fn codes_travel_as_their_strings() {
        assert_eq!(
            serde_json::to_string(&Code::TooManyRequests).unwrap(),
            r#""too_many_requests""#
        );
        let back: Code = serde_json::from_str(r#""file_too_large""#).unwrap();
        assert_eq!(back, Code::FileTooLarge);
        assert!(serde_json::from_str::<Code>(r#""no_such_code""#).is_err());
        let body = ApiError::of(Code::TooManyRequests, "slow down")
            .with_retry_after(7)
            .error_response();
        assert_eq!(body.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(body.headers().get("retry-after").unwrap(), "7");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let e: ApiError = Error::Internal("SELECT secret FROM /var/lib/x".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code(), Code::InternalError);
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
        assert_eq!(e.code(), Code::TooManyAttempts);
        assert_eq!(e.retry_after(), Some(30));
        let e: ApiError = Error::NotFound("tenant".into()).into();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::NOT_FOUND, Code::NotFound)
        );
    }
}
