//! `message:send`.
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::model::Message;
use crate::service::SendMessage;

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
