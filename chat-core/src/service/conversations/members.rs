//! Who is in a conversation: the membership checks every operation starts
//! with (served from the membership cache), what outsiders are told, member
//! lists, and what follows a membership change.
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::conversation_room;
use crate::ids::{ConversationId, UserId};
use crate::model::User;
use crate::service::PageLimit;
use crate::service::block_cache::Block;
use crate::store;

impl ChatHandle {
    /// Whether `user_id` is a member of `conversation_id` (served from memory
    /// after the first check; the cache follows every change made through the
    /// handle, on every instance).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::ChatError;
    /// if !chat.is_member(general, me).await? {
    ///     return Err(ChatError::NotAMember);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn is_member(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<bool> {
        Ok(self
            .inner
            .membership
            .is_member(self.db(), conversation_id, user_id)
            .await?)
    }

    /// `Ok` for a member; for anyone else what an outsider is told (see
    /// [`outsider`](Self::outsider)).
    pub(crate) async fn require_member(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<()> {
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        if members.ids.contains(&user_id) {
            Ok(())
        } else {
            Err(outsider_error(members.public))
        }
    }

    /// For a member, the block between them and the other member of a
    /// direct conversation, if any (always `None` in a group); for anyone
    /// else, what an outsider is told. From memory: membership and blocks
    /// are both cached.
    pub(crate) async fn member_block(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<Option<Block>> {
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        if !members.ids.contains(&user_id) {
            return Err(outsider_error(members.public));
        }
        match members
            .direct
            .then(|| members.other_than(user_id))
            .flatten()
        {
            Some(other) => Ok(self.blocks_of(user_id).await?.with(other)),
            None => Ok(None),
        }
    }

    /// `Ok` for a member who may write in the conversation: as
    /// [`require_member`](Self::require_member), and `blocked` in a direct
    /// conversation where either member blocked the other.
    pub(crate) async fn require_writer(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<()> {
        match self.member_block(conversation_id, user_id).await? {
            Some(block) => Err(block.refusal()),
            None => Ok(()),
        }
    }

    /// What a non-member learns about a conversation: `not_a_member` for a
    /// public room (listed anyway), `not_found` for anything else, the same
    /// answer as for an id that does not exist.
    pub(crate) async fn outsider(&self, conversation_id: ConversationId) -> ChatResult<ChatError> {
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        Ok(outsider_error(members.public))
    }

    /// After a membership change is committed: refresh the cache and subscribe
    /// the new members' live sockets to the conversation.
    pub(crate) async fn after_members_added(
        &self,
        conversation_id: ConversationId,
        user_ids: &[UserId],
    ) {
        self.membership_changed(conversation_id).await;
        self.join_users(user_ids, conversation_room(conversation_id))
            .await;
    }

    /// Drops the cached member set here and, when clustered, on every instance.
    pub(crate) async fn membership_changed(&self, conversation_id: ConversationId) {
        self.inner.membership.invalidate(conversation_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_membership_change(conversation_id).await;
        }
    }

    /// Whether `user_id` is a member of `conversation_id` according to the
    /// database itself, for the rare check that must not trust the cache (it
    /// may lag behind a change made on another instance). A cached set that
    /// disagrees is dropped.
    pub(crate) async fn is_member_now(
        &self,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> ChatResult<bool> {
        let member = store::members::is_member(self.db(), conversation_id, user_id).await?;
        self.inner
            .membership
            .correct(conversation_id, user_id, member);
        Ok(member)
    }

    /// Members of a conversation in id order, `limit` after user id `after`
    /// (keyset paging; [`PageLimit::MEMBERS`]). Members only (`not_found`, or
    /// `not_a_member` for a public room). Those who blocked the caller show
    /// no presence.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// let mut after = None;
    /// loop {
    ///     let page = chat.list_members(me, general, after, Some(100)).await?;
    ///     let Some(last) = page.last() else { break };
    ///     after = Some(last.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_members(
        &self,
        caller: UserId,
        conversation_id: ConversationId,
        after: Option<UserId>,
        limit: Option<u64>,
    ) -> ChatResult<Vec<User>> {
        let limit = PageLimit::MEMBERS.resolve(limit)?;
        self.require_member(conversation_id, caller).await?;
        let mut members = store::members::page(
            self.db(),
            conversation_id,
            after.map_or(0, UserId::get),
            limit,
        )
        .await?;
        self.hide_blockers(caller, &mut members).await?;
        Ok(members)
    }
}

fn outsider_error(public: bool) -> ChatError {
    if public {
        ChatError::NotAMember
    } else {
        ChatError::NotFound("conversation")
    }
}
