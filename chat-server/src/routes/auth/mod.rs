//! Registration, login, logout, password changes and the current user; the
//! sessions they open are in `session`, refresh-token rotation in `refresh`.
mod refresh;
mod session;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chat_core::ChatError;
use chat_core::service::NewUser;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::session::{cleared_cookie, revoke_family, start_session};
use crate::auth::{
    MAX_PASSWORD_LEN, hash_password_off_thread, hash_refresh_token, password_problem,
    verify_password_off_thread,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json};
use crate::middleware::ClientKey;
use crate::routes::users::OwnUserBody;
use crate::state::AppState;
use crate::store;

use self::session::Session;

/// Register, login and password changes: the routes that guess passwords,
/// rate limited more strictly.
pub fn credential_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(change_password))
}

/// The other `/api/auth/...` routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// `POST /api/auth/register`.
#[derive(Deserialize, utoipa::ToSchema)]
struct RegisterBody {
    /// 3 to 32 characters of `A-Z a-z 0-9 _ . -` after trimming; unique in
    /// any letter case.
    username: String,
    /// A valid address of at most 254 characters; stored trimmed and
    /// lower-cased; unique.
    email: String,
    /// At least 8 characters and at most 128 bytes.
    #[schema(format = Password)]
    password: String,
}

/// `POST /api/auth/login`: `login`, else `username`, else `email`.
#[derive(Deserialize, utoipa::ToSchema)]
struct LoginBody {
    /// A username or an e-mail address.
    #[serde(default)]
    username: Option<String>,
    /// A username or an e-mail address.
    #[serde(default)]
    email: Option<String>,
    /// A username or an e-mail address (wins over the other two).
    #[serde(default)]
    login: Option<String>,
    /// The password.
    #[schema(format = Password)]
    password: String,
}

/// The `X-Client` header of the routes that hand out a refresh token.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Described only: `is_web_client` reads the header.
struct XClient {
    /// `web`: the web client, which keeps its refresh token in the HttpOnly
    /// cookie only; the body then leaves `refresh_token` out.
    #[param(rename = "X-Client", nullable = false)]
    x_client: Option<String>,
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

#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    operation_id = "register",
    summary = "Register and sign in",
    description = "Creates the account, sends the e-mail verification mail (a failure to send \
        does not fail the registration) and opens a session: the access token, and the refresh \
        token in a cookie and, without `X-Client: web`, in the body. Every invalid field is \
        reported at once. Under the stricter per-IP limit of the credential routes.",
    params(XClient),
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered and signed in.", body = Session,
            headers(("Set-Cookie" = String, description = "`access_token` (path `/`) and `refresh_token` (path `/api/auth`), both HttpOnly and SameSite=Lax."))),
        (status = 400, description = "Invalid fields (`validation_failed`: `username`, \
            `email`, `password`).", body = ErrorBody),
        (status = 409, description = "The username (in any letter case) or the e-mail address \
            is taken (`username_taken`, `email_taken`).", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    operation_id = "login",
    summary = "Sign in",
    description = "Opens a session for a username or e-mail address (compared \
        case-insensitively) and password; the same answer as register. Failed logins back off \
        per account and client address. Under the stricter per-IP limit of the credential routes.",
    params(XClient),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in.", body = Session,
            headers(("Set-Cookie" = String, description = "`access_token` (path `/`) and `refresh_token` (path `/api/auth`), both HttpOnly and SameSite=Lax."))),
        (status = 400, description = "No login given (`validation_failed`, `details.username`).",
            body = ErrorBody),
        (status = 401, description = "Wrong login or password (`invalid_credentials`).",
            body = ErrorBody),
        (status = 429, description = "Too many failed logins of this account from this \
            address (`rate_limited`, `Retry-After`, `details.retry_after`); the password was \
            not checked.", body = ErrorBody),
    )
)]
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

/// `POST /api/auth/change-password`.
#[derive(Deserialize, utoipa::ToSchema)]
struct ChangePasswordBody {
    /// The password now.
    #[schema(format = Password)]
    current_password: String,
    /// The new one: at least 8 characters and at most 128 bytes.
    #[schema(format = Password)]
    new_password: String,
}

/// Sets a new password, given the current one, and ends every other session
/// of the user (refresh tokens revoked, sockets disconnected with
/// `session:ended {reason: "password_changed"}`); the caller's session goes
/// on. A wrong current password is 403 `invalid_credentials` and counts as
/// a failed login of the account from this client (same backoff).
#[utoipa::path(
    post,
    path = "/api/auth/change-password",
    tag = "auth",
    operation_id = "change_password",
    summary = "Change the password",
    description = "Sets a new password, given the current one, and ends every other session of \
        the user (their refresh tokens revoked, their sockets sent `session:ended` \
        `password_changed`); the caller's session goes on. Under the stricter per-IP limit of \
        the credential routes.",
    request_body = ChangePasswordBody,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 204, description = "Changed."),
        (status = 400, description = "The new password breaks the rule (`validation_failed`, \
            `details.new_password`).", body = ErrorBody),
        (status = 403, description = "The current password is not correct \
            (`invalid_credentials`); counts as a failed login.", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords of this account from \
            this address (`rate_limited`, `Retry-After`).", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    operation_id = "logout",
    summary = "Sign out",
    description = "Ends the session of the `refresh_token` cookie, or else of the access token \
        (Bearer or cookie): its refresh tokens are revoked, its sockets get `session:ended` \
        `logged_out`, its access tokens are refused from then on. Clears both cookies. Always \
        204, even when no session is named; no token required.",
    responses(
        (status = 204, description = "Signed out; both cookies cleared.",
            headers(("Set-Cookie" = String, description = "Both cookies, expired."))),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    operation_id = "auth_me",
    summary = "The caller's own user",
    description = "The own user (with `email`, `created_at`, `email_verified`); 401 when the \
        user no longer exists.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses((status = 200, description = "The own user.", body = OwnUserBody))
)]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<axum::Json<OwnUserBody>> {
    let own = state
        .chat
        .own_user(user.id)
        .await
        .map_err(|err| match err {
            ChatError::NotFound(_) => ApiError::Unauthorized,
            other => other.into(),
        })?;
    Ok(axum::Json(OwnUserBody { user: own }))
}
