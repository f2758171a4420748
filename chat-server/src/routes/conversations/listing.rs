//! Reading conversations: the caller's conversations a page at a time, one
//! conversation, the public rooms.
use axum::Json as JsonBody;
use axum::extract::State;
use chat_core::ids::ConversationId;
use chat_core::model::Conversation;
use chat_core::service::{
    ConversationCursor, ConversationListQuery, ConversationPage, RoomSummary,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Path, Query};
use crate::state::AppState;

/// `GET /api/conversations`, `GET /api/conversations/{id}`, `GET /api/rooms`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(rooms))
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
