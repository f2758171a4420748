//! `message:send`.
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};

use super::{parse, reply};
use crate::ChatHandle;
use crate::model::Message;
use crate::service::SendMessage;
use crate::socket::auth::Identity;

#[derive(Serialize)]
struct Sent {
    message: Message,
}

pub(crate) async fn on_send<A: Adapter>(
    socket: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    let result = async {
        chat.check_event_rate(identity.user_id)?;
        let request: SendMessage = parse(payload)?;
        let outcome = chat
            .send_message(identity.user_id, request, Some(socket.id))
            .await?;
        Ok(Sent {
            message: outcome.message,
        })
    }
    .await;
    reply(ack, result);
}
