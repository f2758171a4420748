//! `POST /api/auth/refresh`: rotating a refresh token into its successor,
//! with reuse detection and a grace period for retries.
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use chat_core::entity::refresh_token;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::Deserialize;

use super::is_web_client;
use super::session::{refresh_expiry, revoke_family, session_end, session_response};
use crate::auth::{client_fingerprint, hash_refresh_token};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::middleware::ClientKey;
use crate::state::AppState;
use crate::store;
use crate::store::refresh_tokens::NewRefreshToken;

/// `POST /api/auth/refresh`, when the token is not sent by cookie.
#[derive(Deserialize, Default, utoipa::ToSchema)]
pub(super) struct RefreshBody {
    /// The refresh token (wins over the cookie).
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Rotates a refresh token into its successor. Presenting an already rotated
/// token revokes its whole family (someone replayed a stolen token), except
/// for a retry: the same client presenting, by cookie, the token it rotated
/// less than `REFRESH_REUSE_GRACE` ago gets the same successor again.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    operation_id = "refresh",
    summary = "Renew the access token",
    description = "Rotates the refresh token (from the body, else the `refresh_token` cookie) \
        into its successor and issues a new access token; the same answer as login. The body is \
        optional. A rotated token presented again ends its whole session, except a retry: the \
        same client presenting it by cookie within `REFRESH_REUSE_GRACE` gets the same \
        successor again. The successor is left out of the body when the token came by cookie \
        or with `X-Client: web`.",
    params(super::XClient),
    request_body = Option<RefreshBody>,
    responses(
        (status = 200, description = "Renewed.", body = super::Session,
            headers(("Set-Cookie" = String, description = "`access_token` (path `/`) and `refresh_token` (path `/api/auth`), both HttpOnly and SameSite=Lax."))),
        (status = 400, description = "The body is not JSON (`invalid_body`).", body = ErrorBody),
        (status = 401, description = "No refresh token, or an unknown, expired, revoked or \
            re-used one, or a session older than `SESSION_MAX_AGE` (`unauthorized`).",
            body = ErrorBody),
    )
)]
pub(super) async fn refresh(
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
    let stored = store::refresh_tokens::find_by_hash(db, &hash_refresh_token(&presented))
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
    let rotated = store::refresh_tokens::rotate(&txn, stored.id, now, &attempt.fingerprint).await?;
    if !rotated {
        txn.rollback().await?;
        // A concurrent refresh rotated it first (its transaction has committed).
        let current = store::refresh_tokens::find_by_id(db, stored.id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return retried_or_reused(&state, &current, &attempt).await;
    }
    store::refresh_tokens::insert(
        &txn,
        NewRefreshToken {
            user_id: stored.user_id,
            token_hash: hash_refresh_token(&successor),
            family_id: stored.family_id.clone(),
            expires_at,
            created_at: now,
            session_started_at: started,
        },
    )
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
        let next =
            store::refresh_tokens::find_by_hash(state.chat.db(), &hash_refresh_token(&successor))
                .await?;
        if let Some(next) = next
            && next.family_id == stored.family_id
            && next.revoked_at.is_none()
            && next.expires_at > attempt.now
        {
            let user = state.chat.user_row(next.user_id).await?;
            tracing::info!(
                user_id = %next.user_id,
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
