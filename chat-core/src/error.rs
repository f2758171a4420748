//! Errors of chat operations, each with a stable `code` for clients.
use std::collections::BTreeMap;

/// Per-field validation messages: field name -> human readable problems.
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
    /// The caller is not a member of the conversation.
    #[error("you are not a member of this conversation")]
    NotAMember,
    /// The caller may not do this (e.g. join a private group).
    #[error("{0}")]
    Forbidden(&'static str),
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
    /// Broadcasting through the socket adapter failed.
    #[error("adapter error: {0}")]
    Adapter(String),
}

impl ChatError {
    /// Stable snake_case code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::Validation(_) => "validation_failed",
            ChatError::InvalidPayload(_) => "invalid_payload",
            ChatError::NotAMember => "not_a_member",
            ChatError::Forbidden(_) => "forbidden",
            ChatError::NotFound(_) => "not_found",
            ChatError::Conflict { code, .. } => code,
            ChatError::Unprocessable(_) => "unprocessable",
            ChatError::RateLimited => "rate_limited",
            ChatError::Database(_) | ChatError::Adapter(_) => "internal_error",
        }
    }

    /// HTTP status that fits the error.
    pub fn status(&self) -> u16 {
        match self {
            ChatError::Validation(_) | ChatError::InvalidPayload(_) => 400,
            ChatError::NotAMember | ChatError::Forbidden(_) => 403,
            ChatError::NotFound(_) => 404,
            ChatError::Conflict { .. } => 409,
            ChatError::Unprocessable(_) => 422,
            ChatError::RateLimited => 429,
            ChatError::Database(_) | ChatError::Adapter(_) => 500,
        }
    }

    /// A sentence safe to show to the client: internal causes are not revealed.
    pub fn public_message(&self) -> String {
        match self {
            ChatError::Database(_) | ChatError::Adapter(_) => "internal server error".to_owned(),
            other => other.to_string(),
        }
    }

    /// Per-field details for validation errors.
    pub fn details(&self) -> Option<&FieldErrors> {
        match self {
            ChatError::Validation(fields) => Some(fields),
            _ => None,
        }
    }

    /// A validation error on one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), vec![message.into()]);
        ChatError::Validation(fields)
    }

    /// Whether the error is the server's fault (logged, not the caller's).
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }
}

impl From<validator::ValidationErrors> for ChatError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ChatError::Validation(field_errors(&errors))
    }
}

/// Flattens `validator` errors into field -> messages.
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

/// Result of chat operations.
pub type ChatResult<T> = Result<T, ChatError>;
