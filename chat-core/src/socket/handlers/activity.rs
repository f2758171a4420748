//! `message:read`, `message:delivered`, `typing:start`, `typing:stop`.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};

use super::{parse, reply};
use crate::ChatHandle;
use crate::service::{Receipt, ReceiptKind, ReceiptRequest};
use crate::socket::auth::Identity;
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
struct ReceiptAck {
    /// The receipt, or `null` when the pointer was already past this message.
    receipt: Option<Receipt>,
}

async fn on_receipt<A: Adapter>(
    kind: ReceiptKind,
    payload: Result<serde_json::Value, impl std::fmt::Display>,
    ack: AckSender<A>,
    chat: ChatHandle,
    identity: Identity,
) {
    let result = async {
        chat.check_event_rate(identity.user_id)?;
        let request: ReceiptRequest = parse(payload)?;
        let receipt = chat.mark(identity.user_id, kind, request).await?;
        Ok(ReceiptAck { receipt })
    }
    .await;
    reply(ack, result);
}

pub(crate) async fn on_read<A: Adapter>(
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    on_receipt(ReceiptKind::Read, payload, ack, chat, identity).await;
}

pub(crate) async fn on_delivered<A: Adapter>(
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    on_receipt(ReceiptKind::Delivered, payload, ack, chat, identity).await;
}

#[derive(Serialize)]
struct TypingAck {
    conversation_id: i64,
}

async fn on_typing<A: Adapter>(
    started: bool,
    socket: SocketRef<A>,
    payload: Result<serde_json::Value, impl std::fmt::Display>,
    ack: AckSender<A>,
    chat: ChatHandle,
    identity: Identity,
) {
    let result = async {
        chat.check_event_rate(identity.user_id)?;
        let ConversationRef { conversation_id } = parse(payload)?;
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
    .await;
    reply(ack, result);
}

pub(crate) async fn on_typing_start<A: Adapter>(
    socket: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    on_typing(true, socket, payload, ack, chat, identity).await;
}

pub(crate) async fn on_typing_stop<A: Adapter>(
    socket: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    Extension(identity): Extension<Identity>,
) {
    on_typing(false, socket, payload, ack, chat, identity).await;
}
