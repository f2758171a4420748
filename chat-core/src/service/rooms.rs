//! Group membership: public rooms, joining, leaving, adding members.
use std::collections::HashSet;

use sea_orm::TransactionTrait;
use serde::Serialize;

use super::writer::{Stored, ValidMessage};
use crate::ChatHandle;
use crate::entity::conversation;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, conversation_room, user_room};
use crate::ids::{ConversationId, UserId};
use crate::model::{Conversation, ConversationKind, MessageType, RoomSummary, User};
use crate::protocol as events;
use crate::service::PageLimit;
use crate::service::audience::hide_among;
use crate::store::{self, is_unique_violation};

/// `conversation:member_joined` / `conversation:member_left`.
///
/// ```
/// use chat_core::model::User;
/// use chat_core::service::MemberEvent;
///
/// let id = serde_json::from_str("9")?;
/// let user = User { id, username: "carol".into(), display_name: None, bio: None, avatar_url: None, status: "online".into(), last_seen: None };
/// let json = serde_json::to_value(MemberEvent { conversation_id: serde_json::from_str("42")?, user })?;
/// assert_eq!(json["user"]["id"], 9);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize)]
pub struct MemberEvent {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Who joined or left.
    pub user: User,
}

impl ChatHandle {
    async fn group_row(&self, conversation_id: ConversationId) -> ChatResult<conversation::Model> {
        store::conversations::by_id(self.db(), conversation_id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))
    }

    /// Joins a public room. Joining a room one is already in returns it
    /// unchanged; a private group or direct conversation is `not_found` (404),
    /// the same answer as an id that does not exist.
    ///
    /// A new member's sockets are subscribed and get `conversation:new`; the
    /// room gets a `system` message and `conversation:member_joined`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// let room = chat.join_room(me, general).await?;
    /// println!("joined {}", room.name.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn join_room(
        &self,
        user_id: UserId,
        conversation_id: ConversationId,
    ) -> ChatResult<Conversation> {
        let conv = self.group_row(conversation_id).await?;
        if self.is_member(conversation_id, user_id).await? {
            return self.conversation(user_id, conversation_id).await;
        }
        if conv.kind != ConversationKind::Group.as_str() || !conv.is_public {
            // Private groups are invisible to outsiders: same answer as an id that does not exist.
            return Err(ChatError::NotFound("conversation"));
        }
        self.add_to_group(user_id, conversation_id, "joined")
            .await?;
        self.conversation(user_id, conversation_id).await
    }

    /// Adds `user_id` to a group the caller is a member of; `already_member`
    /// (409) when already a member, `unprocessable` for a direct conversation.
    /// Returns the group as the caller sees it; events as for
    /// [`join_room`](ChatHandle::join_room).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, carol: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// match chat.add_member(me, general, carol).await {
    ///     Ok(group) => println!("{} members now", group.member_count),
    ///     Err(err) if err.code() == "already_member" => {}
    ///     Err(err) => return Err(err),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn add_member(
        &self,
        caller: UserId,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<Conversation> {
        let conv = self.group_row(conversation_id).await?;
        self.require_member(conversation_id, caller).await?;
        if conv.kind != ConversationKind::Group.as_str() {
            return Err(ChatError::Unprocessable(
                "members cannot be added to a direct conversation",
            ));
        }
        self.user_row(user_id).await?;
        if self.is_member(conversation_id, user_id).await? {
            return Err(already_member());
        }
        self.add_to_group(user_id, conversation_id, "was added")
            .await?;
        self.conversation(caller, conversation_id).await
    }

    /// Inserts the membership, writes the system notice, subscribes the user's
    /// sockets and tells everyone.
    async fn add_to_group(
        &self,
        user_id: UserId,
        conversation_id: ConversationId,
        verb: &str,
    ) -> ChatResult<()> {
        let txn = self.db().begin().await?;
        match store::members::insert(&txn, conversation_id, &[user_id]).await {
            Ok(()) => {}
            Err(err) if is_unique_violation(&err) => return Err(already_member()),
            Err(err) => return Err(err.into()),
        }
        txn.commit().await?;
        self.after_members_added(conversation_id, &[user_id]).await;
        let user = self.user(user_id).await?;
        self.system_message(conversation_id, &user, verb).await?;
        let view = self.conversation(user_id, conversation_id).await?;
        self.broadcast(
            Target::room(user_room(user_id)),
            events::CONVERSATION_NEW,
            &view,
        )
        .await;
        self.announce_member(
            Target::room(conversation_room(conversation_id)),
            events::CONVERSATION_MEMBER_JOINED,
            MemberEvent {
                conversation_id,
                user,
            },
        )
        .await
    }

    /// Leaves a group or room: `unprocessable` for a direct conversation.
    ///
    /// The group gets a `system` message and `conversation:member_left` (the
    /// leaver's sockets too, which are then unsubscribed).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// chat.leave_conversation(me, general).await?;
    /// assert!(!chat.is_member(general, me).await?);
    /// # Ok(()) }
    /// ```
    pub async fn leave_conversation(
        &self,
        user_id: UserId,
        conversation_id: ConversationId,
    ) -> ChatResult<()> {
        let conv = self.group_row(conversation_id).await?;
        self.require_member(conversation_id, user_id).await?;
        if conv.kind != ConversationKind::Group.as_str() {
            return Err(ChatError::Unprocessable(
                "a direct conversation cannot be left",
            ));
        }
        store::members::delete(self.db(), conversation_id, user_id).await?;
        self.membership_changed(conversation_id).await;
        let user = self.user(user_id).await?;
        self.system_message(conversation_id, &user, "left").await?;
        // Tell the whole conversation, the leaver's sockets included, then unsubscribe them.
        self.announce_member(
            Target::rooms(vec![conversation_room(conversation_id), user_room(user_id)]),
            events::CONVERSATION_MEMBER_LEFT,
            MemberEvent {
                conversation_id,
                user,
            },
        )
        .await?;
        self.leave_user(user_id, conversation_room(conversation_id))
            .await;
        Ok(())
    }

    /// Sends a member event to `target`; members the user blocked see
    /// their presence hidden in it.
    async fn announce_member(
        &self,
        target: Target,
        event: &'static str,
        payload: MemberEvent,
    ) -> ChatResult<()> {
        let members = self
            .inner
            .membership
            .members(self.db(), payload.conversation_id)
            .await?;
        let hidden = |blockers: &HashSet<UserId>| {
            let mut hidden = payload.clone();
            hide_among(std::slice::from_mut(&mut hidden.user), blockers);
            hidden
        };
        self.broadcast_showing_presence(
            target,
            &members.ids,
            &[payload.user.id],
            event,
            &payload,
            hidden,
        )
        .await
    }

    async fn system_message(
        &self,
        conversation_id: ConversationId,
        user: &User,
        verb: &str,
    ) -> ChatResult<()> {
        let notice = ValidMessage {
            conversation_id,
            content: format!("{} {verb}", user.username),
            message_type: MessageType::System,
            file_url: None,
            attachment: None,
            call: None,
            client_id: None,
            reply_to: None,
            mentions: Vec::new(),
        };
        let (Stored::Created(message) | Stored::Existing(message)) =
            self.store_message(user.id, notice).await?;
        self.broadcast(
            Target::room(conversation_room(conversation_id)),
            events::MESSAGE_NEW,
            &message,
        )
        .await;
        Ok(())
    }

    /// Public rooms, most recently active first, with member counts and whether
    /// the caller is in each; `limit` ([`PageLimit::ROOMS`]) and `offset`
    /// page through them.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let mut offset = 0;
    /// loop {
    ///     let page = chat.public_rooms(me, Some(100), offset).await?;
    ///     offset += page.len() as u64;
    ///     if page.len() < 100 {
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn public_rooms(
        &self,
        caller: UserId,
        limit: Option<u64>,
        offset: u64,
    ) -> ChatResult<Vec<RoomSummary>> {
        let limit = PageLimit::ROOMS.resolve(limit)?;
        let mut rooms =
            store::conversations::public_rooms(self.db(), caller, limit, offset).await?;
        for room in &mut rooms {
            room.conversation.online_count = self.online_count(room.conversation.id).await?;
        }
        Ok(rooms)
    }
}

fn already_member() -> ChatError {
    ChatError::Conflict {
        code: "already_member",
        message: "the user is already a member",
    }
}
