//! `message:read`, `message:delivered`, `typing:start`, `typing:stop`.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use socketioxide::adapter::Adapter;

use super::event::Caller;
use crate::error::ChatResult;
use crate::service::{Receipt, ReceiptKind, ReceiptRequest};
use crate::socket::events::ConversationRef;

/// Conversations this socket said it is typing in, stopped when it disconnects.
#[derive(Clone, Default)]
pub(crate) struct SocketTyping(pub(crate) Arc<Mutex<HashSet<i64>>>);

impl SocketTyping {
    fn set(&self, conversation_id: i64, typing: bool) {
        if let Ok(mut set) = self.0.lock() {
            if typing {
                set.insert(conversation_id);
            } else {
                set.remove(&conversation_id);
            }
        }
    }

    pub(crate) fn take(&self) -> Vec<i64> {
        self.0
            .lock()
            .map(|mut s| s.drain().collect())
            .unwrap_or_default()
    }
}

#[derive(Serialize)]
pub(crate) struct ReceiptAck {
    /// The receipt, or `null` when the pointer was already past this message.
    receipt: Option<Receipt>,
}

async fn on_receipt<A: Adapter>(
    kind: ReceiptKind,
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    let receipt = caller
        .chat
        .mark(caller.identity.user_id, kind, request)
        .await?;
    Ok(ReceiptAck { receipt })
}

pub(crate) async fn on_read<A: Adapter>(
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    on_receipt(ReceiptKind::Read, caller, request).await
}

pub(crate) async fn on_delivered<A: Adapter>(
    caller: Caller<A>,
    request: ReceiptRequest,
) -> ChatResult<ReceiptAck> {
    on_receipt(ReceiptKind::Delivered, caller, request).await
}

#[derive(Serialize)]
pub(crate) struct TypingAck {
    conversation_id: i64,
}

async fn on_typing<A: Adapter>(
    started: bool,
    caller: Caller<A>,
    conversation_id: i64,
) -> ChatResult<TypingAck> {
    let Caller {
        socket,
        chat,
        identity,
        ..
    } = caller;
    if started {
        chat.typing_start(&identity, conversation_id, Some(socket.id))
            .await?;
    } else {
        chat.typing_stop(&identity, conversation_id, Some(socket.id))
            .await?;
    }
    if let Some(typing) = socket.extensions.get::<SocketTyping>() {
        typing.set(conversation_id, started);
    }
    Ok(TypingAck { conversation_id })
}

pub(crate) async fn on_typing_start<A: Adapter>(
    caller: Caller<A>,
    ConversationRef { conversation_id }: ConversationRef,
) -> ChatResult<TypingAck> {
    on_typing(true, caller, conversation_id).await
}

pub(crate) async fn on_typing_stop<A: Adapter>(
    caller: Caller<A>,
    ConversationRef { conversation_id }: ConversationRef,
) -> ChatResult<TypingAck> {
    on_typing(false, caller, conversation_id).await
}
