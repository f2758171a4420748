//! Request extractors: the authenticated user, and JSON/query with our error format.
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use chat_core::ids::UserId;
use chat_core::socket::auth::find_token;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a Bearer token or the `access_token` cookie
/// of a login session that has not ended.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id.
    pub id: UserId,
    /// Username from the token.
    pub username: String,
    /// The login session the token was issued for (`sid`), if it names one.
    pub session_id: Option<String>,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = find_token(None, &parts.headers).ok_or(ApiError::Unauthorized)?;
        let identity = state
            .tokens
            .verify(token)
            .map_err(|_| ApiError::Unauthorized)?;
        // Logged out, or the account is gone: cached, so no query per request.
        if !state.chat.session_active(&identity).await? {
            return Err(ApiError::Unauthorized);
        }
        Ok(AuthUser {
            id: identity.user_id,
            username: identity.username,
            session_id: identity.session_id,
        })
    }
}

/// `axum::Json` whose rejections use the API error format.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// `axum::extract::Query` whose rejections use the API error format.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections use the API error format.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
