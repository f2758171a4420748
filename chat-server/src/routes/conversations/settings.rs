//! The caller's own settings of a conversation (muting), which nobody else
//! sees.
use axum::Json as JsonBody;
use axum::extract::State;
use chat_core::ids::ConversationId;
use chat_core::model::Conversation;
use chat_core::service::ConversationSettings;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuthUser, Json, Path};
use crate::state::AppState;

/// `PUT /api/conversations/{id}/settings`.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(settings))
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
