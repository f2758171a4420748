//! E-mail verification, password reset and "log out everywhere".
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ChatError;
use chat_core::entity::user;
use chat_core::ids::UserId;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{
    hash_password_off_thread, hash_refresh_token, new_refresh_token, password_problem,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json};
use crate::mail::Mail;
use crate::routes::users::OwnUserBody;
use crate::state::AppState;
use crate::store;

const VERIFY_EMAIL: &str = "verify_email";
const RESET_PASSWORD: &str = "reset_password";
/// Lifetime of an e-mail verification token.
const VERIFY_TTL: chrono::Duration = chrono::Duration::hours(24);

/// Routes that send mail or take account tokens: rate limited like login.
pub fn credential_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
}

/// Routes for the signed-in user.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout_all))
}

/// How long until another mail for `purpose` may go to this user's address,
/// if the last one went out less than `MAIL_COOLDOWN` ago.
async fn cooldown_left(
    state: &AppState,
    user_id: UserId,
    purpose: &str,
) -> ApiResult<Option<std::time::Duration>> {
    let cooldown = chrono::Duration::from_std(state.limits.mail_cooldown).unwrap_or_default();
    if cooldown <= chrono::Duration::zero() {
        return Ok(None);
    }
    let now = chrono::Utc::now();
    let last =
        store::accounts::latest_token_since(state.chat.db(), user_id, purpose, now - cooldown)
            .await?;
    Ok(last.and_then(|token| (token.created_at + cooldown - now).to_std().ok()))
}

/// Issues a single-use token for `purpose`, valid `ttl`, and returns it (only
/// its hash is stored).
async fn issue_token(
    state: &AppState,
    user_id: UserId,
    purpose: &'static str,
    ttl: chrono::Duration,
) -> ApiResult<String> {
    let (token, hash) = new_refresh_token();
    let now = chrono::Utc::now();
    store::accounts::insert_token(state.chat.db(), user_id, purpose, hash, now, now + ttl).await?;
    Ok(token)
}

/// Marks a token used and returns its user, if it is valid for `purpose`.
/// The conditional update makes a token work once even under concurrent use.
async fn consume_token(state: &AppState, token: &str, purpose: &str) -> ApiResult<UserId> {
    let invalid = || ApiError::Chat(ChatError::field("token", "is invalid or expired"));
    let stored = store::accounts::find_token(state.chat.db(), &hash_refresh_token(token), purpose)
        .await?
        .ok_or_else(invalid)?;
    let now = chrono::Utc::now();
    if stored.expires_at <= now {
        // Expired tokens go as soon as they are seen (the rest periodically).
        store::accounts::delete_token(state.chat.db(), stored.id).await?;
        return Err(invalid());
    }
    if !store::accounts::mark_token_used(state.chat.db(), stored.id, now).await? {
        return Err(invalid());
    }
    Ok(stored.user_id)
}

/// Sends the verification mail of a user (called after registration too).
pub async fn send_verification(state: &AppState, user: &user::Model) -> ApiResult<()> {
    let token = issue_token(state, user.typed_id(), VERIFY_EMAIL, VERIFY_TTL).await?;
    mail_verification(state, user, &token).await
}

/// Hands a mail to the configured mailer; a failure is an internal error.
async fn deliver(state: &AppState, mail: Mail) -> ApiResult<()> {
    state
        .mailer
        .send(mail)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Mails a verification token already issued.
async fn mail_verification(state: &AppState, user: &user::Model, token: &str) -> ApiResult<()> {
    let link = format!("{}/verify-email?token={token}", state.public_url);
    let mail = Mail {
        to: user.email.clone(),
        subject: "Confirm your e-mail address".to_owned(),
        body: format!(
            "Hello {},\n\nconfirm your address by opening this link within 24 hours:\n{link}\n\nVerification code: {token}\n",
            user.username
        ),
    };
    deliver(state, mail).await
}

/// `POST /api/auth/verify-email`.
#[derive(Deserialize, utoipa::ToSchema)]
struct TokenBody {
    /// The token of the verification mail.
    token: String,
}

#[utoipa::path(
    post,
    path = "/api/auth/verify-email",
    tag = "auth",
    operation_id = "verify_email",
    summary = "Confirm the e-mail address",
    description = "Takes the token of the verification mail (the link \
        `<PUBLIC_URL>/verify-email?token=...`); it works once, for 24 hours. No access token \
        needed. Under the stricter per-IP limit of the credential routes.",
    request_body = TokenBody,
    responses(
        (status = 200, description = "Verified: the own user, `email_verified` true.",
            body = OwnUserBody),
        (status = 400, description = "A wrong, used or expired token (`validation_failed`, \
            `details.token`).", body = ErrorBody),
    )
)]
async fn verify_email(
    State(state): State<AppState>,
    Json(body): Json<TokenBody>,
) -> ApiResult<axum::Json<OwnUserBody>> {
    let user_id = consume_token(&state, &body.token, VERIFY_EMAIL).await?;
    store::accounts::set_email_verified(state.chat.db(), user_id, chrono::Utc::now()).await?;
    Ok(axum::Json(OwnUserBody {
        user: state.chat.own_user(user_id).await?,
    }))
}

/// Sends the verification mail again, at most once per `MAIL_COOLDOWN` per
/// address (429 `rate_limited` with the wait otherwise).
#[utoipa::path(
    post,
    path = "/api/auth/resend-verification",
    tag = "auth",
    operation_id = "resend_verification",
    summary = "Send the verification mail again",
    description = "Mails a new verification link unless the address is already verified. At \
        most one verification mail per `MAIL_COOLDOWN` per address (the registration mail \
        counts). Under the stricter per-IP limit of the credential routes.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 202, description = "Sent (or nothing to send: already verified)."),
        (status = 429, description = "A verification mail went out less than `MAIL_COOLDOWN` \
            ago (`rate_limited`, `Retry-After`, `details.retry_after`).", body = ErrorBody),
    )
)]
async fn resend_verification(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<StatusCode> {
    let row = state.chat.user_row(user.id).await?;
    if row.email_verified_at.is_none() {
        let issuing = state.limits.mail_issue.lock().await;
        if let Some(wait) = cooldown_left(&state, row.typed_id(), VERIFY_EMAIL).await? {
            return Err(ApiError::RateLimited(wait.as_secs_f64().ceil() as u64));
        }
        let token = issue_token(&state, row.typed_id(), VERIFY_EMAIL, VERIFY_TTL).await?;
        drop(issuing);
        mail_verification(&state, &row, &token).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/auth/forgot-password`.
#[derive(Deserialize, utoipa::ToSchema)]
struct ForgotBody {
    /// The address of the account.
    email: String,
}

/// Answer of `POST /api/auth/forgot-password`, the same for every address.
#[derive(Serialize, utoipa::ToSchema)]
struct ResetRequested {
    /// A sentence for people.
    status: &'static str,
}

/// Always the same answer, at once: whether the address is registered is
/// looked up after the answer, in a background task that also issues the
/// token and sends the mail, so neither the response nor its timing depends
/// on it (nor on the mail server).
#[utoipa::path(
    post,
    path = "/api/auth/forgot-password",
    tag = "auth",
    operation_id = "forgot_password",
    summary = "Ask for a password reset mail",
    description = "A registered address gets a mail with the link \
        `<PUBLIC_URL>/reset-password?token=...`, valid one hour, at most one per `MAIL_COOLDOWN`. \
        The answer is the same, and as fast, whether or not the address is registered. Under \
        the stricter per-IP limit of the credential routes.",
    request_body = ForgotBody,
    responses(
        (status = 202, description = "Accepted, whatever the address.", body = ResetRequested),
    )
)]
async fn forgot_password(
    State(state): State<AppState>,
    Json(body): Json<ForgotBody>,
) -> ApiResult<(StatusCode, axum::Json<ResetRequested>)> {
    let email = body.email.trim().to_lowercase();
    if email.len() <= 254 {
        tokio::spawn(async move {
            // Bounded: a flood of requests queues here, not at the mail server.
            let Ok(_slot) = state.limits.mail_slots.acquire().await else {
                return;
            };
            if let Err(err) = send_reset(&state, &email).await {
                tracing::error!(%err, "password reset mail not sent");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ResetRequested {
            status: "if the address is registered, a reset link is on its way",
        }),
    ))
}

/// Issues a reset token and mails it, if the address is registered and no
/// reset mail went to it within `MAIL_COOLDOWN`.
async fn send_reset(state: &AppState, email: &str) -> ApiResult<()> {
    let Some(user) = store::accounts::find_user_by_email(state.chat.db(), email).await? else {
        return Ok(());
    };
    let issuing = state.limits.mail_issue.lock().await;
    if cooldown_left(state, user.typed_id(), RESET_PASSWORD)
        .await?
        .is_some()
    {
        tracing::info!(
            user_id = user.id,
            "password reset mail skipped: one was sent moments ago"
        );
        return Ok(());
    }
    let token = issue_token(
        state,
        user.typed_id(),
        RESET_PASSWORD,
        chrono::Duration::hours(1),
    )
    .await?;
    drop(issuing);
    let link = format!("{}/reset-password?token={token}", state.public_url);
    let mail = Mail {
        to: user.email.clone(),
        subject: "Reset your password".to_owned(),
        body: format!(
            "Hello {},\n\nset a new password by opening this link within one hour:\n{link}\n\nReset code: {token}\n\nIf you did not ask for this, ignore this mail.\n",
            user.username
        ),
    };
    deliver(state, mail).await
}

/// `POST /api/auth/reset-password`.
#[derive(Deserialize, utoipa::ToSchema)]
struct ResetBody {
    /// The token of the reset mail.
    token: String,
    /// The new password: at least 8 characters and at most 128 bytes.
    #[schema(format = Password)]
    password: String,
}

/// Sets a new password and ends every session of the user: refresh tokens are
/// revoked and live sockets disconnected.
#[utoipa::path(
    post,
    path = "/api/auth/reset-password",
    tag = "auth",
    operation_id = "reset_password",
    summary = "Set a new password with a reset token",
    description = "Sets the new password and ends every session of the user (refresh tokens \
        revoked, sockets sent `session:ended` `password_reset`). The token works once and voids \
        the user's other reset tokens. No access token needed. Under the stricter per-IP limit \
        of the credential routes.",
    request_body = ResetBody,
    responses(
        (status = 204, description = "Changed; sign in again."),
        (status = 400, description = "A bad password or a wrong, used or expired token \
            (`validation_failed`, `details.password` or `details.token`).", body = ErrorBody),
    )
)]
async fn reset_password(
    State(state): State<AppState>,
    Json(body): Json<ResetBody>,
) -> ApiResult<StatusCode> {
    if let Some(problem) = password_problem(&body.password) {
        return Err(ChatError::field("password", problem).into());
    }
    let user_id = consume_token(&state, &body.token, RESET_PASSWORD).await?;
    // Any other reset link of the user dies with this one.
    store::accounts::use_up_tokens(state.chat.db(), user_id, RESET_PASSWORD, chrono::Utc::now())
        .await?;
    let password = body.password;
    let hash = hash_password_off_thread(password)
        .await
        .map_err(ApiError::Internal)?;
    store::accounts::set_password_hash(state.chat.db(), user_id, hash).await?;
    end_all_sessions(&state, user_id, "password_reset").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/auth/logout-all",
    tag = "auth",
    operation_id = "logout_all",
    summary = "Sign out everywhere",
    description = "Revokes every refresh token of the user; every socket gets `session:ended` \
        `logged_out_everywhere` and is disconnected.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses((status = 204, description = "Every session ended."))
)]
async fn logout_all(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    end_all_sessions(&state, user.id, "logged_out_everywhere").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every refresh token of the user and disconnects their sockets.
pub async fn end_all_sessions(state: &AppState, user_id: UserId, reason: &str) -> ApiResult<()> {
    store::refresh_tokens::revoke_user(state.chat.db(), user_id, chrono::Utc::now()).await?;
    state.chat.end_user_sessions(user_id, reason).await?;
    Ok(())
}
