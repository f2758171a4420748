//! `/api/search/...`: message search in the caller's conversations.
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chat_core::ids::{ConversationId, UserId};
use chat_core::service::{SearchPage, SearchQuery};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// Search routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/search/messages", get(messages))
}

#[derive(Deserialize)]
struct MessagesQuery {
    #[serde(default, alias = "q")]
    query: String,
    #[serde(default)]
    conversation_id: Option<ConversationId>,
    #[serde(default)]
    sender_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    offset: u64,
}

/// Every rule (lengths, page, offset, membership) is chat-core's.
async fn messages(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<MessagesQuery>,
) -> ApiResult<Json<SearchPage>> {
    let query = SearchQuery {
        query: q.query,
        conversation_id: q.conversation_id,
        sender_id: q.sender_id,
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(state.chat.search_messages(user.id, query).await?))
}
