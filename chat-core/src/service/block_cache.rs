//! In-memory blocks per user (whom they blocked, who blocked them), so the
//! checks on sends in direct conversations and on presence cost no query.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr};

use super::bounded_cache::{BoundedCache, Weigh};
use crate::ids::UserId;
use crate::store;

/// The blocks on either side of one user.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    /// Users this one blocked.
    pub(crate) blocked: HashSet<UserId>,
    /// Users who blocked this one.
    pub(crate) blocked_by: HashSet<UserId>,
}

/// Which way a block between two users goes, seen from one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    /// They blocked the other user.
    Mine,
    /// The other user blocked them.
    Theirs,
}

impl Blocks {
    /// The block between this user and `other`, if any (theirs wins: a user
    /// blocked by the other gets the answer that says so even when they
    /// blocked back).
    pub(crate) fn with(&self, other: UserId) -> Option<Block> {
        if self.blocked_by.contains(&other) {
            Some(Block::Theirs)
        } else if self.blocked.contains(&other) {
            Some(Block::Mine)
        } else {
            None
        }
    }
}

impl Weigh for Blocks {
    fn weight(&self) -> usize {
        self.blocked.len() + self.blocked_by.len()
    }
}

/// User id -> their [`Blocks`], loaded on first use. A block changes the
/// entries of both its users; see [`BoundedCache`] for how a change and a
/// load racing are kept apart.
pub(crate) struct BlockCache {
    users: BoundedCache<UserId, Blocks>,
}

impl BlockCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        BlockCache {
            users: BoundedCache::new(capacity, ttl),
        }
    }

    pub(crate) async fn of(
        &self,
        db: &DatabaseConnection,
        user_id: UserId,
    ) -> Result<Arc<Blocks>, DbErr> {
        if let Some(blocks) = self.users.fresh(&user_id) {
            return Ok(blocks);
        }
        let generation = self.users.generation();
        let loaded = Instant::now();
        let (blocked, blocked_by) = store::blocks::involving(db, user_id).await?;
        let blocks = Arc::new(Blocks {
            blocked: blocked.into_iter().collect(),
            blocked_by: blocked_by.into_iter().collect(),
        });
        self.users
            .store(user_id, blocks.clone(), loaded, generation);
        Ok(blocks)
    }

    /// Forgets both users' entries after a block between them changed.
    pub(crate) fn invalidate(&self, blocker: UserId, blocked: UserId) {
        self.users.invalidate(&blocker);
        self.users.invalidate(&blocked);
    }

    /// Applies a change announced by another instance ([`change_message`]).
    pub(crate) fn apply(&self, message: &str) {
        let pair = message
            .split_once(':')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        match pair {
            Some((blocker, blocked)) => self.invalidate(blocker, blocked),
            // Not ours to read: forget everything rather than miss a change.
            None => self.clear(),
        }
    }

    /// Forgets everything (after missed invalidations).
    pub(crate) fn clear(&self) {
        self.users.clear();
    }

    /// How many changes the cache has seen (tests wait for a notice with it).
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.users.generation()
    }
}

/// Message announcing a changed block to the other instances.
pub(crate) fn change_message(blocker: UserId, blocked: UserId) -> String {
    format!("{blocker}:{blocked}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Block, BlockCache, Blocks, change_message};
    use crate::ids::literal::u;

    #[test]
    fn the_block_of_the_other_user_wins() {
        let blocks = Blocks {
            blocked: [u(2), u(3)].into(),
            blocked_by: [u(3), u(4)].into(),
        };
        assert_eq!(blocks.with(u(2)), Some(Block::Mine));
        assert_eq!(blocks.with(u(3)), Some(Block::Theirs));
        assert_eq!(blocks.with(u(4)), Some(Block::Theirs));
        assert_eq!(blocks.with(u(5)), None);
    }

    #[test]
    fn a_change_message_names_both_users() {
        let cache = BlockCache::new(100, Duration::from_secs(60));
        assert_eq!(change_message(u(7), u(13)), "7:13");
        let before = cache.generation();
        cache.apply("7:13");
        assert_eq!(cache.generation(), before + 2, "both entries dropped");
        cache.apply("nonsense");
        assert!(cache.generation() > before + 2, "cleared");
    }
}
