//! User search, profiles and blocking.
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_core::ids::UserId;
use chat_core::model::User;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{AuthUser, Path, Query};
use crate::state::AppState;

/// `/api/users/...`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users/search", get(search))
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
