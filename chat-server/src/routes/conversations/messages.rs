//! A conversation's messages: its history (newest first, catch-up by `seq`
//! or by revision) and sending one, exactly as a socket send.
use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ids::{ConversationId, MessageId};
use chat_core::model::Message;
use chat_core::service::{HistoryQuery, MessagePage, SendMessage};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// `GET` and `POST /api/conversations/{id}/messages`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(history, send))
}

/// Query of `GET /api/conversations/{id}/messages`: at most one of
/// `before`, `after_seq` and `after_rev`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Messages older than this message, newest first.
    before: Option<MessageId>,
    /// Messages with a `seq` greater than this, oldest first (catch-up).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
    /// Every message created or changed after this revision, by `rev`.
    #[param(minimum = 0)]
    after_rev: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/conversations/{id}/messages",
    tag = "messages",
    operation_id = "list_messages",
    summary = "A conversation's history",
    description = "Newest first (or with `before`, older than that message); with `after_seq`, \
        the messages after that `seq`, oldest first; with `after_rev`, the current state of every \
        message created or changed after that revision, by `rev`. `last_rev` is the \
        conversation's revision when the page was read. Members only.",
    params(("id" = ConversationId, Path, description = "The conversation."), HistoryParams),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of messages, with the caller's `my_reactions`.",
            body = MessagePage),
        (status = 400, description = "Two cursors at once, a negative `after_seq` or \
            `after_rev`, a `before` not of this conversation, or a `limit` out of 1..100 \
            (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
    )
)]
async fn history(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Query(q): Query<HistoryParams>,
) -> ApiResult<JsonBody<MessagePage>> {
    let query = HistoryQuery {
        before: q.before,
        after_seq: q.after_seq,
        after_rev: q.after_rev,
        limit: q.limit,
    };
    Ok(JsonBody(state.chat.history(user.id, id, query).await?))
}

/// `POST /api/conversations/{id}/messages`.
#[derive(Deserialize, utoipa::ToSchema)]
struct SendBody {
    /// Text: trimmed, 1 to 4000 characters; may be empty with an upload.
    #[serde(default)]
    content: String,
    /// `text` (default), `image`, `audio` or `file` (the kind of the upload
    /// in `file_url`); `system` is refused.
    #[serde(default)]
    message_type: Option<chat_core::model::MessageType>,
    /// The `file_url` of the sender's upload, for image, audio and file messages.
    #[serde(default)]
    file_url: Option<String>,
    /// Idempotency key (1 to 64 bytes), unique per sender: sending it again
    /// returns the stored message.
    #[serde(default)]
    client_id: Option<String>,
    /// The message this one replies to, of the same conversation.
    reply_to: Option<MessageId>,
}

#[utoipa::path(
    post,
    path = "/api/conversations/{id}/messages",
    tag = "messages",
    operation_id = "send_message",
    summary = "Send a message",
    description = "Stores the message and delivers `message:new` to every socket of every \
        member, exactly as a socket send. A `client_id` the sender used before returns the \
        stored message (200) and delivers nothing. Members only.",
    params(("id" = ConversationId, Path, description = "The conversation.")),
    request_body = SendBody,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The message stored earlier with this `client_id`.",
            body = Message),
        (status = 201, description = "The message, stored.", body = Message),
        (status = 400, description = "Invalid content, type, upload or `client_id` \
            (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`), \
            or a block in a direct conversation (`blocked`).", body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
        (status = 422, description = "`reply_to` is not a message of this conversation, or is \
            deleted (`unprocessable`).", body = ErrorBody),
    )
)]
async fn send(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Json(body): Json<SendBody>,
) -> ApiResult<(StatusCode, JsonBody<Message>)> {
    let request = SendMessage {
        conversation_id: id,
        content: body.content,
        message_type: body.message_type,
        file_url: body.file_url,
        client_id: body.client_id,
        reply_to: body.reply_to,
    };
    let outcome = state.chat.send_message(user.id, request, None).await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonBody(outcome.message)))
}
