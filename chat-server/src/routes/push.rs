//! `/api/push/...`: Web Push notifications for the caller's devices (the
//! rules and the delivery are chat-core's).
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::push::NewSubscription;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

/// Push routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(vapid_public_key))
        .routes(routes!(subscribe, unsubscribe))
}

/// The server's VAPID public key.
#[derive(Serialize, utoipa::ToSchema)]
struct VapidKey {
    /// 65 bytes (uncompressed P-256 point), base64url without padding: the
    /// `applicationServerKey` of `PushManager.subscribe`.
    key: String,
}

#[utoipa::path(
    get,
    path = "/api/push/vapid-public-key",
    tag = "push",
    operation_id = "push_vapid_public_key",
    summary = "VAPID public key",
    description = "The key browsers subscribe with. Public: no credentials needed.",
    responses(
        (status = 200, description = "The key.", body = VapidKey),
        (status = 404, description = "Push is not configured on this server (`push_disabled`).",
            body = ErrorBody),
    )
)]
async fn vapid_public_key(State(state): State<AppState>) -> ApiResult<axum::Json<VapidKey>> {
    let key = state
        .chat
        .push_public_key()
        .ok_or_else(chat_core::push::disabled)?;
    Ok(axum::Json(VapidKey { key }))
}

/// A subscription as stored.
#[derive(Serialize, utoipa::ToSchema)]
struct Subscribed {
    /// The device's push service URL.
    endpoint: String,
}

#[utoipa::path(
    post,
    path = "/api/push/subscriptions",
    tag = "push",
    operation_id = "push_subscribe",
    summary = "Subscribe this device",
    description = "Stores the device's subscription (the body is `PushSubscription.toJSON()`), \
        owned by the caller and their login session: signing out of the session removes it. \
        The same endpoint again moves to the caller and session. The device then gets a \
        notification for messages that arrive while none of the caller's devices is connected, \
        in conversations they have not muted.",
    request_body = NewSubscription,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 201, description = "Stored.", body = Subscribed),
        (status = 400, description = "An endpoint that is not a URL the server may post to \
            (https on a public address in production, at most 2048 characters) or keys that \
            are not a P-256 key and a 16-byte secret (`validation_failed`, naming \
            `endpoint`, `keys.p256dh` or `keys.auth`); a body that is not JSON of this shape \
            (`invalid_body`).", body = ErrorBody),
        (status = 401, description = "No valid credentials (`unauthorized`).", body = ErrorBody),
        (status = 404, description = "Push is not configured (`push_disabled`).", body = ErrorBody),
        (status = 409, description = "The caller has 20 devices subscribed already \
            (`too_many_subscriptions`).", body = ErrorBody),
    )
)]
async fn subscribe(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewSubscription>,
) -> ApiResult<(StatusCode, axum::Json<Subscribed>)> {
    let endpoint = body.endpoint.trim().to_owned();
    state
        .chat
        .subscribe_push(user.id, user.session_id.as_deref(), body)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(Subscribed { endpoint })))
}

/// The device to unsubscribe.
#[derive(Deserialize, utoipa::ToSchema)]
struct Unsubscribe {
    /// The endpoint it subscribed with.
    endpoint: String,
}

#[utoipa::path(
    delete,
    path = "/api/push/subscriptions",
    tag = "push",
    operation_id = "push_unsubscribe",
    summary = "Unsubscribe a device",
    description = "Removes the caller's subscription of `endpoint`; done also when there was \
        none (an endpoint of another user is left alone).",
    request_body = Unsubscribe,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 204, description = "Not subscribed any more."),
        (status = 400, description = "No `endpoint` string (`invalid_body`).", body = ErrorBody),
        (status = 401, description = "No valid credentials (`unauthorized`).", body = ErrorBody),
        (status = 404, description = "Push is not configured (`push_disabled`).", body = ErrorBody),
    )
)]
async fn unsubscribe(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<Unsubscribe>,
) -> ApiResult<StatusCode> {
    state.chat.unsubscribe_push(user.id, &body.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}
