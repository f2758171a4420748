//! Who is in a conversation: its members a page at a time, adding a member
//! to a group, joining a public room, leaving.
use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ids::{ConversationId, UserId};
use chat_core::model::{Conversation, User};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json, Path, Query};
use crate::state::AppState;

/// `/api/conversations/{id}/members`, `/join` and `/leave`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(members, add_member))
        .routes(routes!(join))
        .routes(routes!(leave))
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
