//! Registration, login, refresh, logout, current user.
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chat_core::ChatError;
use chat_core::entity::{refresh_token, user};
use chat_core::model::OwnUser;
use chat_core::service::NewUser;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{
    MAX_PASSWORD_LEN, hash_password_off_thread, hash_refresh_token, new_refresh_token,
    password_problem, verify_password_off_thread,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

/// Register and login: the routes that guess passwords, rate limited more strictly.
pub fn credential_router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
}

/// The other `/api/auth/...` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
}

#[derive(Deserialize)]
struct RegisterBody {
    username: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct LoginBody {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    login: Option<String>,
    password: String,
}

#[derive(Deserialize, Default)]
struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Serialize)]
struct Session {
    user: OwnUser,
    token: String,
    refresh_token: String,
    expires_in: u64,
}

async fn register(
    State(state): State<AppState>,
    Json(body): Json<RegisterBody>,
) -> ApiResult<Response> {
    // Report every bad field at once, before paying for the hash.
    let checked = NewUser {
        username: body.username,
        email: body.email,
        password_hash: String::new(),
    }
    .normalized();
    let mut problems = checked.as_ref().err().cloned().unwrap_or_default();
    if let Some(problem) = password_problem(&body.password) {
        problems.insert("password".to_owned(), vec![problem]);
    }
    let new_user = match checked {
        Ok(new_user) if problems.is_empty() => new_user,
        _ => return Err(ChatError::Validation(problems).into()),
    };
    let password = body.password;
    let password_hash = hash_password_off_thread(password)
        .await
        .map_err(ApiError::Internal)?;
    let created = state
        .chat
        .create_user(NewUser {
            password_hash,
            ..new_user
        })
        .await?;
    // A mail failure must not undo the registration: the user can ask again.
    if let Err(err) = super::account::send_verification(&state, &created).await {
        tracing::error!(%err, "verification mail not sent");
    }
    start_session(&state, &created, StatusCode::CREATED).await
}

async fn login(State(state): State<AppState>, Json(body): Json<LoginBody>) -> ApiResult<Response> {
    let login = body
        .login
        .or(body.username)
        .or(body.email)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| ChatError::field("username", "username or email is required"))?;
    if body.password.len() > MAX_PASSWORD_LEN || login.len() > 254 {
        return Err(ApiError::InvalidCredentials);
    }
    let found = state.chat.find_user_by_login(&login).await?;
    // Hash even for unknown users so timing does not reveal which logins exist.
    let phc = found.as_ref().map(|u| u.password_hash.clone());
    let ok = verify_password_off_thread(body.password, phc)
        .await
        .map_err(ApiError::Internal)?;
    match found {
        Some(user) if ok => start_session(&state, &user, StatusCode::OK).await,
        _ => Err(ApiError::InvalidCredentials),
    }
}

async fn start_session(
    state: &AppState,
    user: &user::Model,
    status: StatusCode,
) -> ApiResult<Response> {
    let family = new_refresh_token().1;
    issue_session(state, user, status, family).await
}

async fn issue_session(
    state: &AppState,
    user: &user::Model,
    status: StatusCode,
    family_id: String,
) -> ApiResult<Response> {
    let token = state
        .tokens
        .issue(user.id, &user.username, &family_id)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (refresh, refresh_hash) = new_refresh_token();
    let now = chrono::Utc::now();
    refresh_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(refresh_hash),
        family_id: Set(family_id),
        expires_at: Set(now + chrono::Duration::seconds(state.refresh_ttl as i64)),
        revoked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(state.chat.db())
    .await?;
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
            state.refresh_ttl,
        ),
    ];
    let body = Session {
        user: OwnUser::from(user),
        token,
        refresh_token: refresh,
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
        .max_age(cookie::time::Duration::seconds(max_age as i64))
        .build()
}

fn cleared_cookie(name: &'static str, path: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, "")).path(path).http_only(true).build();
    cookie.make_removal();
    cookie
}

/// Rotates a refresh token. Presenting an already rotated token revokes its
/// whole family: someone replayed a stolen token.
async fn refresh(
    State(state): State<AppState>,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    // The body is optional: browsers send the cookie, other clients the JSON field.
    let from_body = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<RefreshBody>(&body)
            .map_err(|e| ApiError::InvalidBody(e.to_string()))?
            .refresh_token
    };
    let presented = from_body
        .or_else(|| jar.get("refresh_token").map(|c| c.value().to_owned()))
        .ok_or(ApiError::Unauthorized)?;
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash_refresh_token(&presented)))
        .one(state.chat.db())
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let now = chrono::Utc::now();
    if stored.revoked_at.is_some() {
        // A rotated token came back: it was stolen, or the client is confused.
        // Either way the whole session ends, its sockets included.
        revoke_family(&state, &stored.family_id).await?;
        state
            .chat
            .end_session(&stored.family_id, "refresh_token_reused")
            .await?;
        return Err(ApiError::Unauthorized);
    }
    if stored.expires_at <= now {
        return Err(ApiError::Unauthorized);
    }
    // Only one concurrent refresh may rotate a token.
    let rotated = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(state.chat.db())
        .await?;
    if rotated.rows_affected != 1 {
        revoke_family(&state, &stored.family_id).await?;
        return Err(ApiError::Unauthorized);
    }
    let user = state.chat.user_row(stored.user_id).await?;
    issue_session(&state, &user, StatusCode::OK, stored.family_id).await
}

async fn revoke_family(state: &AppState, family_id: &str) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now()),
        )
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(state.chat.db())
        .await?;
    Ok(())
}

/// Ends the session named by the refresh cookie, or else by the access
/// token's session id: its refresh tokens are revoked and its sockets closed.
async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let mut family = None;
    if let Some(cookie) = jar.get("refresh_token") {
        let hash = hash_refresh_token(cookie.value());
        family = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(state.chat.db())
            .await?
            .map(|stored| stored.family_id);
    }
    if family.is_none() {
        family = chat_core::socket::auth::find_token(None, &headers)
            .and_then(|token| state.tokens.verify(token).ok())
            .and_then(|identity| identity.session_id);
    }
    if let Some(family) = family {
        revoke_family(&state, &family).await?;
        state.chat.end_session(&family, "logged_out").await?;
    }
    let cookies = [
        cleared_cookie("access_token", "/"),
        cleared_cookie("refresh_token", "/api/auth"),
    ];
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders(cookies.map(|c| (SET_COOKIE, c.to_string()))),
    )
        .into_response())
}

async fn me(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let own = state
        .chat
        .own_user(user.id)
        .await
        .map_err(|err| match err {
            ChatError::NotFound(_) => ApiError::Unauthorized,
            other => other.into(),
        })?;
    Ok(axum::Json(json!({ "user": own })))
}
