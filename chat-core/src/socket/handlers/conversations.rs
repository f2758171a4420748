//! `conversation:join`.
use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::{ChatError, ChatResult};
use crate::fanout::conversation_room;
use crate::ids::ConversationId;
use crate::protocol::ConversationRef;

#[derive(Serialize)]
pub(crate) struct Joined {
    conversation_id: ConversationId,
}

pub(crate) async fn on_join<A: Adapter>(
    caller: Caller<A>,
    ConversationRef { conversation_id }: ConversationRef,
) -> ChatResult<Joined> {
    let Caller {
        socket,
        chat,
        identity,
        ..
    } = caller;
    // A member subscribes this socket; a non-member joins the conversation
    // if it is a public room (and gets `not_found` otherwise).
    if !chat.is_member(conversation_id, identity.user_id).await? {
        chat.join_room(identity.user_id, conversation_id).await?;
    }
    let room = conversation_room(conversation_id);
    socket.join(room.clone());
    // A leave committed since the check above may have unsubscribed the
    // user's sockets before this one joined: asked again (from the database,
    // not the cache another instance's notice may not have reached yet), the
    // answer is at least as new as that leave.
    match chat.is_member_now(conversation_id, identity.user_id).await {
        Ok(true) => Ok(Joined { conversation_id }),
        Ok(false) => {
            socket.leave(room);
            Err(ChatError::NotAMember)
        }
        Err(err) => {
            socket.leave(room);
            Err(err)
        }
    }
}
