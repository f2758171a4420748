//! Opening a direct conversation or creating a group: one route, told
//! apart by the body's `type`.
use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::ChatError;
use chat_core::ids::UserId;
use chat_core::model::Conversation;
use chat_core::service::CreateGroup;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody, body_error};
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

/// `POST /api/conversations`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
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
