//! Conversations, members and messages.
use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ChatError;
use chat_core::ids::{ConversationId, MessageId, UserId};
use chat_core::model::{Conversation, Message, User};
use chat_core::service::{
    ConversationCursor, ConversationListQuery, ConversationPage, ConversationSettings, CreateGroup,
    HistoryQuery, MessagePage, RoomSummary, SendMessage,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody, body_error};
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// `/api/conversations/...`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show))
        .routes(routes!(members, add_member))
        .routes(routes!(join))
        .routes(routes!(leave))
        .routes(routes!(settings))
        .routes(routes!(rooms))
        .routes(routes!(history, send))
}

/// Query of `GET /api/conversations`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `next_before` of the previous page (an opaque cursor).
    before: Option<String>,
    /// Page size, 1 to 200 (default 100).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/conversations",
    tag = "conversations",
    operation_id = "list_conversations",
    summary = "The caller's conversations",
    description = "A page of the caller's conversations, newest activity (last message, or \
        creation) first, ties by id. Follow `next_before` (as `before`) until it is null. \
        `online_count` is never in this list.",
    params(ListQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of conversations.", body = ConversationPage),
        (status = 400, description = "A `before` that is not a cursor, or a `limit` out of \
            1..200 (`validation_failed`).", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<JsonBody<ConversationPage>> {
    let before = match q.before.as_deref() {
        Some(cursor) => Some(cursor.parse::<ConversationCursor>()?),
        None => None,
    };
    let query = ConversationListQuery {
        before,
        limit: q.limit,
    };
    Ok(JsonBody(
        state.chat.conversation_page(user.id, query).await?,
    ))
}

/// `{user_id}`: a direct conversation.
#[derive(Deserialize, utoipa::ToSchema)]
struct DirectBody {
    /// The other user.
    user_id: UserId,
}

const CREATE_SHAPE: &str = "expected {user_id} or {type: \"group\", name, member_ids, is_public?}";

/// The body of `POST /api/conversations`: a direct conversation, or a group
/// (told apart by `type`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Described only: `create` tells the shapes apart itself.
enum CreateConversation {
    /// `{user_id}`: the direct conversation with that user.
    Direct(DirectBody),
    /// `{type: "group", name, member_ids?, is_public?}`.
    Group(GroupBody),
}

/// A group (or, with `is_public`, a public room) to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)] // Described only: read as `CreateGroup`.
struct GroupBody {
    /// `group`.
    #[serde(rename = "type")]
    kind: GroupKind,
    #[serde(flatten)]
    group: CreateGroup,
}

/// The `type` of a group to create.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum GroupKind {
    /// A group or public room.
    Group,
}

#[utoipa::path(
    post,
    path = "/api/conversations",
    tag = "conversations",
    operation_id = "create_conversation",
    summary = "Open a direct conversation or create a group",
    description = "`{user_id}`: the direct conversation with that user, created when needed \
        (201) or as it is (200); at most one per pair. `{type: \"group\", name, member_ids, \
        is_public?}`: a new group or public room (201). Creation sends `conversation:new` to the \
        members' sockets. A user creates at most `GROUPS_PER_HOUR` groups and rooms per hour.",
    request_body = CreateConversation,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The direct conversation, which existed.", body = Conversation),
        (status = 201, description = "The conversation, created.", body = Conversation),
        (status = 400, description = "Oneself as `user_id`, a bad `type`, name or `member_ids`, \
            or a non-positive id (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "A block between the two users (`blocked`).",
            body = ErrorBody),
        (status = 404, description = "No such user (`not_found`).", body = ErrorBody),
        (status = 429, description = "`GROUPS_PER_HOUR` reached (`rate_limited`).",
            body = ErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<(StatusCode, JsonBody<Conversation>)> {
    // The shape is told by `type`, so a bad field is reported as that
    // shape's (a refused id is `validation_failed`, as elsewhere).
    if body.get("type").is_none() {
        let DirectBody { user_id } =
            serde_path_to_error::deserialize(body).map_err(|err| body_error(&err, CREATE_SHAPE))?;
        let (conv, created) = state.chat.get_or_create_direct(user.id, user_id).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok((status, JsonBody(conv)));
    }
    // `{type: "group", name, member_ids, is_public?}`: a group.
    if body["type"] != "group" {
        return Err(ChatError::field("type", "must be \"group\"").into());
    }
    let group: CreateGroup =
        serde_path_to_error::deserialize(body).map_err(|err| body_error(&err, CREATE_SHAPE))?;
    let conv = state.chat.create_group(user.id, group).await?;
    Ok((StatusCode::CREATED, JsonBody(conv)))
}

#[utoipa::path(
    get,
    path = "/api/conversations/{id}",
    tag = "conversations",
    operation_id = "get_conversation",
    summary = "A conversation",
    description = "The conversation as the caller sees it; groups and public rooms carry \
        `online_count`. A private conversation the caller is not in answers exactly like one \
        that does not exist.",
    params(("id" = ConversationId, Path, description = "The conversation.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The conversation.", body = Conversation),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
    )
)]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<JsonBody<Conversation>> {
    Ok(JsonBody(state.chat.conversation(user.id, id).await?))
}

/// Query of `GET /api/conversations/{id}/members`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MembersQuery {
    /// Members with a user id greater than this (from the first when absent).
    after: Option<UserId>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// A page of members.
#[derive(Serialize, utoipa::ToSchema)]
struct Members {
    /// Ordered by user id; a page shorter than `limit` is the last.
    members: Vec<User>,
}

#[utoipa::path(
    get,
    path = "/api/conversations/{id}/members",
    tag = "conversations",
    operation_id = "list_members",
    summary = "A conversation's members",
    description = "Members only. Members who blocked the caller show `offline` and a null \
        `last_seen`.",
    params(("id" = ConversationId, Path, description = "The conversation."), MembersQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of members.", body = Members),
        (status = 400, description = "A `limit` out of 1..500 or a non-positive `after` \
            (`validation_failed`).", body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
    )
)]
async fn members(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Query(q): Query<MembersQuery>,
) -> ApiResult<JsonBody<Members>> {
    Ok(JsonBody(Members {
        members: state
            .chat
            .list_members(user.id, id, q.after, q.limit)
            .await?,
    }))
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

/// `POST /api/conversations/{id}/members`.
#[derive(Deserialize, utoipa::ToSchema)]
struct AddMemberBody {
    /// The user to add.
    user_id: UserId,
}

#[utoipa::path(
    post,
    path = "/api/conversations/{id}/members",
    tag = "conversations",
    operation_id = "add_member",
    summary = "Add a member to a group",
    description = "Any member adds another user to a group or room, private or public. Writes \
        the system message `<username> was added`, sends `conversation:new` to the added user \
        and `conversation:member_joined` to the conversation.",
    params(("id" = ConversationId, Path, description = "The group or room.")),
    request_body = AddMemberBody,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 201, description = "The conversation as the caller sees it now.",
            body = Conversation),
        (status = 400, description = "A non-positive `user_id` (`validation_failed`).",
            body = ErrorBody),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation or user, or a private conversation \
            the caller is not in (`not_found`).", body = ErrorBody),
        (status = 409, description = "The user is already a member (`already_member`).",
            body = ErrorBody),
        (status = 422, description = "A direct conversation (`unprocessable`).", body = ErrorBody),
    )
)]
async fn add_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Json(body): Json<AddMemberBody>,
) -> ApiResult<(StatusCode, JsonBody<Conversation>)> {
    let conv = state.chat.add_member(user.id, id, body.user_id).await?;
    Ok((StatusCode::CREATED, JsonBody(conv)))
}

#[utoipa::path(
    post,
    path = "/api/conversations/{id}/join",
    tag = "conversations",
    operation_id = "join_room",
    summary = "Join a public room",
    description = "Joining a room one is in returns it unchanged. On join: the system message \
        `<username> joined`, `conversation:new` to the joiner's sockets and \
        `conversation:member_joined` to the room.",
    params(("id" = ConversationId, Path, description = "The public room.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The room.", body = Conversation),
        (status = 404, description = "No such conversation, or a private one (`not_found`).",
            body = ErrorBody),
    )
)]
async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<JsonBody<Conversation>> {
    Ok(JsonBody(state.chat.join_room(user.id, id).await?))
}

#[utoipa::path(
    post,
    path = "/api/conversations/{id}/leave",
    tag = "conversations",
    operation_id = "leave_conversation",
    summary = "Leave a group or room",
    description = "Writes the system message `<username> left`, sends \
        `conversation:member_left`, then unsubscribes the leaver's sockets.",
    params(("id" = ConversationId, Path, description = "The group or room.")),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 204, description = "Left."),
        (status = 403, description = "A public room the caller is not in (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
        (status = 422, description = "A direct conversation (`unprocessable`).", body = ErrorBody),
    )
)]
async fn leave(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<StatusCode> {
    state.chat.leave_conversation(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/rooms`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RoomsQuery {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// Rooms to skip (default 0).
    offset: Option<u64>,
}

/// The public rooms.
#[derive(Serialize, utoipa::ToSchema)]
struct Rooms {
    /// Most recently active first.
    rooms: Vec<RoomSummary>,
}

#[utoipa::path(
    get,
    path = "/api/rooms",
    tag = "conversations",
    operation_id = "list_rooms",
    summary = "Public rooms",
    description = "Every public room, whether or not the caller is in it, with `is_member` and \
        `online_count`; `members` is empty, `last_message` null and `unread_count` 0.",
    params(RoomsQuery),
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "A page of rooms.", body = Rooms),
        (status = 400, description = "A `limit` out of 1..100 (`validation_failed`).",
            body = ErrorBody),
    )
)]
async fn rooms(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<RoomsQuery>,
) -> ApiResult<JsonBody<Rooms>> {
    let rooms = state
        .chat
        .public_rooms(user.id, q.limit, q.offset.unwrap_or(0))
        .await?;
    Ok(JsonBody(Rooms { rooms }))
}

#[utoipa::path(
    put,
    path = "/api/conversations/{id}/settings",
    tag = "conversations",
    operation_id = "update_conversation_settings",
    summary = "The caller's own settings of a conversation",
    description = "Mutes the conversation until a time, or unmutes it (`null` or absent). \
        Nobody else sees it and no event is sent; a muted conversation still delivers every \
        event. Members only.",
    params(("id" = ConversationId, Path, description = "The conversation.")),
    request_body = ConversationSettings,
    security(("bearer" = []), ("access_token_cookie" = [])),
    responses(
        (status = 200, description = "The conversation as the caller sees it, with \
            `muted_until`.", body = Conversation),
        (status = 403, description = "A public room the caller has not joined (`not_a_member`).",
            body = ErrorBody),
        (status = 404, description = "No such conversation, or a private one the caller is not \
            in (`not_found`).", body = ErrorBody),
    )
)]
async fn settings(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Json(body): Json<ConversationSettings>,
) -> ApiResult<JsonBody<Conversation>> {
    Ok(JsonBody(
        state.chat.update_settings(user.id, id, body).await?,
    ))
}
