//! Registration, login, logout, password changes and the current user; the
//! sessions they open are in `session`, refresh-token rotation in `refresh`.
mod refresh;
mod session;

use axum::Router;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use chat_core::ChatError;
use chat_core::service::NewUser;
use serde::Deserialize;
use serde_json::json;

use self::session::{cleared_cookie, revoke_family, start_session};
use crate::auth::{
    MAX_PASSWORD_LEN, hash_password_off_thread, hash_refresh_token, password_problem,
    verify_password_off_thread,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json};
use crate::middleware::ClientKey;
use crate::state::AppState;
use crate::store;

/// Register, login and password changes: the routes that guess passwords,
/// rate limited more strictly.
pub fn credential_router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/change-password", post(change_password))
}

/// The other `/api/auth/...` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/refresh", post(refresh::refresh))
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

/// Whether the request says it comes from the web client (`X-Client: web`),
/// which keeps its refresh token in the HttpOnly cookie only: the JSON body
/// then leaves the refresh token out, so a script injected into the page
/// cannot read it from there.
fn is_web_client(headers: &HeaderMap) -> bool {
    headers
        .get("x-client")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("web"))
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
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
    if let Err(err) = crate::routes::account::send_verification(&state, &created).await {
        tracing::error!(%err, "verification mail not sent");
    }
    start_session(
        &state,
        &created,
        StatusCode::CREATED,
        !is_web_client(&headers),
    )
    .await
}

async fn login(
    State(state): State<AppState>,
    ClientKey(client): ClientKey,
    headers: HeaderMap,
    Json(body): Json<LoginBody>,
) -> ApiResult<Response> {
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
    // Attempts count per account (its id, whichever name or address was
    // typed) and client address; unknown logins count the same way, so the
    // backoff does not reveal which logins exist.
    let account = match &found {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{}", login.trim().to_lowercase()),
    };
    if let Err(wait) = state.limits.logins.attempt(&account, client) {
        return Err(ApiError::RateLimited(wait.as_secs_f64().ceil() as u64));
    }
    // Hash even for unknown users so timing does not reveal which logins exist.
    let phc = found.as_ref().map(|u| u.password_hash.clone());
    let ok = verify_password_off_thread(body.password, phc)
        .await
        .map_err(ApiError::Internal)?;
    match found {
        Some(user) if ok => {
            state.limits.logins.succeeded(&account, client);
            start_session(&state, &user, StatusCode::OK, !is_web_client(&headers)).await
        }
        _ => {
            state.limits.logins.failed(&account, client);
            Err(ApiError::InvalidCredentials)
        }
    }
}

#[derive(Deserialize)]
struct ChangePasswordBody {
    current_password: String,
    new_password: String,
}

/// Sets a new password, given the current one, and ends every other session
/// of the user (refresh tokens revoked, sockets disconnected with
/// `session:ended {reason: "password_changed"}`); the caller's session goes
/// on. A wrong current password is 403 `invalid_credentials` and counts as
/// a failed login of the account from this client (same backoff).
async fn change_password(
    State(state): State<AppState>,
    ClientKey(client): ClientKey,
    user: AuthUser,
    Json(body): Json<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    if let Some(problem) = password_problem(&body.new_password) {
        return Err(ChatError::field("new_password", problem).into());
    }
    if body.current_password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::WrongPassword);
    }
    let account = format!("user:{}", user.id);
    if let Err(wait) = state.limits.logins.attempt(&account, client) {
        return Err(ApiError::RateLimited(wait.as_secs_f64().ceil() as u64));
    }
    let row = state.chat.user_row(user.id).await?;
    let ok = verify_password_off_thread(body.current_password, Some(row.password_hash))
        .await
        .map_err(ApiError::Internal)?;
    if !ok {
        state.limits.logins.failed(&account, client);
        return Err(ApiError::WrongPassword);
    }
    state.limits.logins.succeeded(&account, client);
    let hash = hash_password_off_thread(body.new_password)
        .await
        .map_err(ApiError::Internal)?;
    store::accounts::set_password_hash(state.chat.db(), user.id, hash).await?;
    let now = chrono::Utc::now();
    match &user.session_id {
        Some(keep) => {
            store::refresh_tokens::revoke_user_but(state.chat.db(), user.id, keep, now).await?
        }
        None => store::refresh_tokens::revoke_user(state.chat.db(), user.id, now).await?,
    }
    state
        .chat
        .end_other_sessions(user.id, user.session_id.as_deref(), "password_changed")
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
        family = store::refresh_tokens::find_by_hash(state.chat.db(), &hash)
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
