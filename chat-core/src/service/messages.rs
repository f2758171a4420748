//! Sending messages: validate, store (group commit, see [`super::writer`]),
//! then fan out.
use serde::Deserialize;
use socketioxide::socket::Sid;

use super::writer::{StoreRequest, Stored, ValidMessage};
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult, Invalid};
use crate::fanout::{Target, conversation_room};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Message, MessageType, ReplyPreview};
use crate::protocol as events;
use crate::store;

/// A message to send, as received from a client (`message:send` or REST).
///
/// Rules (checked by [`ChatHandle::send_message`], all problems reported at
/// once as `validation_failed`): content is trimmed and 1 to
/// [`max_message_chars`](crate::ChatConfig::max_message_chars) characters (may
/// be empty for an image, audio or file message, which needs the `file_url`
/// of an upload of the sender's of that kind);
/// `client_id` is 1 to 64 printable characters.
///
/// ```
/// use chat_core::ids::ConversationId;
/// use chat_core::model::MessageType;
/// use chat_core::service::SendMessage;
///
/// let general = ConversationId::try_from(42)?;
/// let photo = SendMessage {
///     message_type: Some(MessageType::Image),
///     file_url: Some("/uploads/9f86d081.png".into()),
///     client_id: Some("c-20a7".into()),
///     ..SendMessage::text(general, "our new office")
/// };
/// # assert_eq!(photo.conversation_id, general);
/// # Ok::<(), chat_core::ChatError>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize)]
pub struct SendMessage {
    /// Target conversation.
    pub conversation_id: ConversationId,
    /// Text; trimmed, 1..=max_message_chars characters (may be empty with an attachment).
    #[serde(default)]
    pub content: String,
    /// `text` (default), `image`, `audio` or `file`; `system` is refused.
    #[serde(default)]
    #[ts(optional)]
    pub message_type: Option<MessageType>,
    /// URL of the sender's upload, for image, audio and file messages.
    #[serde(default)]
    #[ts(optional)]
    pub file_url: Option<String>,
    /// Idempotency key chosen by the sender (1..=64 characters).
    #[serde(default)]
    #[ts(optional)]
    pub client_id: Option<String>,
    /// The message this one replies to: one of the same conversation, not
    /// deleted (`unprocessable` otherwise).
    #[serde(default)]
    #[ts(optional)]
    pub reply_to: Option<MessageId>,
}

impl SendMessage {
    /// A plain text message, without `client_id`.
    ///
    /// ```
    /// let team = chat_core::ids::ConversationId::try_from(3)?;
    /// let m = chat_core::service::SendMessage::text(team, "hi");
    /// assert_eq!(m.conversation_id, team);
    /// # Ok::<(), chat_core::ChatError>(())
    /// ```
    pub fn text(conversation_id: ConversationId, content: impl Into<String>) -> Self {
        SendMessage {
            conversation_id,
            content: content.into(),
            message_type: None,
            file_url: None,
            client_id: None,
            reply_to: None,
        }
    }

    /// Trims and checks the fields; returns the message ready to store.
    fn validated(self, max_chars: usize) -> ChatResult<ValidMessage> {
        let mut invalid = Invalid::new();
        let mut push = |field: &str, msg: &str| {
            invalid.add(field, msg);
        };
        let message_type = self.message_type.unwrap_or(MessageType::Text);
        let content = self.content.trim().to_owned();
        let chars = content.chars().count();
        match message_type {
            MessageType::System | MessageType::Call => push(
                "message_type",
                &format!("clients may not send {} messages", message_type.as_str()),
            ),
            MessageType::Text if chars == 0 => push("content", "must not be empty"),
            MessageType::Image | MessageType::Audio | MessageType::File
                if self.file_url.as_deref().is_none_or(str::is_empty) =>
            {
                push("file_url", "is required for image, audio and file messages")
            }
            MessageType::Text if self.file_url.is_some() => push(
                "file_url",
                "is only allowed on image, audio and file messages",
            ),
            _ => {}
        }
        if chars > max_chars {
            push(
                "content",
                &format!("must be at most {max_chars} characters"),
            );
        }
        if content.contains('\0') {
            push("content", "must not contain NUL characters");
        }
        if let Some(url) = &self.file_url
            && (url.len() > 512 || !url.starts_with("/uploads/"))
        {
            push("file_url", "must be the URL of an upload");
        }
        let client_id = self.client_id.map(|c| c.trim().to_owned());
        if let Some(c) = &client_id
            && (c.is_empty() || c.len() > 64 || c.chars().any(char::is_control))
        {
            push("client_id", "must be 1 to 64 printable characters");
        }
        invalid.finish()?;
        Ok(ValidMessage {
            conversation_id: self.conversation_id,
            content,
            message_type,
            file_url: self.file_url,
            // Looked up by the send.
            attachment: None,
            call: None,
            client_id,
            // Looked up by the send, which checks the conversation.
            reply_to: None,
            mentions: Vec::new(),
        })
    }
}

/// Result of [`ChatHandle::send_message`].
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::SendMessage;
///
/// let retry = SendMessage { client_id: Some("c-1f3a".into()), ..SendMessage::text(general, "hi") };
/// let outcome = chat.send_message(me, retry, None).await?;
/// if !outcome.created {
///     // A retry of a stored message: answer with it; nobody was notified twice.
/// }
/// # let _ = outcome.message; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SendOutcome {
    /// The stored message.
    pub message: Message,
    /// `false` when the `client_id` had been used before: nothing new was stored or sent.
    pub created: bool,
}

impl ChatHandle {
    /// Stores a message from `sender` and delivers `message:new` to every socket
    /// of every member, except `origin` (the sending socket, which gets the ack;
    /// `None` for REST).
    ///
    /// Returns only after the message is committed, so an ack built from the
    /// result never acknowledges a message that could be lost. A `client_id` the
    /// sender used before returns the stored message and delivers nothing.
    /// Sending also ends the sender's typing indicator there.
    ///
    /// Fails with `validation_failed` (see [`SendMessage`]), `not_found` for a
    /// private conversation the sender is not in (or none), `not_a_member`
    /// for a public room not joined, `blocked` in a direct conversation where
    /// either user blocked the other (see [`block_user`](Self::block_user)).
    /// It applies no rate limit itself: socket handlers call
    /// [`check_event_rate`](ChatHandle::check_event_rate) first, REST hosts
    /// apply their own.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::SendMessage;
    ///
    /// let outcome = chat.send_message(me, SendMessage::text(general, "  hello  "), None).await?;
    /// assert_eq!(outcome.message.content, "hello"); // stored trimmed
    /// let status = if outcome.created { 201 } else { 200 };
    /// # let _ = status; Ok(()) }
    /// ```
    pub async fn send_message(
        &self,
        sender: UserId,
        request: SendMessage,
        origin: Option<Sid>,
    ) -> ChatResult<SendOutcome> {
        // Held until the send ends, also when its future is dropped midway.
        let _in_flight = self.inner.sends_in_flight.token();
        let reply_to = request.reply_to;
        let mut request = request.validated(self.config().max_message_chars)?;
        // Membership and blocks both come from memory: no query per message.
        self.require_writer(request.conversation_id, sender).await?;
        if let Some(parent) = reply_to {
            request.reply_to = Some(self.reply_preview(request.conversation_id, parent).await?);
        }
        request.mentions = self
            .mentioned_members(request.conversation_id, sender, &request.content)
            .await?;
        // Posting an upload is what lets a conversation's members read it, so only
        // its uploader may; otherwise a leaked URL could be posted and read by anyone.
        if let Some(url) = &request.file_url {
            let Some(attachment) =
                store::uploads::uploaded_attachment(self.db(), url, sender).await?
            else {
                return Err(ChatError::field("file_url", "must be a file you uploaded"));
            };
            let expected = attachment.kind.message_type();
            if expected != request.message_type {
                return Err(ChatError::field(
                    "message_type",
                    format!("must be {} for this upload", expected.as_str()),
                ));
            }
            request.attachment = Some(attachment);
        }
        let message = match self.store_message(sender, request).await? {
            Stored::Created(message) => message,
            Stored::Existing(message) => {
                let mut answer = [message];
                self.with_my_reactions(sender, &mut answer).await?;
                let [message] = answer;
                return Ok(SendOutcome {
                    message,
                    created: false,
                });
            }
        };
        let fanout = std::time::Instant::now();
        self.broadcast(
            Target::room(conversation_room(message.conversation_id)).except_socket(origin),
            events::MESSAGE_NEW,
            &message,
        )
        .await;
        metrics::histogram!("chat_fanout_seconds").record(fanout.elapsed().as_secs_f64());
        metrics::counter!("chat_messages_sent_total").increment(1);
        // Sending ends the sender's typing indicator.
        self.stop_typing(
            sender,
            &message.sender.username,
            message.conversation_id,
            origin,
        )
        .await;
        Ok(SendOutcome {
            // Nobody has reacted to a new message.
            message: Message {
                my_reactions: Some(Vec::new()),
                ..message
            },
            created: true,
        })
    }

    /// The members of the conversation `content` names as `@username`, the
    /// sender left out; no query unless the content has an `@`.
    async fn mentioned_members(
        &self,
        conversation_id: ConversationId,
        sender: UserId,
        content: &str,
    ) -> ChatResult<Vec<UserId>> {
        let names = mentioned_names(content);
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        let found = store::users::ids_by_username_keys(self.db(), &names).await?;
        let mut mentioned: Vec<UserId> = found
            .into_iter()
            .filter(|&id| id != sender && members.ids.contains(&id))
            .collect();
        mentioned.sort_unstable();
        Ok(mentioned)
    }

    /// The quote of the message a reply in `conversation_id` answers.
    async fn reply_preview(
        &self,
        conversation_id: ConversationId,
        parent: MessageId,
    ) -> ChatResult<ReplyPreview> {
        let parent = store::message_changes::by_id(self.db(), parent)
            .await?
            .filter(|p| p.conversation_id == conversation_id)
            .ok_or(ChatError::Unprocessable(
                "reply_to must be a message of this conversation",
            ))?;
        if parent.deleted_at.is_some() {
            return Err(ChatError::Unprocessable(
                "cannot reply to a deleted message",
            ));
        }
        Ok(ReplyPreview {
            id: parent.id,
            seq: parent.seq,
            sender_id: parent.sender_id,
            username: parent.sender.username,
            display_name: parent.sender.display_name,
            content: parent.content.chars().take(200).collect(),
            message_type: parent.message_type,
            deleted: false,
        })
    }

    /// Stores a validated message with the next `seq` of its conversation
    /// (group-committed with concurrent sends); returns once it is committed.
    pub(crate) async fn store_message(
        &self,
        sender: UserId,
        message: ValidMessage,
    ) -> ChatResult<Stored> {
        let notify = self
            .to_notify(message.conversation_id, message.message_type, sender)
            .await?;
        let request = StoreRequest {
            sender,
            message,
            notify,
        };
        self.inner.writers.store(self.db(), request).await
    }
}

/// The most names one message may mention (more are ignored).
const MAX_MENTIONS: usize = 50;

/// The lower-cased usernames written as `@name` in `content`: an `@` at the
/// start or after a character that cannot be part of a username, then 3 to
/// 32 username characters. Unique, at most [`MAX_MENTIONS`].
fn mentioned_names(content: &str) -> Vec<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut names: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in content.char_indices() {
        if c == '@' && !previous.is_some_and(is_name_char) {
            let rest = &content[at + 1..];
            let end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            // A sentence may end right after a name: "thanks @bob."
            let name = rest[..end].trim_end_matches('.');
            if (3..=32).contains(&name.len()) {
                let key = name.to_lowercase();
                if !names.contains(&key) {
                    names.push(key);
                }
                if names.len() == MAX_MENTIONS {
                    break;
                }
            }
        }
        previous = Some(c);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::mentioned_names;

    #[test]
    fn mentions_are_names_after_an_at_sign_that_starts_a_word() {
        assert_eq!(
            mentioned_names("hi @Bob, cc @carol.w and @BOB; mail a@b.io or @x. Thanks @dave."),
            ["bob", "carol.w", "dave"]
        );
        assert!(mentioned_names("no mentions here").is_empty());
        let many: String = (0..80).map(|n| format!("@user{n:03} ")).collect();
        assert_eq!(mentioned_names(&many).len(), 50);
    }
}
