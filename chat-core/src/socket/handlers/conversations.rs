//! `conversation:join`.
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};

use super::{parse, reply};
use crate::ChatHandle;
use crate::socket::auth::Identity;
use crate::socket::emitter::conversation_room;
use crate::socket::events::ConversationRef;

#[derive(Serialize)]
struct Joined {
    conversation_id: i64,
}

pub(crate) async fn on_join<A: Adapter>(
    socket: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    let result = async {
        let ConversationRef { conversation_id } = parse(payload)?;
        // A member subscribes this socket; a non-member joins the conversation
        // if it is a public room (and gets `not_found` otherwise).
        if !chat.is_member(conversation_id, identity.user_id).await? {
            chat.join_room(identity.user_id, conversation_id).await?;
        }
        socket.join(conversation_room(conversation_id));
        Ok(Joined { conversation_id })
    }
    .await;
    reply(ack, result);
}
