//! `/api/messages/:id`: editing and deleting a message (the REST twins of
//! `message:edit` and `message:delete`), its thread of replies, reactions
//! (the twins of `reaction:add` and `reaction:remove`) and who reacted.
use axum::extract::State;
use axum::routing::{get, patch, put};
use axum::{Json as JsonBody, Router};
use chat_core::ids::MessageId;
use chat_core::model::Message;
use chat_core::service::{
    EditMessage, MessageReactors, ReactionOutcome, ReactionRequest, ReplyPage,
};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// Routes of single messages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages/{id}", patch(edit).delete(delete))
        .route("/api/messages/{id}/replies", get(replies))
        .route("/api/messages/{id}/reactions", get(reactors))
        .route(
            "/api/messages/{id}/reactions/{emoji}",
            put(add_reaction).delete(remove_reaction),
        )
}

#[derive(Deserialize)]
struct EditBody {
    content: String,
}

async fn edit(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
    Json(body): Json<EditBody>,
) -> ApiResult<JsonBody<Message>> {
    let edit = EditMessage {
        message_id: id,
        content: body.content,
    };
    Ok(JsonBody(
        state.chat.edit_message(user.id, edit, None).await?,
    ))
}

async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
) -> ApiResult<JsonBody<Message>> {
    Ok(JsonBody(
        state.chat.delete_message(user.id, id, None).await?,
    ))
}

#[derive(Deserialize)]
struct RepliesQuery {
    after: Option<MessageId>,
    limit: Option<u64>,
}

async fn replies(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
    Query(q): Query<RepliesQuery>,
) -> ApiResult<JsonBody<ReplyPage>> {
    Ok(JsonBody(
        state.chat.replies(user.id, id, q.after, q.limit).await?,
    ))
}

async fn reactors(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
) -> ApiResult<JsonBody<MessageReactors>> {
    Ok(JsonBody(state.chat.reactors(user.id, id).await?))
}

async fn add_reaction(
    State(state): State<AppState>,
    user: AuthUser,
    Path((message_id, emoji)): Path<(MessageId, String)>,
) -> ApiResult<JsonBody<ReactionOutcome>> {
    react(&state, &user, ReactionRequest { message_id, emoji }, true).await
}

async fn remove_reaction(
    State(state): State<AppState>,
    user: AuthUser,
    Path((message_id, emoji)): Path<(MessageId, String)>,
) -> ApiResult<JsonBody<ReactionOutcome>> {
    react(&state, &user, ReactionRequest { message_id, emoji }, false).await
}

async fn react(
    state: &AppState,
    user: &AuthUser,
    request: ReactionRequest,
    add: bool,
) -> ApiResult<JsonBody<ReactionOutcome>> {
    let outcome = if add {
        state.chat.add_reaction(user.id, request, None).await?
    } else {
        state.chat.remove_reaction(user.id, request, None).await?
    };
    Ok(JsonBody(outcome))
}
