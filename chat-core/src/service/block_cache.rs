//! In-memory blocks per user (whom they blocked, who blocked them), so the
//! checks on sends in direct conversations and on presence cost no query.
use std::collections::{HashMap, HashSet};
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
        Ok(self
            .load(db, &[user_id])
            .await?
            .remove(&user_id)
            .unwrap_or_default())
    }

    /// Makes sure the blocks of every one of `users` are cached: those
    /// missing are read together, a query per
    /// [`MAX_USERS_PER_QUERY`](store::blocks::MAX_USERS_PER_QUERY) users (a
    /// batch of presence announcements, say, rather than a query each).
    pub(crate) async fn load_missing(
        &self,
        db: &DatabaseConnection,
        users: &[UserId],
    ) -> Result<(), DbErr> {
        let missing: Vec<UserId> = users
            .iter()
            .copied()
            .filter(|user| self.users.fresh(user).is_none())
            .collect();
        for chunk in missing.chunks(store::blocks::MAX_USERS_PER_QUERY) {
            self.load(db, chunk).await?;
        }
        Ok(())
    }

    /// Reads and caches the blocks of `users` (one query).
    async fn load(
        &self,
        db: &DatabaseConnection,
        users: &[UserId],
    ) -> Result<HashMap<UserId, Arc<Blocks>>, DbErr> {
        let generation = self.users.generation();
        let loaded = Instant::now();
        let mut blocks: HashMap<UserId, Blocks> =
            users.iter().map(|&u| (u, Blocks::default())).collect();
        for (blocker, blocked) in store::blocks::involving(db, users).await? {
            if let Some(mine) = blocks.get_mut(&blocker) {
                mine.blocked.insert(blocked);
            }
            if let Some(theirs) = blocks.get_mut(&blocked) {
                theirs.blocked_by.insert(blocker);
            }
        }
        Ok(blocks
            .into_iter()
            .map(|(user, blocks)| {
                let blocks = Arc::new(blocks);
                self.users.store(user, blocks.clone(), loaded, generation);
                (user, blocks)
            })
            .collect())
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

    /// The blocks of a whole batch are read at once, both sides of each.
    #[tokio::test]
    async fn a_batch_of_users_is_loaded_in_one_go() {
        use migration::{Migrator, MigratorTrait};

        let test_db = crate::testing::TestDb::new().await;
        let db = sea_orm::Database::connect(&test_db.url)
            .await
            .expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        let chat = crate::ChatCore::builder(db.clone()).build().1;
        let mut ids = Vec::new();
        for name in ["ann", "ben", "cat", "dan"] {
            let user = chat
                .create_user(crate::service::NewUser {
                    username: name.to_owned(),
                    email: format!("{name}@example.com"),
                    password_hash: String::new(),
                })
                .await
                .expect("user");
            ids.push(user.typed_id());
        }
        let [ann, ben, cat, dan] = [ids[0], ids[1], ids[2], ids[3]];
        chat.block_user(ann, ben).await.expect("block");
        chat.block_user(cat, ann).await.expect("block");
        chat.block_user(dan, ben).await.expect("block");

        let cache = BlockCache::new(100, Duration::from_secs(60));
        cache
            .load_missing(&db, &[ann, ben, cat])
            .await
            .expect("load");
        let held = |user| cache.users.fresh(&user).expect("cached");
        assert_eq!(held(ann).blocked, [ben].into());
        assert_eq!(held(ann).blocked_by, [cat].into());
        assert_eq!(held(ben).blocked_by, [ann, dan].into());
        assert!(held(ben).blocked.is_empty());
        assert_eq!(held(cat).blocked, [ann].into());
        assert!(cache.users.fresh(&dan).is_none(), "not asked for");
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
