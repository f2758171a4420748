//! Reactions: one emoji per user per message, counted on the message. Adding
//! or removing one takes the conversation's next revision; adding one that is
//! there already changes nothing.
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, conversation_room};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Message, ReactionCount, ReactionUsers};
use crate::protocol as events;
use crate::store::{self, now};

/// Most different emoji one message may carry.
pub const MAX_EMOJI_PER_MESSAGE: usize = 50;

/// How many users [`ChatHandle::reactors`] lists per emoji (enough for a
/// tooltip; `count` says how many more there are).
pub const REACTORS_LISTED: usize = 20;

/// A reaction to add or remove (`reaction:add`, `reaction:remove`).
///
/// ```
/// use chat_core::service::ReactionRequest;
///
/// let request: ReactionRequest = serde_json::from_str(r#"{"message_id": 1001, "emoji": "🎉"}"#)?;
/// assert_eq!(request.emoji, "🎉");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize)]
pub struct ReactionRequest {
    /// The message reacted to.
    pub message_id: MessageId,
    /// One emoji: a single emoji sequence (skin tones and ZWJ sequences
    /// included), at most 32 bytes.
    pub emoji: String,
}

/// The answer to a reaction change: the message's reactions now, and the
/// caller's own.
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionOutcome {
    /// The message.
    pub message_id: MessageId,
    /// The message's revision with these reactions (a client applies what
    /// it hears about the message in revision order).
    pub rev: i64,
    /// `{emoji, count}` in order of first use.
    pub reactions: Vec<ReactionCount>,
    /// The emoji the caller reacted with.
    pub my_reactions: Vec<String>,
}

/// Whether a reaction was added or removed (`message:reaction`).
#[derive(ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionAction {
    /// Added.
    Add,
    /// Removed.
    Remove,
}

/// The payload of `message:reaction`: who changed which reaction, and its
/// new count.
///
/// ```
/// use chat_core::service::{ReactionAction, ReactionEvent};
///
/// let heard: ReactionEvent = serde_json::from_str(
///     r#"{"conversation_id": 42, "message_id": 1001, "rev": 30, "user_id": 7,
///         "emoji": "👍", "action": "add", "count": 2}"#,
/// )?;
/// assert_eq!(heard.action, ReactionAction::Add);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionEvent {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The message.
    pub message_id: MessageId,
    /// The revision the change took.
    pub rev: i64,
    /// Who reacted.
    pub user_id: UserId,
    /// With what.
    pub emoji: String,
    /// Added or removed.
    pub action: ReactionAction,
    /// How many users now react with this emoji.
    pub count: i64,
}

/// Who reacted to a message (`GET /api/messages/:id/reactions`).
///
/// ```
/// use chat_core::service::MessageReactors;
///
/// let who: MessageReactors = serde_json::from_str(
///     r#"{"message_id": 1001, "reactions": [{"emoji": "👍", "count": 2, "users": [
///         {"id": 1, "username": "alice", "avatar_url": null},
///         {"id": 2, "username": "bob", "avatar_url": null}]}]}"#,
/// )?;
/// assert_eq!(who.reactions[0].users[1].username, "bob");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageReactors {
    /// The message.
    pub message_id: MessageId,
    /// Its reactions in order of first use (the order of the message's
    /// `reactions`), each with its full count and its first
    /// [`REACTORS_LISTED`] users, earliest first.
    pub reactions: Vec<ReactionUsers>,
}

impl ChatHandle {
    /// Adds the caller's reaction to a message of a conversation they are in;
    /// after the commit the conversation's other sockets (all but `origin`)
    /// get `message:reaction`. Adding a reaction the caller already has
    /// changes nothing (no revision, no event). `validation_failed` for
    /// anything but one emoji, `unprocessable` for a deleted message or a
    /// 51st different emoji, `not_found` outside the conversation.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     news: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::ReactionRequest;
    ///
    /// let request = ReactionRequest { message_id: news, emoji: "🎉".into() };
    /// let outcome = chat.add_reaction(me, request, None).await?;
    /// assert!(outcome.my_reactions.contains(&"🎉".to_owned()));
    /// # Ok(()) }
    /// ```
    pub async fn add_reaction(
        &self,
        caller: UserId,
        request: ReactionRequest,
        origin: Option<Sid>,
    ) -> ChatResult<ReactionOutcome> {
        self.change_reaction(caller, request, ReactionAction::Add, origin)
            .await
    }

    /// Removes the caller's reaction; like [`add_reaction`](Self::add_reaction),
    /// and removing one the caller does not have changes nothing.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     news: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::ReactionRequest;
    ///
    /// let request = ReactionRequest { message_id: news, emoji: "🎉".into() };
    /// chat.remove_reaction(me, request, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_reaction(
        &self,
        caller: UserId,
        request: ReactionRequest,
        origin: Option<Sid>,
    ) -> ChatResult<ReactionOutcome> {
        self.change_reaction(caller, request, ReactionAction::Remove, origin)
            .await
    }

    /// Who reacted to a message: its reactions in order of first use, each
    /// with how many reacted and the first [`REACTORS_LISTED`] of them in the
    /// order they reacted (one query). Readable as the message is: members
    /// of its conversation only (`not_found` for anyone else, as for a
    /// message that does not exist; `not_a_member` for a public room not
    /// joined). A deleted message has none.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     news: chat_core::ids::MessageId) -> Result<(), chat_core::ChatError> {
    /// let who = chat.reactors(me, news).await?;
    /// for reaction in &who.reactions {
    ///     let names: Vec<&str> = reaction.users.iter().map(|u| u.username.as_str()).collect();
    ///     let others = reaction.count - names.len() as i64;
    ///     println!("{}: {} and {others} others", reaction.emoji, names.join(", "));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reactors(
        &self,
        caller: UserId,
        message_id: MessageId,
    ) -> ChatResult<MessageReactors> {
        let message = self.readable_message(caller, message_id).await?;
        let reactions = if message.deleted_at.is_some() {
            Vec::new()
        } else {
            store::reactions::reactors(self.db(), message.id, REACTORS_LISTED as u64).await?
        };
        Ok(MessageReactors {
            message_id: message.id,
            reactions,
        })
    }

    async fn change_reaction(
        &self,
        caller: UserId,
        request: ReactionRequest,
        action: ReactionAction,
        origin: Option<Sid>,
    ) -> ChatResult<ReactionOutcome> {
        let emoji = one_emoji(&request.emoji)?;
        let message = self.changeable_message(caller, request.message_id).await?;
        let txn = self.db().begin().await?;
        let changed = match action {
            ReactionAction::Add => {
                store::reactions::add(&txn, message.id, caller, emoji, now()).await?
            }
            ReactionAction::Remove => {
                store::reactions::remove(&txn, message.id, caller, emoji).await?
            }
        };
        if !changed {
            txn.rollback().await?;
            return self.reaction_outcome(caller, &message).await;
        }
        // The revision first: it locks the conversation's row until the
        // commit, so the counts read next include every change committed
        // before this one, and the next change sees this one.
        let rev = store::message_changes::take_rev(&txn, message.conversation_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))?;
        let counts = store::reactions::counts(&txn, message.id).await?;
        if counts.len() > MAX_EMOJI_PER_MESSAGE {
            txn.rollback().await?;
            return Err(ChatError::Unprocessable(
                "a message carries at most 50 different reactions",
            ));
        }
        // The message was read before the transaction: one deleted since
        // (its reactions gone with it) takes none.
        if !store::reactions::store_counts(&txn, message.id, &counts, rev).await? {
            txn.rollback().await?;
            return Err(super::lifecycle::deleted());
        }
        txn.commit().await?;
        let count = counts
            .iter()
            .find(|c| c.emoji == emoji)
            .map_or(0, |c| c.count);
        let event = ReactionEvent {
            conversation_id: message.conversation_id,
            message_id: message.id,
            rev,
            user_id: caller,
            emoji: emoji.to_owned(),
            action,
            count,
        };
        self.broadcast(
            Target::room(conversation_room(message.conversation_id)).except_socket(origin),
            events::MESSAGE_REACTION,
            &event,
        )
        .await;
        let mine = store::reactions::mine(self.db(), caller, &[message.id]).await?;
        Ok(ReactionOutcome {
            message_id: message.id,
            rev,
            reactions: counts,
            my_reactions: mine.into_values().next().unwrap_or_default(),
        })
    }

    /// A message's reactions as `caller` sees them, unchanged: counts and
    /// revision read together from the message's row.
    async fn reaction_outcome(
        &self,
        caller: UserId,
        message: &Message,
    ) -> ChatResult<ReactionOutcome> {
        let current = store::message_changes::by_id(self.db(), message.id)
            .await?
            .ok_or(ChatError::NotFound("message"))?;
        // Deleted since it was read: its reactions went with it.
        if current.deleted_at.is_some() {
            return Err(super::lifecycle::deleted());
        }
        let mine = store::reactions::mine(self.db(), caller, &[message.id]).await?;
        Ok(ReactionOutcome {
            message_id: current.id,
            rev: current.rev,
            reactions: current.reactions,
            my_reactions: mine.into_values().next().unwrap_or_default(),
        })
    }

    /// Fills `my_reactions` of messages shown to `caller` (one query).
    pub(crate) async fn with_my_reactions(
        &self,
        caller: UserId,
        messages: &mut [Message],
    ) -> ChatResult<()> {
        let ids: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut mine = store::reactions::mine(self.db(), caller, &ids).await?;
        for message in messages {
            message.my_reactions = Some(mine.remove(&message.id).unwrap_or_default());
        }
        Ok(())
    }
}

/// The one emoji `text` is, in its fully qualified form (so "❤" and "❤️" are
/// one reaction); `validation_failed` for anything else.
fn one_emoji(text: &str) -> ChatResult<&'static str> {
    if text.len() > 32 {
        return Err(ChatError::field("emoji", "must be one emoji"));
    }
    emojis::get(text)
        .map(|emoji| emoji.as_str())
        .ok_or_else(|| ChatError::field("emoji", "must be one emoji"))
}

#[cfg(test)]
mod tests {
    use super::one_emoji;

    #[test]
    fn a_reaction_is_exactly_one_emoji() {
        for ok in ["👍", "🎉", "👍🏽", "👩‍👩‍👧", "🇫🇷", "❤️"] {
            assert!(one_emoji(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            one_emoji("❤").ok(),
            one_emoji("❤️").ok(),
            "one form per emoji"
        );
        for bad in [
            "",
            "a",
            "👍👍",
            ":+1:",
            "<script>",
            "1",
            "👍 ",
            &"😀".repeat(9),
        ] {
            assert!(one_emoji(bad).is_err(), "{bad:?}");
        }
    }
}
