//! The one error type of the HTTP API, turned into `{error, code, details}` in
//! one place, and the mapping of database errors into it.
use axum::Json;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_core::ChatError;
use chat_core::error::FieldErrors;
use chat_core::ids;
use serde::Serialize;

/// Why an HTTP request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A chat rule refused the request.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// Missing, malformed or expired credentials.
    #[error("authentication required")]
    Unauthorized,
    /// Wrong login or password.
    #[error("invalid login or password")]
    InvalidCredentials,
    /// The body is not JSON or does not have the expected shape.
    #[error("{0}")]
    InvalidBody(String),
    /// A path or query parameter does not have the expected shape.
    #[error("{0}")]
    InvalidParameter(String),
    /// The body is larger than the route accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body is not of a media type the route accepts.
    #[error("expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The upload is not an image of an accepted type (decided by its bytes).
    #[error("not an accepted image: PNG, JPEG, GIF or WebP")]
    UnsupportedImage,
    /// The image has more pixels (or animation frames) than accepted.
    #[error("image too large: at most {0} pixels")]
    ImageTooLarge(u64),
    /// The upload would take the user's stored images over their quota.
    #[error("upload quota exceeded")]
    QuotaExceeded,
    /// The image has a valid header but cannot be decoded.
    #[error("the image is corrupt or truncated")]
    InvalidImage,
    /// Well-formed fields that name something unusable (e.g. an avatar that
    /// is not one's own image): 422 `validation_failed` with the fields.
    #[error("validation failed")]
    UnusableFields(FieldErrors),
    /// The current password given to confirm a change is wrong: 403 (not
    /// 401, which clients take for an expired access token).
    #[error("the current password is not correct")]
    WrongPassword,
    /// No such route or resource.
    #[error("not found")]
    NotFound,
    /// Too many attempts: retry after this many seconds (sent as `Retry-After`
    /// and `details.retry_after`, like the per-IP limits).
    #[error("too many attempts: retry in {0} s")]
    RateLimited(u64),
    /// A server-side failure; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of every error answer of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A sentence for people; internal causes are never told.
    pub error: String,
    /// A stable `snake_case` code for programs (e.g. `validation_failed`,
    /// `unauthorized`, `not_found`, `rate_limited`); the codes are listed in
    /// the protocol's "Error codes".
    #[schema(value_type = String, pattern = "^[a-z][a-z_]*$")]
    pub code: &'static str,
    /// Present only with `validation_failed` (each bad field and its
    /// problems) and `rate_limited` (`retry_after`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = ErrorDetails)]
    pub details: Option<FieldErrors>,
}

/// The schema of [`ErrorBody::details`]: `{"<field>": ["<problem>", ...]}`
/// for `validation_failed`, `{"retry_after": <seconds>}` for `rate_limited`.
/// Only described, never built: the answers build their details as they are.
pub enum ErrorDetails {}

impl utoipa::PartialSchema for ErrorDetails {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let problems = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "`validation_failed`: each bad field (e.g. `username`, `member_ids[1]`, `id`) \
                 with its problems. `rate_limited`: `retry_after`, the seconds to wait.",
            ))
            .property(
                "retry_after",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .additional_properties(Some(problems))
            .into()
    }
}

impl utoipa::ToSchema for ErrorDetails {}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Chat(err) => {
                StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::Unauthorized | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::InvalidBody(_) | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedImage => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::ImageTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidImage | ApiError::UnusableFields(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::WrongPassword => StatusCode::FORBIDDEN,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Chat(err) => err.code(),
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::NotFound => "not_found",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedImage => "unsupported_media_type",
            ApiError::ImageTooLarge(_) => "image_too_large",
            ApiError::QuotaExceeded => "quota_exceeded",
            ApiError::InvalidImage => "invalid_image",
            ApiError::UnusableFields(_) => "validation_failed",
            ApiError::WrongPassword => "invalid_credentials",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Chat(err) => err.public_message(),
            ApiError::Internal(_) => "internal server error".to_owned(),
            other => other.to_string(),
        };
        if matches!(&self, ApiError::Chat(err) if err.is_unavailable()) {
            // An outage, not a bug: one line per request at warn, not error.
            tracing::warn!(error = %self, "request failed: database unavailable");
        } else if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        if let ApiError::RateLimited(seconds) = self {
            let seconds = seconds.max(1);
            let body = serde_json::json!({
                "error": message,
                "code": "rate_limited",
                "details": { "retry_after": seconds },
            });
            return (
                status,
                [(axum::http::header::RETRY_AFTER, seconds.to_string())],
                Json(body),
            )
                .into_response();
        }
        let code = self.code();
        let details = match self {
            ApiError::Chat(ChatError::Validation(fields)) | ApiError::UnusableFields(fields) => {
                Some(fields)
            }
            _ => None,
        };
        let body = ErrorBody {
            error: message,
            code,
            details,
        };
        (status, Json(body)).into_response()
    }
}

/// A located decoding failure of a JSON body: `validation_failed` when it is
/// a refused id (see [`chat_core::ids`]), else `invalid_body` with `fallback`.
pub fn body_error(err: &serde_path_to_error::Error<serde_json::Error>, fallback: &str) -> ApiError {
    refused_id(err).unwrap_or_else(|| ApiError::InvalidBody(fallback.to_owned()))
}

/// A refused id anywhere in the sources of a JSON body's or a query's
/// decoding error: `validation_failed` naming where it was.
fn refused_id(err: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    let mut source = Some(err);
    while let Some(err) = source {
        let refused = if let Some(json) =
            err.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>()
        {
            ids::refusal(&json.path().to_string(), &json.inner().to_string())
        } else if let Some(query) =
            err.downcast_ref::<serde_path_to_error::Error<serde::de::value::Error>>()
        {
            ids::refusal(&query.path().to_string(), &query.inner().to_string())
        } else {
            None
        };
        if let Some(refused) = refused {
            return Some(ApiError::Chat(refused));
        }
        source = err.source();
    }
    None
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if let JsonRejection::JsonDataError(err) = &rejection
            && let Some(refused) = refused_id(err)
        {
            return refused;
        }
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            ApiError::UnsupportedMediaType
        } else {
            ApiError::InvalidBody(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        if let QueryRejection::FailedToDeserializeQueryString(err) = &rejection
            && let Some(refused) = refused_id(err)
        {
            return refused;
        }
        ApiError::InvalidParameter(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        if let PathRejection::FailedToDeserializePathParams(err) = &rejection {
            // An id refused after it parsed as a number comes without its
            // key; every id route names its parameter `id`.
            let refused = match err.kind() {
                ErrorKind::DeserializeError { key, message, .. } => ids::refusal(key, message),
                ErrorKind::Message(message) => ids::refusal("id", message),
                _ => None,
            };
            if let Some(refused) = refused {
                return ApiError::Chat(refused);
            }
        }
        ApiError::InvalidParameter(rejection.body_text())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::Chat(ChatError::Database(err))
    }
}

/// Result of HTTP handlers.
pub type ApiResult<T> = Result<T, ApiError>;
