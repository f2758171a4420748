//! `typing:start` and `typing:stop`, and the conversations each socket is
//! typing in ([`SocketTyping`]), stopped when it disconnects.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::ids::ConversationId;
use crate::protocol::ConversationRef;

/// Conversations this socket said it is typing in, stopped when it disconnects.
#[derive(Clone, Default)]
pub(crate) struct SocketTyping(pub(crate) Arc<Mutex<HashSet<ConversationId>>>);

impl SocketTyping {
    fn started(&self, conversation_id: ConversationId) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(conversation_id);
        }
    }

    fn stopped(&self, conversation_id: ConversationId) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&conversation_id);
        }
    }

    /// The conversations, forgotten.
    pub(crate) fn take(&self) -> Vec<ConversationId> {
        self.0
            .lock()
            .map(|mut s| s.drain().collect())
            .unwrap_or_default()
    }
}

#[derive(Serialize)]
pub(crate) struct TypingAck {
    conversation_id: ConversationId,
}

pub(crate) async fn on_typing_start<A: Adapter>(
    caller: Caller<A>,
    ConversationRef { conversation_id }: ConversationRef,
) -> ChatResult<TypingAck> {
    let Caller {
        socket,
        chat,
        identity,
        ..
    } = caller;
    chat.typing_start(&identity, conversation_id, Some(socket.id))
        .await?;
    if let Some(typing) = socket.extensions.get::<SocketTyping>() {
        typing.started(conversation_id);
    }
    Ok(TypingAck { conversation_id })
}

pub(crate) async fn on_typing_stop<A: Adapter>(
    caller: Caller<A>,
    ConversationRef { conversation_id }: ConversationRef,
) -> ChatResult<TypingAck> {
    let Caller {
        socket,
        chat,
        identity,
        ..
    } = caller;
    chat.typing_stop(&identity, conversation_id, Some(socket.id))
        .await?;
    if let Some(typing) = socket.extensions.get::<SocketTyping>() {
        typing.stopped(conversation_id);
    }
    Ok(TypingAck { conversation_id })
}
