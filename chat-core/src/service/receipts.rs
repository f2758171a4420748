//! Read and delivery receipts: per-member pointers that only move forward.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, conversation_room};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::protocol as events;
use crate::store::receipts::Pointer;
use crate::store::{self, now};

/// Which receipt.
///
/// ```
/// use chat_core::service::ReceiptKind;
/// use chat_core::socket::events;
///
/// fn kind_of(event: &str) -> Option<ReceiptKind> {
///     match event {
///         events::MESSAGE_READ => Some(ReceiptKind::Read),
///         events::MESSAGE_DELIVERED => Some(ReceiptKind::Delivered),
///         _ => None,
///     }
/// }
/// assert_eq!(kind_of("message:read"), Some(ReceiptKind::Read));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// The member has read up to the message.
    Read,
    /// The message reached one of the member's devices.
    Delivered,
}

/// A receipt request (`message:read` / `message:delivered`): everything up to
/// `message_id` is read (or delivered).
///
/// ```
/// use chat_core::service::ReceiptRequest;
/// let body: ReceiptRequest = serde_json::from_str(r#"{"conversation_id": 42, "message_id": 1001}"#).unwrap();
/// assert_eq!(body.message_id.get(), 1001);
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Deserialize, Serialize)]
pub struct ReceiptRequest {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// The newest message covered.
    pub message_id: MessageId,
}

/// A receipt as broadcast to the conversation. Compare `seq`, not ids: the
/// receipt covers every message up to it.
///
/// ```
/// use chat_core::service::Receipt;
/// let receipt: Receipt = serde_json::from_str(
///     r#"{"conversation_id": 42, "message_id": 1001, "seq": 17, "user_id": 9,
///         "read_at": "2026-11-26T01:52:50Z"}"#,
/// ).unwrap();
/// let read_by_9 = |message_seq: i64| message_seq <= receipt.seq;
/// assert!(read_by_9(12) && !read_by_9(18));
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Newest message covered.
    pub message_id: MessageId,
    /// `seq` of that message: every message with a `seq` up to it is covered.
    pub seq: i64,
    /// Who read / received it.
    pub user_id: UserId,
    /// When (`read_at` for reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub read_at: Option<DateTime<Utc>>,
    /// When (`delivered_at` for deliveries).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl ChatHandle {
    /// Moves the caller's read or delivery pointer up to `message_id` and tells
    /// the conversation. An older message than the current pointer changes
    /// nothing and sends nothing (receipts never move backwards); the result is
    /// `None` then.
    ///
    /// A read also moves the delivery pointer. Fails with `not_found` for a
    /// private conversation the user is not in (`not_a_member` for a public
    /// room), or when the message is not in that conversation.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId,
    /// #     newest: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::{ReceiptKind, ReceiptRequest};
    ///
    /// let request = ReceiptRequest { conversation_id: general, message_id: newest };
    /// match chat.advance_receipt(me, ReceiptKind::Read, request).await? {
    ///     Some(receipt) => println!("read up to seq {}", receipt.seq),
    ///     None => println!("already read further"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn advance_receipt(
        &self,
        user_id: UserId,
        kind: ReceiptKind,
        request: ReceiptRequest,
    ) -> ChatResult<Option<Receipt>> {
        self.require_member(request.conversation_id, user_id)
            .await?;
        let seq =
            store::messages::seq_of(self.db(), request.conversation_id, request.message_id).await?;
        let Some(seq) = seq else {
            return Err(ChatError::NotFound("message"));
        };
        let pointer = match kind {
            ReceiptKind::Read => Pointer::Read,
            ReceiptKind::Delivered => Pointer::Delivered,
        };
        let moved = store::receipts::advance(
            self.db(),
            pointer,
            request.conversation_id,
            user_id,
            request.message_id,
            seq,
        )
        .await?;
        if !moved {
            return Ok(None);
        }
        let at = now();
        let receipt = Receipt {
            conversation_id: request.conversation_id,
            message_id: request.message_id,
            seq,
            user_id,
            read_at: (kind == ReceiptKind::Read).then_some(at),
            delivered_at: (kind == ReceiptKind::Delivered).then_some(at),
        };
        let event = match kind {
            ReceiptKind::Read => events::MESSAGE_READ,
            ReceiptKind::Delivered => events::MESSAGE_DELIVERED,
        };
        self.broadcast(
            Target::room(conversation_room(request.conversation_id)),
            event,
            &receipt,
        )
        .await;
        Ok(Some(receipt))
    }
}
