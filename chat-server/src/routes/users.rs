//! User search, profiles (one's own, and others') and blocking.
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ids::UserId;
use chat_core::model::{OwnUser, User};
use chat_core::service::ProfileUpdate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json as JsonBody, Path, Query};
use crate::state::AppState;

/// `/api/users/...`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(own_profile, update_profile))
        .routes(routes!(profile))
        .routes(routes!(blocked_users))
        .routes(routes!(block, unblock))
}

/// Query of `GET /api/users/search`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Prefix or substring of a username or display name, 1 to 64 characters
    /// after trimming (`q` is accepted too).
    #[serde(default, alias = "q")]
    query: String,
    /// Page size, 1 to 50 (default 20).
    #[serde(default)]
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u64>,
    /// Results to skip (default 0).
    #[serde(default)]
    offset: u64,
}

/// A list of users.
#[derive(Serialize, utoipa::ToSchema)]
struct Users {
    /// The users.
    users: Vec<User>,
}

#[utoipa::path(
    get,
    path = "/api/users/search",
    tag = "users",
    operation_id = "search_users",
    summary = "Find users",
    description = "Users whose username or display name contains the query (case-insensitive; \
        those that start with it first, then by username), the caller excluded. `%` and `_` \
        match themselves. Presence only of the users the caller may see.",
    params(SearchQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The users found.", body = Users),
        (status = 400, description = "A query empty or over 64 characters, or a `limit` out of \
            1..50 (`validation_failed`).", body = ErrorBody),
    )
)]
async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<Users>> {
    let users = state
        .chat
        .search_users(user.id, &q.query, q.limit, q.offset)
        .await?;
    Ok(Json(Users { users }))
}

/// One user.
#[derive(Serialize, utoipa::ToSchema)]
struct UserBody {
    /// The user as others see them.
    user: User,
}

#[utoipa::path(
    get,
    path = "/api/users/{id}",
    tag = "users",
    operation_id = "get_user",
    summary = "A user's public profile",
    description = "`status` and `last_seen` are real only for users who share a direct \
        conversation or a small enough group with the caller and have not blocked them (and for \
        the caller); anyone else appears `offline` with `last_seen` null.",
    params(("id" = UserId, Path, description = "The user.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The user.", body = UserBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
    )
)]
async fn profile(
    State(state): State<AppState>,
    viewer: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<Json<UserBody>> {
    Ok(Json(UserBody {
        user: state.chat.user_seen_by(viewer.id, id).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/api/users/{id}/block",
    tag = "users",
    operation_id = "block_user",
    summary = "Block a user",
    description = "The caller blocks the user: no new direct conversation, no writing or \
        reacting in the existing one (either way), no presence of the caller for them. Blocking \
        again changes nothing. Every socket of the caller gets `user:blocked`.",
    params(("id" = UserId, Path, description = "The user to block.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 204, description = "Blocked (or already blocked)."),
        (status = 400, description = "Oneself (`validation_failed`, `details.user_id`).",
            body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 422, description = "The caller already blocks as many users as allowed, \
            1000 (`unprocessable`).", body = ErrorBody),
    )
)]
async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<StatusCode> {
    state.chat.block_user(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/users/{id}/block",
    tag = "users",
    operation_id = "unblock_user",
    summary = "Unblock a user",
    description = "Unblocking a user who is not blocked changes nothing. Every socket of the \
        caller gets `user:unblocked`.",
    params(("id" = UserId, Path, description = "The user to unblock.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 204, description = "Unblocked (or not blocked)."),
        (status = 400, description = "Oneself (`validation_failed`).", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
    )
)]
async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<StatusCode> {
    state.chat.unblock_user(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/users/me/blocks",
    tag = "users",
    operation_id = "list_blocked_users",
    summary = "The users the caller blocks",
    description = "All of them (at most 1000), the latest block first, with presence as in the \
        profile.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses((status = 200, description = "The blocked users.", body = Users))
)]
async fn blocked_users(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Users>> {
    Ok(Json(Users {
        users: state.chat.blocked_users(user.id).await?,
    }))
}

/// The caller's own user.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct OwnUserBody {
    /// The own user, with `email`, `created_at` and `email_verified`.
    pub(crate) user: OwnUser,
}

#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "users",
    operation_id = "get_own_profile",
    summary = "The caller's own user",
    description = "As `GET /api/auth/me`.",
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses((status = 200, description = "The own user.", body = OwnUserBody))
)]
async fn own_profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<OwnUserBody>> {
    Ok(Json(OwnUserBody {
        user: state.chat.own_user(user.id).await?,
    }))
}

/// `PATCH /api/users/me`: each field absent is left as it is, `null` removes it.
#[derive(Deserialize, utoipa::ToSchema)]
struct ProfileBody {
    /// The name shown instead of the username: trimmed, 1 to 64 characters,
    /// no control or bidi characters; `""` or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// A few words: trimmed, at most 500 characters, line breaks allowed;
    /// `""` or `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    bio: Option<Option<String>>,
    /// The `file_url` of an image the caller uploaded, made into the
    /// 256 px avatar (and its 64 px thumbnail); `null` removes the avatar.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    avatar: Option<Option<String>>,
}

/// A field that is present: `null` is `Some(None)`, absence `None`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes the caller's display name, bio and avatar. The text fields are
/// checked before any image work; the avatar is cropped into its stored
/// variants before the change commits, which announces it (`user:updated`).
#[utoipa::path(
    patch,
    path = "/api/users/me",
    tag = "users",
    operation_id = "update_own_profile",
    summary = "Change the caller's profile",
    description = "Changes the display name, bio and avatar; a field left out stays as it is. \
        Text fields are checked first, all at once, before any image work. A change that \
        changes something is announced with `user:updated` to everyone who shares a \
        conversation with the user. 10 changes at once per user, then one every 6 s.",
    request_body = ProfileBody,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The own user, changed.", body = OwnUserBody),
        (status = 400, description = "A display name or bio that breaks the rules \
            (`validation_failed`, `details.display_name`, `details.bio`).", body = ErrorBody),
        (status = 413, description = "The avatar does not fit in the caller's upload quota \
            (`quota_exceeded`).", body = ErrorBody),
        (status = 422, description = "The avatar is not an image the caller uploaded \
            (`validation_failed`, `details.avatar`).", body = ErrorBody),
        (status = 429, description = "Too many profile changes (`rate_limited`, `Retry-After`).",
            body = ErrorBody),
    )
)]
async fn update_profile(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<ProfileBody>,
) -> ApiResult<Json<OwnUserBody>> {
    if let Err(wait) = state.limits.profile_updates.take(user.id) {
        return Err(ApiError::RateLimited(wait.as_secs_f64().ceil() as u64));
    }
    let mut update = ProfileUpdate {
        display_name: body.display_name,
        bio: body.bio,
        avatar_url: None,
    }
    .normalized()?;
    update.avatar_url = match body.avatar {
        None => None,
        Some(None) => Some(None),
        Some(Some(url)) => Some(Some(
            state
                .uploads
                .make_avatar(state.chat.db(), user.id, url.trim())
                .await?,
        )),
    };
    Ok(Json(OwnUserBody {
        user: state.chat.update_profile(user.id, update).await?,
    }))
}
