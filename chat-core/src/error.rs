//! Errors of chat operations, each with a stable `code` for clients.
//!
//! A REST host turns a [`ChatError`] into its response with
//! [`status`](ChatError::status), [`code`](ChatError::code),
//! [`public_message`](ChatError::public_message) and
//! [`details`](ChatError::details); socket acks carry the same fields (see
//! [`AckError`](crate::protocol::AckError)).
//!
//! ```
//! use axum::http::StatusCode;
//! use axum::response::{IntoResponse, Response};
//! use chat_core::ChatError;
//!
//! struct ApiError(ChatError);
//!
//! impl IntoResponse for ApiError {
//!     fn into_response(self) -> Response {
//!         if self.0.is_internal() {
//!             eprintln!("request failed: {}", self.0); // the cause stays in the logs
//!         }
//!         let status = StatusCode::from_u16(self.0.status())
//!             .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
//!         let body = serde_json::json!({
//!             "error": self.0.public_message(),
//!             "code": self.0.code(),
//!             "details": self.0.details(),
//!         });
//!         (status, axum::Json(body)).into_response()
//!     }
//! }
//!
//! let response = ApiError(ChatError::NotFound("conversation")).into_response();
//! assert_eq!(response.status(), StatusCode::NOT_FOUND);
//! ```
use std::collections::BTreeMap;

/// Per-field validation messages: field name -> human readable problems.
/// Carried by [`ChatError::Validation`] and sent as `details`.
///
/// ```
/// let err = chat_core::ChatError::field("content", "must not be empty");
/// let details: &chat_core::error::FieldErrors = err.details().expect("validation error");
/// assert_eq!(details["content"], ["must not be empty"]);
/// ```
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Why a chat operation failed.
///
/// Hosts map [`ChatError::status`] to an HTTP status and send
/// [`ChatError::code`]; socket acks carry the same code.
///
/// ```
/// use chat_core::ChatError;
/// let err = ChatError::NotAMember;
/// assert_eq!(err.code(), "not_a_member");
/// assert_eq!(err.status(), 403);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The input has the right shape but invalid values.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// The input does not have the expected shape (wrong types, not an object).
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The caller is not a member of a public room. (Outsiders of a private
    /// conversation get [`NotFound`](ChatError::NotFound), like for an id
    /// that does not exist.)
    #[error("you are not a member of this conversation")]
    NotAMember,
    /// The caller may not do this (e.g. join a private group).
    #[error("{0}")]
    Forbidden(&'static str),
    /// A block between the caller and the other user refuses the operation
    /// (see [`ChatHandle::block_user`](crate::ChatHandle::block_user)); the
    /// sentence says which of them blocked the other.
    #[error("{0}")]
    Blocked(&'static str),
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The operation conflicts with existing state.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `username_taken`.
        code: &'static str,
        /// Human readable sentence.
        message: &'static str,
    },
    /// The request is well-formed but cannot be applied (e.g. leaving a direct conversation).
    #[error("{0}")]
    Unprocessable(&'static str),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The caller sent too many events; nothing was done.
    #[error("too many events: slow down")]
    RateLimited,
    /// Credentials presented on an open socket were refused (e.g.
    /// `unauthorized`, `session_mismatch`); the socket keeps those it has.
    #[error("{message}")]
    Credentials {
        /// Stable code.
        code: &'static str,
        /// Human readable sentence.
        message: &'static str,
    },
    /// Broadcasting through the socket adapter failed.
    #[error("adapter error: {0}")]
    Adapter(String),
    /// A capability this server was not configured with (e.g. `push_disabled`).
    #[error("{message}")]
    Disabled {
        /// Stable code.
        code: &'static str,
        /// Human readable sentence.
        message: &'static str,
    },
}

impl ChatError {
    /// Stable snake_case code sent to clients: one per variant, except
    /// [`Conflict`](ChatError::Conflict) which carries its own (e.g.
    /// `username_taken`) and internal failures, which are all `internal_error`.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// assert_eq!(ChatError::RateLimited.code(), "rate_limited");
    /// assert_eq!(ChatError::Adapter("redis down".into()).code(), "internal_error");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::Validation(_) => "validation_failed",
            ChatError::InvalidPayload(_) => "invalid_payload",
            ChatError::NotAMember => "not_a_member",
            ChatError::Forbidden(_) => "forbidden",
            ChatError::Blocked(_) => "blocked",
            ChatError::NotFound(_) => "not_found",
            ChatError::Conflict { code, .. }
            | ChatError::Credentials { code, .. }
            | ChatError::Disabled { code, .. } => code,
            ChatError::Unprocessable(_) => "unprocessable",
            ChatError::RateLimited => "rate_limited",
            ChatError::Database(err) if database_unreachable(err) => "unavailable",
            ChatError::Database(_) | ChatError::Adapter(_) => "internal_error",
        }
    }

    /// HTTP status that fits the error: 400 validation, 403 forbidden, not a
    /// member or blocked, 404, 409 conflict, 422, 429 rate limited, 500 internal,
    /// 503 when the database cannot be reached ([`is_unavailable`](ChatError::is_unavailable)).
    ///
    /// ```
    /// use chat_core::ChatError;
    /// assert_eq!(ChatError::field("limit", "too large").status(), 400);
    /// assert_eq!(ChatError::Unprocessable("a direct conversation cannot be left").status(), 422);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            ChatError::Validation(_) | ChatError::InvalidPayload(_) => 400,
            ChatError::Credentials { .. } => 401,
            ChatError::NotAMember | ChatError::Forbidden(_) | ChatError::Blocked(_) => 403,
            ChatError::NotFound(_) | ChatError::Disabled { .. } => 404,
            ChatError::Conflict { .. } => 409,
            ChatError::Unprocessable(_) => 422,
            ChatError::RateLimited => 429,
            ChatError::Database(err) if database_unreachable(err) => 503,
            ChatError::Database(_) | ChatError::Adapter(_) => 500,
        }
    }

    /// A sentence safe to show to the client: internal causes are not revealed.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// assert_eq!(ChatError::NotFound("user").public_message(), "user not found");
    /// let internal = ChatError::Adapter("connection refused (os error 111)".into());
    /// assert_eq!(internal.public_message(), "internal server error");
    /// ```
    pub fn public_message(&self) -> String {
        match self {
            ChatError::Database(err) if database_unreachable(err) => {
                "the database is unavailable: try again in a moment".to_owned()
            }
            ChatError::Database(_) | ChatError::Adapter(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Per-field details for validation errors; `None` for every other error.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// let err = ChatError::field("name", "must be 1 to 100 characters");
    /// assert!(err.details().is_some_and(|d| d.contains_key("name")));
    /// assert!(ChatError::NotAMember.details().is_none());
    /// ```
    pub fn details(&self) -> Option<&FieldErrors> {
        match self {
            ChatError::Validation(fields) => Some(fields),
            _ => None,
        }
    }

    /// A validation error on one field, for hosts that validate their own
    /// input the same way.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// let err = ChatError::field("password", "must be 8 to 128 characters");
    /// assert_eq!(err.code(), "validation_failed");
    /// ```
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), vec![message.into()]);
        ChatError::Validation(fields)
    }

    /// Whether the error is the server's fault (status 500): log it; the
    /// caller only sees `internal_error`.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// assert!(ChatError::Database(sea_orm::DbErr::Custom("disk full".into())).is_internal());
    /// assert!(!ChatError::NotAMember.is_internal());
    /// ```
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }

    /// Whether the database could not be reached (down, restarting, or no
    /// connection came free in time): code `unavailable`, status 503. Nothing
    /// was stored by the failed operation, or its commit could not be
    /// confirmed; a send retried with the same `client_id` is stored once.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// use sea_orm::{ConnAcquireErr, DbErr};
    /// let err = ChatError::Database(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
    /// assert!(err.is_unavailable());
    /// assert_eq!((err.code(), err.status()), ("unavailable", 503));
    /// assert!(!ChatError::Database(DbErr::Custom("bad row".into())).is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ChatError::Database(err) if database_unreachable(err))
    }
}

/// Failures of reaching the database rather than of a statement: connection
/// refused or lost, the pool's wait running out, and PostgreSQL's connection
/// exceptions (class 08) and shutdown states (57P01-57P03).
pub(crate) fn database_unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            match cause.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl From<validator::ValidationErrors> for ChatError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ChatError::Validation(field_errors(&errors))
    }
}

/// Flattens `validator` errors into field -> messages (a rule without a
/// message contributes its code).
///
/// ```
/// use validator::Validate;
///
/// #[derive(Validate)]
/// struct Rename {
///     #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
///     name: String,
/// }
///
/// let errors = Rename { name: String::new() }.validate().unwrap_err();
/// let fields = chat_core::error::field_errors(&errors);
/// assert_eq!(fields["name"], ["must be 1 to 100 characters"]);
/// ```
pub fn field_errors(errors: &validator::ValidationErrors) -> FieldErrors {
    errors
        .field_errors()
        .iter()
        .map(|(field, errs)| {
            let messages = errs
                .iter()
                .map(|e| {
                    e.message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| e.code.to_string())
                })
                .collect();
            (field.to_string(), messages)
        })
        .collect()
}

/// Collects every problem of a request, field by field, into one
/// `validation_failed` error: the one way request types report bad input.
///
/// ```
/// use chat_core::error::Invalid;
///
/// fn check(name: &str, members: &[u64]) -> chat_core::ChatResult<()> {
///     let mut invalid = Invalid::new();
///     invalid.check(!name.trim().is_empty(), "name", "must not be empty");
///     invalid.check(members.len() <= 2, "member_ids", "at most 2 members");
///     invalid.finish()
/// }
/// let err = check(" ", &[1, 2, 3]).unwrap_err();
/// let details = err.details().unwrap();
/// assert_eq!(details.len(), 2); // both problems at once
/// assert!(check("team", &[3]).is_ok());
/// ```
#[derive(Debug, Default)]
pub struct Invalid {
    fields: FieldErrors,
}

impl Invalid {
    /// No problem yet.
    ///
    /// ```
    /// assert!(chat_core::error::Invalid::new().finish().is_ok());
    /// ```
    pub fn new() -> Self {
        Invalid::default()
    }

    /// Records a problem with `field`.
    ///
    /// ```
    /// let mut invalid = chat_core::error::Invalid::new();
    /// invalid.add("content", "must not be empty");
    /// assert_eq!(invalid.finish().unwrap_err().code(), "validation_failed");
    /// ```
    pub fn add(&mut self, field: &str, message: impl Into<String>) -> &mut Self {
        self.fields
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
        self
    }

    /// Records `message` for `field` unless `ok`.
    ///
    /// ```
    /// let mut invalid = chat_core::error::Invalid::new();
    /// invalid.check(3 <= 100, "limit", "must be at most 100");
    /// assert!(invalid.finish().is_ok());
    /// ```
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.add(field, message);
        }
        self
    }

    /// Adds the problems `validator` found.
    ///
    /// ```
    /// use validator::Validate;
    /// #[derive(Validate)]
    /// struct Name {
    ///     #[validate(length(min = 1, message = "must not be empty"))]
    ///     name: String,
    /// }
    /// let mut invalid = chat_core::error::Invalid::new();
    /// if let Err(errors) = (Name { name: String::new() }).validate() {
    ///     invalid.extend(chat_core::error::field_errors(&errors));
    /// }
    /// assert!(invalid.finish().is_err());
    /// ```
    pub fn extend(&mut self, fields: FieldErrors) -> &mut Self {
        for (field, messages) in fields {
            self.fields.entry(field).or_default().extend(messages);
        }
        self
    }

    /// `validation_failed` with every problem recorded, or `Ok` when none was.
    ///
    /// ```
    /// let mut invalid = chat_core::error::Invalid::new();
    /// invalid.add("name", "must be 1 to 100 characters");
    /// assert_eq!(invalid.finish().unwrap_err().details().unwrap()["name"].len(), 1);
    /// ```
    pub fn finish(self) -> ChatResult<()> {
        if self.fields.is_empty() {
            Ok(())
        } else {
            Err(ChatError::Validation(self.fields))
        }
    }
}

/// Result of chat operations.
///
/// ```
/// use chat_core::{ChatError, ChatResult};
///
/// fn page_size(requested: u64) -> ChatResult<u64> {
///     if (1..=100).contains(&requested) {
///         Ok(requested)
///     } else {
///         Err(ChatError::field("limit", "must be between 1 and 100"))
///     }
/// }
/// assert_eq!(page_size(0).unwrap_err().code(), "validation_failed");
/// ```
pub type ChatResult<T> = Result<T, ChatError>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::{DbErr, RuntimeErr, sqlx};

    use super::ChatError;

    fn sqlx_exec(err: sqlx::Error) -> ChatError {
        ChatError::Database(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err))))
    }

    #[test]
    fn a_lost_or_refused_connection_is_unavailable_not_internal() {
        for err in [
            sqlx_exec(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())),
            sqlx_exec(sqlx::Error::Io(std::io::ErrorKind::UnexpectedEof.into())),
            sqlx_exec(sqlx::Error::PoolTimedOut),
            ChatError::Database(DbErr::Conn(RuntimeErr::Internal("refused".into()))),
        ] {
            assert_eq!((err.code(), err.status()), ("unavailable", 503), "{err}");
            assert!(err.is_internal(), "still logged: {err}");
            assert!(!err.public_message().contains("refused"));
        }
    }

    #[test]
    fn a_refused_statement_stays_internal() {
        for err in [
            sqlx_exec(sqlx::Error::RowNotFound),
            ChatError::Database(DbErr::Custom("bad row".into())),
            ChatError::Adapter("redis down".into()),
        ] {
            assert_eq!((err.code(), err.status()), ("internal_error", 500), "{err}");
            assert!(!err.is_unavailable());
        }
    }
}
