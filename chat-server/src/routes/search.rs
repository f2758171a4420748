//! `/api/search/...`: message search in the caller's conversations.
use axum::Json;
use axum::extract::State;
use chat_core::ids::{ConversationId, UserId};
use chat_core::service::{SearchPage, SearchQuery};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// Search routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(messages))
}

/// Query of `GET /api/search/messages`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// The words to find (`q` is accepted too): 1 to 200 characters after
    /// trimming, with a letter or a digit. Every word must occur; the last
    /// also matches the words it begins.
    #[serde(default, alias = "q")]
    query: String,
    /// Only this conversation (the caller must be a member).
    #[serde(default)]
    conversation_id: Option<ConversationId>,
    /// Only this sender's messages.
    #[serde(default)]
    sender_id: Option<UserId>,
    /// Page size, 1 to 50 (default 20).
    #[serde(default)]
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u64>,
    /// Results to skip, at most 1000 (default 0).
    #[serde(default)]
    #[param(maximum = 1000)]
    offset: u64,
}

/// Every rule (lengths, page, offset, membership) is chat-core's.
#[utoipa::path(
    get,
    path = "/api/search/messages",
    tag = "search",
    operation_id = "search_messages",
    summary = "Search messages",
    description = "The messages of the caller's conversations that contain every word of the \
        query (case and accents ignored), best match first, then newest; each with a plain-text \
        `snippet` and the `highlights` of its matching words (character offsets).",
    params(MessagesQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of results.", body = SearchPage),
        (status = 400, description = "A query empty, too long or without a letter or digit, a \
            `limit` out of 1..50, an `offset` over 1000, or a non-positive id \
            (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "`conversation_id` is a public room the caller has not \
            joined (`not_a_member`).", body = ErrorBody),
        (status = 404, description = "`conversation_id` is no conversation, or a private one the \
            caller is not in (`not_found`).", body = ErrorBody),
    )
)]
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
