//! `message:send`, `message:edit`, `message:delete`.
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::model::Message;
use crate::service::{DeleteMessage, EditMessage, SendMessage};

#[derive(Serialize)]
pub(crate) struct Sent {
    message: Message,
}

pub(crate) async fn on_send<A: Adapter>(
    caller: Caller<A>,
    request: SendMessage,
) -> ChatResult<Sent> {
    let outcome = caller
        .chat
        .send_message(caller.identity.user_id, request, Some(caller.socket.id))
        .await?;
    Ok(Sent {
        message: outcome.message,
    })
}

/// `message:edit`: ack `{success, message}`.
pub(crate) async fn on_edit<A: Adapter>(caller: Caller<A>, edit: EditMessage) -> ChatResult<Sent> {
    let message = caller
        .chat
        .edit_message(caller.identity.user_id, edit, Some(caller.socket.id))
        .await?;
    Ok(Sent { message })
}

/// `message:delete`: ack `{success, message}` with the tombstone.
pub(crate) async fn on_delete<A: Adapter>(
    caller: Caller<A>,
    delete: DeleteMessage,
) -> ChatResult<Sent> {
    let message = caller
        .chat
        .delete_message(
            caller.identity.user_id,
            delete.message_id,
            Some(caller.socket.id),
        )
        .await?;
    Ok(Sent { message })
}
