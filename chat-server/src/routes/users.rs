//! User search, profiles (one's own, and others') and blocking.
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_core::ids::UserId;
use chat_core::model::{OwnUser, User};
use chat_core::service::ProfileUpdate;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json as JsonBody, Path, Query};
use crate::state::AppState;

/// `/api/users/...`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/search", get(search))
        .route("/api/users/me", get(own_profile).patch(update_profile))
        .route("/api/users/{id}", get(profile))
        .route("/api/users/me/blocks", get(blocked_users))
        .route("/api/users/{id}/block", post(block).delete(unblock))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default, alias = "q")]
    query: String,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    offset: u64,
}

#[derive(Serialize)]
struct Users {
    users: Vec<User>,
}

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

#[derive(Serialize)]
struct UserBody {
    user: User,
}

async fn profile(
    State(state): State<AppState>,
    viewer: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<Json<UserBody>> {
    Ok(Json(UserBody {
        user: state.chat.user_seen_by(viewer.id, id).await?,
    }))
}

async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<StatusCode> {
    state.chat.block_user(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<UserId>,
) -> ApiResult<StatusCode> {
    state.chat.unblock_user(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn blocked_users(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Users>> {
    Ok(Json(Users {
        users: state.chat.blocked_users(user.id).await?,
    }))
}

#[derive(Serialize)]
struct OwnUserBody {
    user: OwnUser,
}

async fn own_profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<OwnUserBody>> {
    Ok(Json(OwnUserBody {
        user: state.chat.own_user(user.id).await?,
    }))
}

/// `PATCH /api/users/me`: each field absent is left as it is, `null` removes it.
#[derive(Deserialize)]
struct ProfileBody {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    bio: Option<Option<String>>,
    /// The `file_url` of an image the caller uploaded.
    #[serde(default, deserialize_with = "present")]
    avatar: Option<Option<String>>,
}

/// A field that is present: `null` is `Some(None)`, absence `None`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Changes the caller's display name, bio and avatar. The text fields are
/// checked before any image work; the avatar is cropped into its stored
/// variants before the change commits, which announces it (`user:updated`).
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
