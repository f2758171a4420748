//! Login sessions as the client sees them: a session opens with a new
//! refresh-token family, each answer hands over an access token and the
//! refresh token (cookies, and the body unless left out), and a session ends
//! with its family revoked.
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use chat_core::entity::user;
use chat_core::model::OwnUser;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::new_refresh_token;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store;
use crate::store::refresh_tokens::NewRefreshToken;

/// The answer that opens or renews a session.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Session {
    /// The own user.
    user: OwnUser,
    /// The access token (a JWT), to send as `Authorization: Bearer <token>`.
    token: String,
    /// The refresh token, for `POST /api/auth/refresh`. Left out for cookie
    /// clients (`X-Client: web`, or a refresh by cookie): they have it in the
    /// HttpOnly `refresh_token` cookie only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    refresh_token: Option<String>,
    /// Lifetime of the access token in seconds.
    expires_in: u64,
}

/// When a session that started at `started` must end (`None`: too far to tell).
pub(super) fn session_end(state: &AppState, started: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let max_age = chrono::Duration::from_std(state.limits.session_max_age).ok()?;
    started.checked_add_signed(max_age)
}

/// Expiry of a refresh token issued `now` in a session that started at
/// `started`: its own lifetime, cut at the end of the session.
pub(super) fn refresh_expiry(
    state: &AppState,
    now: DateTime<Utc>,
    started: DateTime<Utc>,
) -> DateTime<Utc> {
    let own = i64::try_from(state.refresh_ttl)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    session_end(state, started).map_or(own, |end| own.min(end))
}

/// A new login session: a new family, its first (random) refresh token.
pub(super) async fn start_session(
    state: &AppState,
    user: &user::Model,
    status: StatusCode,
    refresh_in_body: bool,
) -> ApiResult<Response> {
    let family_id = new_refresh_token().1;
    let (refresh, refresh_hash) = new_refresh_token();
    let now = Utc::now();
    let expires_at = refresh_expiry(state, now, now);
    store::refresh_tokens::insert(
        state.chat.db(),
        NewRefreshToken {
            user_id: user.typed_id(),
            token_hash: refresh_hash,
            family_id: family_id.clone(),
            expires_at,
            created_at: now,
            session_started_at: now,
        },
    )
    .await?;
    session_response(
        state,
        user,
        status,
        &family_id,
        refresh,
        expires_at,
        refresh_in_body,
    )
}

/// The answer that hands a session to the client: a new access token, and the
/// refresh token (already stored) in its cookie and, unless left out, the body.
pub(super) fn session_response(
    state: &AppState,
    user: &user::Model,
    status: StatusCode,
    family_id: &str,
    refresh: String,
    refresh_expires_at: DateTime<Utc>,
    refresh_in_body: bool,
) -> ApiResult<Response> {
    let token = state
        .tokens
        .issue(user.typed_id(), &user.username, family_id)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let refresh_max_age = (refresh_expires_at - Utc::now()).num_seconds().max(0) as u64;
    let cookies = [
        session_cookie(
            state,
            "access_token",
            token.clone(),
            "/",
            state.tokens.ttl(),
        ),
        session_cookie(
            state,
            "refresh_token",
            refresh.clone(),
            "/api/auth",
            refresh_max_age,
        ),
    ];
    let body = Session {
        user: OwnUser::from(user),
        token,
        refresh_token: refresh_in_body.then_some(refresh),
        expires_in: state.tokens.ttl(),
    };
    Ok((
        status,
        AppendHeaders(cookies.map(|c| (SET_COOKIE, c.to_string()))),
        axum::Json(body),
    )
        .into_response())
}

fn session_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    path: &'static str,
    max_age: u64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .build()
}

pub(super) fn cleared_cookie(name: &'static str, path: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, "")).path(path).http_only(true).build();
    cookie.make_removal();
    cookie
}

/// Revokes the refresh tokens of a login session.
pub(super) async fn revoke_family(state: &AppState, family_id: &str) -> ApiResult<()> {
    store::refresh_tokens::revoke_family(state.chat.db(), family_id, Utc::now()).await?;
    Ok(())
}
