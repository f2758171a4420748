//! `message:send`, `message:edit`, `message:delete`, `reaction:add`, `reaction:remove`.
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::model::Message;
use crate::service::{DeleteMessage, EditMessage, ReactionOutcome, ReactionRequest, SendMessage};

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

/// `reaction:add`: ack `{success, message_id, reactions, my_reactions}`.
pub(crate) async fn on_reaction_add<A: Adapter>(
    caller: Caller<A>,
    request: ReactionRequest,
) -> ChatResult<ReactionOutcome> {
    caller
        .chat
        .add_reaction(caller.identity.user_id, request, Some(caller.socket.id))
        .await
}

/// `reaction:remove`: as `reaction:add`.
pub(crate) async fn on_reaction_remove<A: Adapter>(
    caller: Caller<A>,
    request: ReactionRequest,
) -> ChatResult<ReactionOutcome> {
    caller
        .chat
        .remove_reaction(caller.identity.user_id, request, Some(caller.socket.id))
        .await
}
