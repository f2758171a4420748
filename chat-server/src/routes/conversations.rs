//! Conversations, members and messages.
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json as JsonBody, Router};
use chat_core::ChatError;
use chat_core::ids::{ConversationId, MessageId, UserId};
use chat_core::model::{Conversation, Message, User};
use chat_core::service::{
    ConversationCursor, ConversationListQuery, ConversationPage, ConversationSettings, CreateGroup,
    HistoryQuery, MessagePage, RoomSummary, SendMessage,
};
use serde::{Deserialize, Serialize};

use crate::error::{ApiResult, body_error};
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// `/api/conversations/...`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/conversations", get(list).post(create))
        .route("/api/conversations/{id}", get(show))
        .route(
            "/api/conversations/{id}/members",
            get(members).post(add_member),
        )
        .route("/api/conversations/{id}/join", post(join))
        .route("/api/conversations/{id}/leave", post(leave))
        .route("/api/conversations/{id}/settings", put(settings))
        .route("/api/rooms", get(rooms))
        .route("/api/conversations/{id}/messages", get(history).post(send))
}

#[derive(Deserialize)]
struct ListQuery {
    /// `next_before` of the previous page.
    before: Option<String>,
    limit: Option<u64>,
}

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
#[derive(Deserialize)]
struct DirectBody {
    user_id: UserId,
}

const CREATE_SHAPE: &str = "expected {user_id} or {type: \"group\", name, member_ids, is_public?}";

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

async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<JsonBody<Conversation>> {
    Ok(JsonBody(state.chat.conversation(user.id, id).await?))
}

#[derive(Deserialize)]
struct MembersQuery {
    after: Option<UserId>,
    limit: Option<u64>,
}

#[derive(Serialize)]
struct Members {
    members: Vec<User>,
}

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

#[derive(Deserialize)]
struct HistoryParams {
    before: Option<MessageId>,
    after_seq: Option<i64>,
    after_rev: Option<i64>,
    limit: Option<u64>,
}

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

#[derive(Deserialize)]
struct SendBody {
    #[serde(default)]
    content: String,
    #[serde(default)]
    message_type: Option<chat_core::model::MessageType>,
    #[serde(default)]
    file_url: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    reply_to: Option<MessageId>,
}

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

#[derive(Deserialize)]
struct AddMemberBody {
    user_id: UserId,
}

async fn add_member(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
    Json(body): Json<AddMemberBody>,
) -> ApiResult<(StatusCode, JsonBody<Conversation>)> {
    let conv = state.chat.add_member(user.id, id, body.user_id).await?;
    Ok((StatusCode::CREATED, JsonBody(conv)))
}

async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<JsonBody<Conversation>> {
    Ok(JsonBody(state.chat.join_room(user.id, id).await?))
}

async fn leave(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConversationId>,
) -> ApiResult<StatusCode> {
    state.chat.leave_conversation(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RoomsQuery {
    limit: Option<u64>,
    offset: Option<u64>,
}

#[derive(Serialize)]
struct Rooms {
    rooms: Vec<RoomSummary>,
}

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
