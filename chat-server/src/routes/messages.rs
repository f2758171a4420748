//! `/api/messages/:id`: editing and deleting a message (the REST twins of
//! `message:edit` and `message:delete`).
use axum::extract::State;
use axum::routing::patch;
use axum::{Json as JsonBody, Router};
use chat_core::ids::MessageId;
use chat_core::model::Message;
use chat_core::service::EditMessage;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json, Path};
use crate::state::AppState;

/// Routes of single messages.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/messages/{id}", patch(edit).delete(delete))
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
