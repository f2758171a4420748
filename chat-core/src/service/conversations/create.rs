//! Creating conversations: the one direct conversation of a pair, and groups
//! (public rooms among them) with their first members.
use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::Deserialize;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult, Invalid};
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::Conversation;
use crate::protocol as events;
use crate::service::audience::hide_among;
use crate::service::block_cache::Block;
use crate::store::conversations::NewConversation;
use crate::store::{self, is_unique_violation, now};

/// A group (or public room) to create, e.g. from a REST body; see
/// [`ChatHandle::create_group`].
///
/// ```
/// use chat_core::service::CreateGroup;
/// let room: CreateGroup = serde_json::from_str(r#"{"name": "Rust help", "is_public": true}"#).unwrap();
/// assert!(room.member_ids.is_empty()); // only the creator, to start with
/// ```
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateGroup {
    /// 1 to 100 characters after trimming.
    pub name: String,
    /// Initial members besides the creator.
    #[serde(default)]
    pub member_ids: Vec<UserId>,
    /// Listed in the public rooms and joinable by anyone.
    #[serde(default)]
    pub is_public: bool,
}

impl ChatHandle {
    /// Returns the direct conversation between `caller` and `other`, creating it
    /// when needed. The flag is `true` when it was created (both users' sockets
    /// then get `conversation:new`). There is at most one direct conversation
    /// per pair, even under concurrent calls.
    ///
    /// Fails with `validation_failed` for `other == caller`, `not_found` for an
    /// unknown user, `blocked` when `other` blocked the caller, or when the
    /// caller blocked `other` and they have no direct conversation yet (the
    /// blocker may still open the one they have, to read it).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, bob: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let (conversation, created) = chat.get_or_create_direct(me, bob).await?;
    /// let status = if created { 201 } else { 200 };
    /// # let _ = (conversation, status); Ok(()) }
    /// ```
    pub async fn get_or_create_direct(
        &self,
        caller: UserId,
        other: UserId,
    ) -> ChatResult<(Conversation, bool)> {
        if other == caller {
            return Err(ChatError::field(
                "user_id",
                "a direct conversation needs another user",
            ));
        }
        self.user_row(other).await?;
        let block = self.blocks_of(caller).await?.with(other);
        if let Some(block @ Block::Theirs) = block {
            return Err(block.refusal());
        }
        let key = format!("{}:{}", caller.min(other), caller.max(other));
        if let Some(existing) = store::conversations::direct_by_key(self.db(), &key).await? {
            return Ok((self.conversation(caller, existing.typed_id()).await?, false));
        }
        if let Some(block) = block {
            return Err(block.refusal());
        }
        let txn = self.db().begin().await?;
        let new = NewConversation::Direct { key: key.clone() };
        let conv = match store::conversations::insert(&txn, caller, new, now()).await {
            Ok(conv) => conv,
            Err(err) if is_unique_violation(&err) => {
                // A concurrent call created it first.
                txn.rollback().await?;
                let existing = store::conversations::direct_by_key(self.db(), &key)
                    .await?
                    .ok_or(ChatError::NotFound("conversation"))?;
                return Ok((self.conversation(caller, existing.typed_id()).await?, false));
            }
            Err(err) => return Err(err.into()),
        };
        store::members::insert(&txn, conv.typed_id(), &[caller, other]).await?;
        txn.commit().await?;
        self.after_members_added(conv.typed_id(), &[caller, other])
            .await;
        let view = self.conversation(caller, conv.typed_id()).await?;
        self.broadcast(
            Target::rooms(vec![user_room(caller), user_room(other)]),
            events::CONVERSATION_NEW,
            &view,
        )
        .await;
        Ok((view, true))
    }

    /// Creates a group (or a public room when `is_public`) with the caller and
    /// `member_ids` as members; every member's sockets get `conversation:new`.
    ///
    /// The name is trimmed and must be 1 to 100 characters without control
    /// characters; every member id must exist (`validation_failed` otherwise).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::CreateGroup;
    ///
    /// let room = CreateGroup { name: "Rust help".into(), member_ids: vec![], is_public: true };
    /// let room = chat.create_group(me, room).await?;
    /// assert_eq!(room.member_count, 1);
    /// # Ok(()) }
    /// ```
    pub async fn create_group(
        &self,
        caller: UserId,
        group: CreateGroup,
    ) -> ChatResult<Conversation> {
        let name = group.name.trim().to_owned();
        let name_len = name.chars().count();
        let max_members = self.config().max_group_members_per_request;
        let mut invalid = Invalid::new();
        invalid
            .check(
                (1..=100).contains(&name_len),
                "name",
                "must be 1 to 100 characters",
            )
            .check(
                !name.chars().any(char::is_control),
                "name",
                "may not contain control characters",
            )
            .check(
                group.member_ids.len() <= max_members,
                "member_ids",
                format!("at most {max_members} members at creation; add more afterwards"),
            );
        invalid.finish()?;
        let mut members: BTreeSet<UserId> = group.member_ids.iter().copied().collect();
        members.insert(caller);
        let members: Vec<UserId> = members.into_iter().collect();
        let existing = store::users::existing_ids(self.db(), &members).await?;
        if existing.len() != members.len() {
            return Err(ChatError::field("member_ids", "unknown user id"));
        }
        let created_at = now();
        self.check_group_budget(caller, created_at).await?;
        let txn = self.db().begin().await?;
        let new = NewConversation::Group {
            name,
            is_public: group.is_public,
        };
        let conv = store::conversations::insert(&txn, caller, new, created_at).await?;
        store::members::insert(&txn, conv.typed_id(), &members).await?;
        txn.commit().await?;
        self.after_members_added(conv.typed_id(), &members).await;
        let shared = self
            .shared_views(caller, &[conv.typed_id()])
            .await?
            .pop()
            .ok_or(ChatError::NotFound("conversation"))?;
        let rooms = members.iter().map(|&id| user_room(id)).collect();
        let audience: HashSet<UserId> = members.iter().copied().collect();
        let shown: Vec<UserId> = shared.members.iter().map(|m| m.id).collect();
        let hidden = |blockers: &HashSet<UserId>| {
            let mut view = shared.clone();
            hide_among(&mut view.members, blockers);
            view
        };
        self.broadcast_showing_presence(
            Target::rooms(rooms),
            &audience,
            &shown,
            events::CONVERSATION_NEW,
            &shared,
            hidden,
        )
        .await?;
        let blockers = &self.blocks_of(caller).await?.blocked_by;
        Ok(hidden(blockers))
    }

    /// `rate_limited` once the caller created `groups_per_hour` groups in the
    /// last hour. Concurrent requests may each pass the count before any of
    /// them commits, so a burst can overshoot by the requests in flight.
    async fn check_group_budget(&self, caller: UserId, at: DateTime<Utc>) -> ChatResult<()> {
        let per_hour = self.config().groups_per_hour;
        if per_hour == 0 {
            return Ok(());
        }
        let since = at - chrono::Duration::hours(1);
        let created = store::conversations::groups_created_since(self.db(), caller, since).await?;
        if created >= i64::from(per_hour) {
            return Err(ChatError::RateLimited);
        }
        Ok(())
    }
}
