//! Blocking: a user blocks another ([`block_user`](ChatHandle::block_user)),
//! unblocks them, and lists whom they blocked; and the rule it brings. While
//! either user of a pair blocks the other, neither opens a direct
//! conversation with the other nor writes in theirs (sends, edits,
//! reactions; typing is not relayed), and the blocked user sees nothing of
//! the blocker's presence (see [`audience`](super::audience)). Groups are
//! not affected: hiding a blocked user's messages there is the blocker's
//! client's business.
//!
//! Blocks are read from a per-user cache
//! ([`BlockCache`](super::block_cache::BlockCache)), which every change
//! clears for both users on every instance, so checks on sends cost no
//! query.
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::block_cache::{Block, Blocks, change_message};
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::User;
use crate::protocol as events;
use crate::store::{self, now};

/// `user:blocked` / `user:unblocked`: whom the receiving user blocked or
/// unblocked (sent to the blocker's own sockets only).
///
/// ```
/// use chat_core::service::BlockEvent;
///
/// let event = BlockEvent { user_id: chat_core::ids::UserId::try_from(13)? };
/// assert_eq!(serde_json::to_value(&event)?, serde_json::json!({"user_id": 13}));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockEvent {
    /// The user blocked or unblocked.
    pub user_id: UserId,
}

impl Block {
    /// What a user is told when this block refuses them something.
    pub(crate) fn refusal(self) -> ChatError {
        match self {
            Block::Mine => {
                ChatError::Blocked("you blocked this user: unblock them to write to them")
            }
            Block::Theirs => ChatError::Blocked("this user has blocked you"),
        }
    }
}

impl ChatHandle {
    /// `blocker` blocks `blocked`. From then on, on every instance: the
    /// blocked user cannot open a direct conversation with the blocker nor
    /// send, edit or react in theirs (`blocked`, 403), and neither can the
    /// blocker until they unblock; typing there is not relayed; the blocked
    /// user hears no `user:online` / `user:offline` of the blocker and sees
    /// them `offline` with no `last_seen` everywhere. Groups they share are
    /// not affected. The blocker's sockets get `user:blocked`.
    ///
    /// Blocking again changes nothing (and sends nothing). Fails with
    /// `validation_failed` for oneself, `not_found` for an unknown user, and
    /// `unprocessable` once `blocker` blocked
    /// [`max_blocks_per_user`](crate::ChatConfig::max_blocks_per_user) users.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     spammer: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// chat.block_user(me, spammer).await?;
    /// assert!(chat.blocked_users(me).await?.iter().any(|u| u.id == spammer));
    /// # Ok(()) }
    /// ```
    pub async fn block_user(&self, blocker: UserId, blocked: UserId) -> ChatResult<()> {
        self.block_target(blocker, blocked).await?;
        let limit = self.config().max_blocks_per_user;
        if !store::blocks::insert_within(self.db(), blocker, blocked, now(), limit).await? {
            if store::blocks::exists(self.db(), blocker, blocked).await? {
                return Ok(());
            }
            return Err(ChatError::Unprocessable(
                "you blocked as many users as you may: unblock some first",
            ));
        }
        tracing::info!(%blocker, %blocked, "user blocked");
        self.blocks_changed(blocker, blocked, events::USER_BLOCKED)
            .await;
        Ok(())
    }

    /// `blocker` unblocks `blocked`: everything [`block_user`](Self::block_user)
    /// stopped works again at once. Unblocking a user who is not blocked
    /// changes nothing; the blocker's sockets get `user:unblocked` otherwise.
    /// `validation_failed` for oneself, `not_found` for an unknown user.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     bob: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// chat.unblock_user(me, bob).await?;
    /// chat.unblock_user(me, bob).await?; // again: nothing to do
    /// # Ok(()) }
    /// ```
    pub async fn unblock_user(&self, blocker: UserId, blocked: UserId) -> ChatResult<()> {
        self.block_target(blocker, blocked).await?;
        if store::blocks::delete(self.db(), blocker, blocked).await? {
            tracing::info!(%blocker, %blocked, "user unblocked");
            self.blocks_changed(blocker, blocked, events::USER_UNBLOCKED)
                .await;
        }
        Ok(())
    }

    /// The users `blocker` blocked, the latest first (at most
    /// [`max_blocks_per_user`](crate::ChatConfig::max_blocks_per_user)), with
    /// their presence as the blocker may see it (see
    /// [`user_seen_by`](Self::user_seen_by)).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId)
    /// #     -> Result<(), chat_core::ChatError> {
    /// for user in chat.blocked_users(me).await? {
    ///     println!("blocked: {}", user.username);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn blocked_users(&self, blocker: UserId) -> ChatResult<Vec<User>> {
        let mut users = store::blocks::blocked_users(self.db(), blocker).await?;
        self.hide_presence(blocker, &mut users).await?;
        Ok(users)
    }

    /// The blocks on either side of `user_id`, from memory after the first
    /// look.
    pub(crate) async fn blocks_of(&self, user_id: UserId) -> ChatResult<Arc<Blocks>> {
        Ok(self.inner.blocks.of(self.db(), user_id).await?)
    }

    /// Refuses blocking oneself and unknown users.
    async fn block_target(&self, blocker: UserId, blocked: UserId) -> ChatResult<()> {
        if blocker == blocked {
            return Err(ChatError::field("user_id", "you cannot block yourself"));
        }
        self.user_row(blocked).await?;
        Ok(())
    }

    /// After a block was added or removed: drops both users' cached blocks
    /// here and, when clustered, on every instance; tells the blocker's
    /// sockets.
    async fn blocks_changed(&self, blocker: UserId, blocked: UserId, event: &'static str) {
        self.inner.blocks.invalidate(blocker, blocked);
        if let Some(cluster) = &self.inner.cluster {
            cluster
                .publish_block_change(change_message(blocker, blocked))
                .await;
        }
        self.broadcast(
            Target::room(user_room(blocker)),
            event,
            &BlockEvent { user_id: blocked },
        )
        .await;
    }
}
