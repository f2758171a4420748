//! Messages that change after sending: edits and deletes. Each change takes
//! its conversation's next revision in the transaction that makes it, and is
//! announced to the conversation after the commit.
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult, Invalid};
use crate::fanout::{Target, conversation_room};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{ConversationKind, Message, MessageType};
use crate::protocol as events;
use crate::store::{self, now};

/// An edit (`message:edit`, `PATCH /api/messages/:id`): the message's new
/// text, checked like a sent one (trimmed, 1 to `max_message_chars`
/// characters, no NUL).
///
/// ```
/// use chat_core::service::EditMessage;
///
/// let edit: EditMessage = serde_json::from_str(r#"{"message_id": 1001, "content": "fixed the typo"}"#)?;
/// assert_eq!(edit.message_id.get(), 1001);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize)]
pub struct EditMessage {
    /// The message to edit.
    pub message_id: MessageId,
    /// Its new text.
    pub content: String,
}

/// A delete (`message:delete`): the message to take back.
///
/// ```
/// use chat_core::service::DeleteMessage;
///
/// let delete: DeleteMessage = serde_json::from_str(r#"{"message_id": 1001}"#)?;
/// assert_eq!(delete.message_id.get(), 1001);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Deserialize)]
pub struct DeleteMessage {
    /// The message to delete.
    pub message_id: MessageId,
}

/// The payload of `message:deleted`: which message of which conversation,
/// with the revision its deletion took.
///
/// ```
/// use chat_core::service::MessageDeleted;
///
/// let heard: MessageDeleted = serde_json::from_str(
///     r#"{"conversation_id": 42, "message_id": 1001, "seq": 17, "rev": 31,
///         "deleted_at": "2026-12-03T07:00:00Z"}"#,
/// )?;
/// assert_eq!(heard.rev, 31);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDeleted {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The deleted message.
    pub message_id: MessageId,
    /// Its `seq` (unchanged).
    pub seq: i64,
    /// The revision the deletion took.
    pub rev: i64,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
}

impl ChatHandle {
    /// Replaces the text of one of the caller's own text messages; returns
    /// the edited message, stamped with `edited_at` and the conversation's
    /// next revision, after the commit. The conversation's other sockets (all
    /// but `origin`) get `message:updated` with it.
    ///
    /// Members only (`not_found`, or `not_a_member` for a public room), the
    /// sender only (`forbidden`), not in a direct conversation with a block
    /// either way (`blocked`), text messages that are not deleted only,
    /// within [`edit_window`](crate::ChatConfig::edit_window) of sending
    /// (`unprocessable`).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     typo: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::EditMessage;
    ///
    /// let edit = EditMessage { message_id: typo, content: "Meeting at 10, not 11".into() };
    /// let edited = chat.edit_message(me, edit, None).await?;
    /// assert!(edited.edited_at.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn edit_message(
        &self,
        caller: UserId,
        edit: EditMessage,
        origin: Option<Sid>,
    ) -> ChatResult<Message> {
        let content = edit.content.trim();
        let max_chars = self.config().max_message_chars;
        let chars = content.chars().count();
        let mut invalid = Invalid::new();
        invalid
            .check(chars > 0, "content", "must not be empty")
            .check(
                chars <= max_chars,
                "content",
                format!("must be at most {max_chars} characters"),
            )
            .check(
                !content.contains('\0'),
                "content",
                "must not contain NUL characters",
            );
        invalid.finish()?;
        let message = self.changeable_message(caller, edit.message_id).await?;
        if message.sender_id != caller {
            return Err(ChatError::Forbidden("only the sender may edit a message"));
        }
        if message.message_type != MessageType::Text {
            return Err(ChatError::Unprocessable("only text messages can be edited"));
        }
        let at = now();
        if let Some(window) = self.config().edit_window
            && (at - message.created_at)
                .to_std()
                .is_ok_and(|age| age > window)
        {
            return Err(ChatError::Unprocessable(
                "the time to edit this message has passed",
            ));
        }
        let txn = self.db().begin().await?;
        let rev = store::message_changes::take_rev(&txn, message.conversation_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        if !store::message_changes::set_content(&txn, message.id, content, at, rev).await? {
            // Deleted since it was read: nothing changes, no revision taken.
            txn.rollback().await?;
            return Err(deleted());
        }
        txn.commit().await?;
        let edited = Message {
            content: content.to_owned(),
            edited_at: Some(at),
            rev,
            ..message
        };
        self.broadcast(
            Target::room(conversation_room(edited.conversation_id)).except_socket(origin),
            events::MESSAGE_UPDATED,
            &edited,
        )
        .await;
        let mut answer = [edited];
        self.with_my_reactions(caller, &mut answer).await?;
        let [edited] = answer;
        Ok(edited)
    }

    /// Deletes a message: its sender may, and so may the creator of the group
    /// it is in. Its content and file reference are erased from the database
    /// (the row stays as a tombstone with its id, `seq`, sender and
    /// `created_at`) in a change that takes the conversation's next revision;
    /// returns the tombstone after the commit, and the conversation's other
    /// sockets get `message:deleted`. Deleting a deleted message changes
    /// nothing and answers the tombstone.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     oops: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// let tombstone = chat.delete_message(me, oops, None).await?;
    /// assert!(tombstone.deleted_at.is_some() && tombstone.content.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn delete_message(
        &self,
        caller: UserId,
        message_id: MessageId,
        origin: Option<Sid>,
    ) -> ChatResult<Message> {
        let message = self.readable_message(caller, message_id).await?;
        if message.deleted_at.is_some() {
            return Ok(as_tombstone(message));
        }
        if message.sender_id != caller && !self.created_group(caller, &message).await? {
            return Err(ChatError::Forbidden(
                "only the sender or the group's creator may delete a message",
            ));
        }
        let at = now();
        let txn = self.db().begin().await?;
        let rev = store::message_changes::take_rev(&txn, message.conversation_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        if !store::message_changes::erase(&txn, message.id, at, rev).await? {
            txn.rollback().await?;
            // Deleted since it was read: answer that tombstone.
            return Ok(as_tombstone(
                self.readable_message(caller, message_id).await?,
            ));
        }
        txn.commit().await?;
        if let Err(err) = store::message_changes::fold_log(self.db()).await {
            // The row is erased either way; only older copies may linger.
            tracing::warn!(%err, "write-ahead log not folded after a delete");
        }
        let tombstone = Message {
            content: String::new(),
            file_url: None,
            attachment: None,
            call: None,
            deleted_at: Some(at),
            rev,
            mentions: Vec::new(),
            reactions: Vec::new(),
            my_reactions: Some(Vec::new()),
            ..message
        };
        let event = MessageDeleted {
            conversation_id: tombstone.conversation_id,
            message_id: tombstone.id,
            seq: tombstone.seq,
            rev,
            deleted_at: at,
        };
        self.broadcast(
            Target::room(conversation_room(tombstone.conversation_id)).except_socket(origin),
            events::MESSAGE_DELETED,
            &event,
        )
        .await;
        Ok(tombstone)
    }

    /// The message, if it exists in a conversation the caller may read and
    /// write in (`blocked` in a direct conversation with a block either way)
    /// and is not deleted (`unprocessable` when it is).
    pub(crate) async fn changeable_message(
        &self,
        caller: UserId,
        message_id: MessageId,
    ) -> ChatResult<Message> {
        let message = self.readable_message(caller, message_id).await?;
        self.require_writer(message.conversation_id, caller).await?;
        if message.deleted_at.is_some() {
            return Err(deleted());
        }
        Ok(message)
    }

    /// The message, if it exists in a conversation the caller may read;
    /// outsiders learn nothing of it, as of its conversation (`not_found`).
    pub(crate) async fn readable_message(
        &self,
        caller: UserId,
        message_id: MessageId,
    ) -> ChatResult<Message> {
        let message = store::message_changes::by_id(self.db(), message_id)
            .await?
            .ok_or(ChatError::NotFound("message"))?;
        self.require_member(message.conversation_id, caller)
            .await
            .map_err(|err| match err {
                ChatError::NotFound(_) => ChatError::NotFound("message"),
                other => other,
            })?;
        Ok(message)
    }

    /// Whether `caller` created the group `message` is in.
    async fn created_group(&self, caller: UserId, message: &Message) -> ChatResult<bool> {
        let conversation = store::conversations::by_id(self.db(), message.conversation_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        Ok(conversation.kind == ConversationKind::Group.as_str()
            && conversation.created_by == Some(caller.get()))
    }
}

/// A stored tombstone as its answer: a deleted message has no reactions,
/// so the caller's own are none.
fn as_tombstone(message: Message) -> Message {
    Message {
        my_reactions: Some(Vec::new()),
        ..message
    }
}

pub(crate) fn deleted() -> ChatError {
    ChatError::Unprocessable("the message was deleted")
}

/// One page of a thread: replies to a message, oldest first.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyPage {
    /// The replies.
    pub messages: Vec<Message>,
    /// Whether later replies follow (ask again after the last one's id).
    pub has_more: bool,
}

impl ChatHandle {
    /// The replies to a message (its thread), oldest first, those with an id
    /// greater than `after`; `limit` as for history. Members of the message's
    /// conversation only (`not_found` for anyone else, as for a message that
    /// does not exist).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     question: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// let thread = chat.replies(me, question, None, Some(50)).await?;
    /// for reply in &thread.messages {
    ///     println!("{}: {}", reply.sender.username, reply.content);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn replies(
        &self,
        caller: UserId,
        message_id: MessageId,
        after: Option<MessageId>,
        limit: Option<u64>,
    ) -> ChatResult<ReplyPage> {
        let limit = crate::service::PageLimit {
            default: self.config().history_default_limit,
            max: self.config().history_max_limit,
        }
        .resolve(limit)?;
        self.readable_message(caller, message_id).await?;
        let after = after.map_or(0, MessageId::get);
        let mut messages =
            store::message_changes::replies(self.db(), message_id, after, limit + 1).await?;
        let has_more = messages.len() as u64 > limit;
        messages.truncate(limit as usize);
        self.with_my_reactions(caller, &mut messages).await?;
        Ok(ReplyPage { messages, has_more })
    }
}
