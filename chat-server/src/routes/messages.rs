//! `/api/messages/:id`: editing and deleting a message (the REST twins of
//! `message:edit` and `message:delete`), its thread of replies, reactions
//! (the twins of `reaction:add` and `reaction:remove`) and who reacted.
use axum::Json as JsonBody;
use axum::extract::State;
use chat_core::ids::MessageId;
use chat_core::model::Message;
use chat_core::service::{
    EditMessage, MessageReactors, ReactionOutcome, ReactionRequest, ReplyPage,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// Routes of single messages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(edit, delete))
        .routes(routes!(replies))
        .routes(routes!(reactors))
        .routes(routes!(add_reaction, remove_reaction))
}

/// `PATCH /api/messages/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
struct EditBody {
    /// The new text: trimmed, 1 to 4000 characters.
    content: String,
}

#[utoipa::path(
    patch,
    path = "/api/messages/{id}",
    tag = "messages",
    operation_id = "edit_message",
    summary = "Edit a message",
    description = "The sender replaces the text of one of their `text` messages: it gets \
        `edited_at` and the conversation's next revision as `rev`; every member's sockets get \
        `message:updated`.",
    params(("id" = MessageId, Path, description = "The message.")),
    request_body = EditBody,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The message, edited.", body = Message),
        (status = 400, description = "Invalid content (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "Someone else's message (`forbidden`), a public room the \
            caller has not joined (`not_a_member`), or a block in a direct conversation \
            (`blocked`).", body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
        (status = 422, description = "A deleted or non-text message, or past the edit window \
            (`unprocessable`).", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    delete,
    path = "/api/messages/{id}",
    tag = "messages",
    operation_id = "delete_message",
    summary = "Delete a message",
    description = "The sender, or the creator of the group, deletes the message: it keeps its \
        id, `seq`, sender and `created_at`; its content, upload, mentions and reactions are \
        erased, `deleted_at` set, and every member's sockets get `message:deleted`. Deleting it \
        again answers the same tombstone.",
    params(("id" = MessageId, Path, description = "The message.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The tombstone.", body = Message),
        (status = 403, description = "Not the sender nor the group's creator (`forbidden`), or \
            a public room the caller has not joined (`not_a_member`).", body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
    )
)]
async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
) -> ApiResult<JsonBody<Message>> {
    Ok(JsonBody(
        state.chat.delete_message(user.id, id, None).await?,
    ))
}

/// Query of `GET /api/messages/{id}/replies`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RepliesQuery {
    /// Replies with an id greater than this (from the first when absent).
    after: Option<MessageId>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/messages/{id}/replies",
    tag = "messages",
    operation_id = "list_replies",
    summary = "A message's thread",
    description = "The replies to the message, oldest first. Members of its conversation only.",
    params(("id" = MessageId, Path, description = "The message replied to."), RepliesQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of replies.", body = ReplyPage),
        (status = 400, description = "A `limit` out of 1..100 or a non-positive `after` \
            (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/messages/{id}/reactions",
    tag = "messages",
    operation_id = "list_reactions",
    summary = "Who reacted to a message",
    description = "The message's reactions in order of first use, each with its full `count` \
        and its first 20 users, in the order they reacted. Members of its conversation only.",
    params(("id" = MessageId, Path, description = "The message.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The reactions and who reacted.", body = MessageReactors),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
    )
)]
async fn reactors(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<MessageId>,
) -> ApiResult<JsonBody<MessageReactors>> {
    Ok(JsonBody(state.chat.reactors(user.id, id).await?))
}

#[utoipa::path(
    put,
    path = "/api/messages/{id}/reactions/{emoji}",
    tag = "messages",
    operation_id = "add_reaction",
    summary = "React to a message",
    description = "Adds the caller's reaction; adding one they have changes nothing. Each change \
        takes the conversation's next revision and sends `message:reaction` to every member's \
        sockets.",
    params(
        ("id" = MessageId, Path, description = "The message."),
        ("emoji" = String, Path, description = "One emoji (a single emoji sequence, at most 32 \
            bytes), percent-encoded."),
    ),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The message's reactions now, and the caller's.",
            body = ReactionOutcome),
        (status = 400, description = "Not one emoji (`validation_failed`, `details.emoji`).",
            body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`), \
            or a block in a direct conversation (`blocked`).", body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
        (status = 422, description = "A deleted message, or a 51st different emoji \
            (`unprocessable`).", body = ErrorBody),
    )
)]
async fn add_reaction(
    State(state): State<AppState>,
    user: AuthUser,
    Path((message_id, emoji)): Path<(MessageId, String)>,
) -> ApiResult<JsonBody<ReactionOutcome>> {
    react(&state, &user, ReactionRequest { message_id, emoji }, true).await
}

#[utoipa::path(
    delete,
    path = "/api/messages/{id}/reactions/{emoji}",
    tag = "messages",
    operation_id = "remove_reaction",
    summary = "Take back a reaction",
    description = "Removes the caller's reaction; removing one they do not have changes nothing. \
        Each change takes the conversation's next revision and sends `message:reaction` to \
        every member's sockets.",
    params(
        ("id" = MessageId, Path, description = "The message."),
        ("emoji" = String, Path, description = "One emoji, percent-encoded."),
    ),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The message's reactions now, and the caller's.",
            body = ReactionOutcome),
        (status = 400, description = "Not one emoji (`validation_failed`, `details.emoji`).",
            body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`), \
            or a block in a direct conversation (`blocked`).", body = ErrorBody),
        (status = 404, description = "No such message, or one of a conversation the caller is \
            not in (`not_found`).", body = ErrorBody),
        (status = 422, description = "A deleted message (`unprocessable`).", body = ErrorBody),
    )
)]
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
