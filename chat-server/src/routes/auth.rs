//! Registration, login, refresh, logout, current user.
use axum::Router;
use axum::extract::State;
use axum::http::header::{SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chat_core::ChatError;
use chat_core::entity::{refresh_token, user};
use chat_core::model::OwnUser;
use chat_core::service::NewUser;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{
    MAX_PASSWORD_LEN, client_fingerprint, hash_password_off_thread, hash_refresh_token,
    new_refresh_token, password_problem, verify_password_off_thread,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json};
use crate::middleware::ClientKey;
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
    /// Left out for cookie clients (see [`is_web_client`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    expires_in: u64,
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
    if let Err(err) = super::account::send_verification(&state, &created).await {
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

/// When a session that started at `started` must end (`None`: too far to tell).
fn session_end(state: &AppState, started: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let max_age = chrono::Duration::from_std(state.limits.session_max_age).ok()?;
    started.checked_add_signed(max_age)
}

/// Expiry of a refresh token issued `now` in a session that started at
/// `started`: its own lifetime, cut at the end of the session.
fn refresh_expiry(state: &AppState, now: DateTime<Utc>, started: DateTime<Utc>) -> DateTime<Utc> {
    let own = i64::try_from(state.refresh_ttl)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    session_end(state, started).map_or(own, |end| own.min(end))
}

/// A new login session: a new family, its first (random) refresh token.
async fn start_session(
    state: &AppState,
    user: &user::Model,
    status: StatusCode,
    refresh_in_body: bool,
) -> ApiResult<Response> {
    let family_id = new_refresh_token().1;
    let (refresh, refresh_hash) = new_refresh_token();
    let now = Utc::now();
    let expires_at = refresh_expiry(state, now, now);
    refresh_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(refresh_hash),
        family_id: Set(family_id.clone()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
        session_started_at: Set(Some(now)),
        rotated_at: Set(None),
        rotated_by: Set(None),
        ..Default::default()
    }
    .insert(state.chat.db())
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
fn session_response(
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
        .issue(user.id, &user.username, family_id)
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

fn cleared_cookie(name: &'static str, path: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, "")).path(path).http_only(true).build();
    cookie.make_removal();
    cookie
}

/// Rotates a refresh token into its successor. Presenting an already rotated
/// token revokes its whole family (someone replayed a stolen token), except
/// for a retry: the same client presenting, by cookie, the token it rotated
/// less than `REFRESH_REUSE_GRACE` ago gets the same successor again.
async fn refresh(
    State(state): State<AppState>,
    ClientKey(client): ClientKey,
    headers: HeaderMap,
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
    let by_cookie = from_body.is_none();
    let presented = from_body
        .or_else(|| jar.get("refresh_token").map(|c| c.value().to_owned()))
        .ok_or(ApiError::Unauthorized)?;
    // A cookie client never gets the token in the body.
    let attempt = Attempt {
        presented: &presented,
        by_cookie,
        refresh_in_body: !by_cookie && !is_web_client(&headers),
        fingerprint: client_fingerprint(
            client,
            headers
                .get(USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        ),
        now: Utc::now(),
    };
    let db = state.chat.db();
    let stored = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash_refresh_token(&presented)))
        .one(db)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if stored.revoked_at.is_some() {
        return retried_or_reused(&state, &stored, &attempt).await;
    }
    let now = attempt.now;
    let started = stored.session_started_at.unwrap_or(stored.created_at);
    if stored.expires_at <= now || session_end(&state, started).is_some_and(|end| end <= now) {
        return Err(ApiError::Unauthorized);
    }
    let successor = state.tokens.successor_of(&presented);
    let expires_at = refresh_expiry(&state, now, started);
    // Rotation and the successor's insert commit together: a failure leaves
    // the presented token valid, never a session without a usable token.
    let txn = db.begin().await?;
    // Only one concurrent refresh may rotate a token.
    let rotated = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .col_expr(
            refresh_token::Column::RotatedBy,
            Expr::value(attempt.fingerprint.clone()),
        )
        .filter(refresh_token::Column::Id.eq(stored.id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if rotated.rows_affected != 1 {
        txn.rollback().await?;
        // A concurrent refresh rotated it first (its transaction has committed).
        let current = refresh_token::Entity::find_by_id(stored.id)
            .one(db)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return retried_or_reused(&state, &current, &attempt).await;
    }
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        user_id: Set(stored.user_id),
        token_hash: Set(hash_refresh_token(&successor)),
        family_id: Set(stored.family_id.clone()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
        session_started_at: Set(Some(started)),
        rotated_at: Set(None),
        rotated_by: Set(None),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    let user = state.chat.user_row(stored.user_id).await?;
    session_response(
        &state,
        &user,
        StatusCode::OK,
        &stored.family_id,
        successor,
        expires_at,
        attempt.refresh_in_body,
    )
}

/// One refresh request, as the rotation rules see it.
struct Attempt<'a> {
    presented: &'a str,
    by_cookie: bool,
    refresh_in_body: bool,
    fingerprint: String,
    now: DateTime<Utc>,
}

/// A token that was already rotated or revoked came back. Within the grace
/// period, by cookie, from the client that rotated it, while its successor is
/// still the live token of the session: the answer was lost (or another tab
/// refreshed at the same moment), and the same successor is handed back.
/// Otherwise it is a replay and the session ends.
async fn retried_or_reused(
    state: &AppState,
    stored: &refresh_token::Model,
    attempt: &Attempt<'_>,
) -> ApiResult<Response> {
    let grace = chrono::Duration::from_std(state.limits.refresh_grace).unwrap_or_default();
    let retry = attempt.by_cookie
        && grace > chrono::Duration::zero()
        && stored
            .rotated_at
            .is_some_and(|rotated| attempt.now - rotated <= grace)
        && stored.rotated_by.as_deref() == Some(attempt.fingerprint.as_str());
    if retry {
        let successor = state.tokens.successor_of(attempt.presented);
        let next = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash_refresh_token(&successor)))
            .one(state.chat.db())
            .await?;
        if let Some(next) = next
            && next.family_id == stored.family_id
            && next.revoked_at.is_none()
            && next.expires_at > attempt.now
        {
            let user = state.chat.user_row(next.user_id).await?;
            tracing::info!(
                user_id = next.user_id,
                "refresh retried within the grace period: same successor handed back"
            );
            return session_response(
                state,
                &user,
                StatusCode::OK,
                &next.family_id,
                successor,
                next.expires_at,
                attempt.refresh_in_body,
            );
        }
    }
    // A rotated token came back: it was stolen, or the client is confused.
    // Either way the whole session ends, its sockets included.
    revoke_family(state, &stored.family_id).await?;
    state
        .chat
        .end_session(&stored.family_id, "refresh_token_reused")
        .await?;
    Err(ApiError::Unauthorized)
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
