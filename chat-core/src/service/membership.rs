//! In-memory membership sets, so the per-message membership check costs no query.
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbErr};

use crate::ids::{ConversationId, UserId};
use crate::store;

/// The members of a conversation, and whether outsiders may know it exists.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Member user ids.
    pub(crate) ids: HashSet<UserId>,
    /// A public room: listed, so a non-member may be told "not a member".
    /// Everything else (private groups, direct conversations, ids that do not
    /// exist) answers a non-member "not found", so ids reveal nothing.
    pub(crate) public: bool,
}

/// Conversation id -> members, loaded on first use.
///
/// Every change bumps `generation`; a loader that raced with a change does not
/// store its (possibly stale) result, so the cache never holds a set older than
/// the last change it was told about. A change it was not told about (a lost
/// notice from another instance) is seen after `ttl` at worst.
///
/// Only conversations with members are kept, and at most `capacity` member ids
/// over all of them: ids that name nothing (a client trying ids one by one)
/// cost a query each but no memory.
pub(crate) struct MembershipCache {
    sets: DashMap<ConversationId, Entry>,
    generation: AtomicU64,
    /// Member ids held, plus one per conversation.
    weight: AtomicUsize,
    capacity: usize,
    ttl: Duration,
}

struct Entry {
    members: Arc<Members>,
    loaded: Instant,
}

impl Entry {
    fn weight(&self) -> usize {
        self.members.ids.len() + 1
    }
}

impl MembershipCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        MembershipCache {
            sets: DashMap::new(),
            generation: AtomicU64::new(0),
            weight: AtomicUsize::new(0),
            capacity,
            ttl,
        }
    }

    pub(crate) async fn members(
        &self,
        db: &DatabaseConnection,
        conversation_id: ConversationId,
    ) -> Result<Arc<Members>, DbErr> {
        if let Some(entry) = self.sets.get(&conversation_id)
            && entry.loaded.elapsed() < self.ttl
        {
            return Ok(entry.members.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = Instant::now();
        let found = store::members::member_set(db, conversation_id).await?;
        let exists = found.is_some();
        let (ids, public) = found.unwrap_or_default();
        let members = Members { ids, public };
        let members = Arc::new(members);
        // Ids that do not exist are not remembered: probing random ids must
        // not grow the cache.
        if exists && self.generation.load(Ordering::Acquire) == generation {
            self.store(
                conversation_id,
                Entry {
                    members: members.clone(),
                    loaded,
                },
            );
        }
        Ok(members)
    }

    fn store(&self, conversation_id: ConversationId, entry: Entry) {
        let weight = entry.weight();
        if weight > self.capacity {
            return;
        }
        if self.weight.load(Ordering::Relaxed) + weight > self.capacity {
            self.make_room(weight);
        }
        self.weight.fetch_add(weight, Ordering::Relaxed);
        if let Some(old) = self.sets.insert(conversation_id, entry) {
            self.weight.fetch_sub(old.weight(), Ordering::Relaxed);
        }
    }

    /// Drops expired sets, then others (in no particular order) until an
    /// eighth of the capacity is free: one pass over the map per eighth of
    /// the capacity stored, so a full cache costs O(1) per store on average.
    fn make_room(&self, needed: usize) {
        let target = self
            .capacity
            .saturating_sub(needed)
            .saturating_sub(self.capacity / 8);
        let mut held = self.weight.load(Ordering::Relaxed);
        self.sets.retain(|_, entry| {
            if entry.loaded.elapsed() >= self.ttl || held > target {
                held = held.saturating_sub(entry.weight());
                self.weight.fetch_sub(entry.weight(), Ordering::Relaxed);
                false
            } else {
                true
            }
        });
    }

    pub(crate) async fn is_member(
        &self,
        db: &DatabaseConnection,
        conversation_id: ConversationId,
        user_id: UserId,
    ) -> Result<bool, DbErr> {
        Ok(self
            .members(db, conversation_id)
            .await?
            .ids
            .contains(&user_id))
    }

    /// Forgets every set (after missed invalidations).
    /// How many changes the cache has seen (tests wait for a notice with it).
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sets.retain(|_, entry| {
            self.weight.fetch_sub(entry.weight(), Ordering::Relaxed);
            false
        });
    }

    /// Forgets a conversation's set after its membership changed.
    pub(crate) fn invalidate(&self, conversation_id: ConversationId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some((_, old)) = self.sets.remove(&conversation_id) {
            self.weight.fetch_sub(old.weight(), Ordering::Relaxed);
        }
    }

    /// Drops the cached set of a conversation when it disagrees with what
    /// the database just said about `user_id`.
    pub(crate) fn correct(&self, conversation_id: ConversationId, user_id: UserId, member: bool) {
        let cached = self
            .sets
            .get(&conversation_id)
            .map(|entry| entry.members.ids.contains(&user_id));
        if cached.is_some_and(|cached| cached != member) {
            self.invalidate(conversation_id);
        }
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        (self.sets.len(), self.weight.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use migration::{Migrator, MigratorTrait};
    use sea_orm::Database;

    use crate::ids::literal::c;
    use crate::ids::{ConversationId, UserId};
    use crate::service::{CreateGroup, NewUser};
    use crate::testing::TestDb;
    use crate::{ChatConfig, ChatCore, ChatHandle};

    async fn engine(test_db: &TestDb, config: ChatConfig) -> ChatHandle {
        let db = Database::connect(&test_db.url).await.expect("connect");
        Migrator::up(&db, None).await.expect("migrate");
        ChatCore::builder(db).config(config).build().1
    }

    async fn user(chat: &ChatHandle, name: &str) -> UserId {
        chat.create_user(NewUser {
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            password_hash: String::new(),
        })
        .await
        .expect("user")
        .typed_id()
    }

    async fn group(chat: &ChatHandle, owner: UserId, members: Vec<UserId>) -> ConversationId {
        chat.create_group(
            owner,
            CreateGroup {
                name: "team".into(),
                member_ids: members,
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id
    }

    #[tokio::test]
    async fn ids_that_name_no_conversation_are_never_cached() {
        let db = TestDb::new().await;
        let chat = engine(&db, ChatConfig::default()).await;
        let alice = user(&chat, "alice").await;
        for id in 1_000_000..1_002_000 {
            assert!(!chat.is_member(c(id), alice).await.expect("check"));
        }
        assert_eq!(chat.inner.membership.held(), (0, 0));
    }

    #[tokio::test]
    async fn the_cache_holds_at_most_its_capacity_and_stays_right() {
        let db = TestDb::new().await;
        let config = ChatConfig {
            membership_cache_members: 16,
            ..ChatConfig::default()
        };
        let chat = engine(&db, config).await;
        let alice = user(&chat, "alice").await;
        let bob = user(&chat, "bob").await;
        let mut groups = Vec::new();
        for _ in 0..20 {
            groups.push(group(&chat, alice, vec![bob]).await);
        }
        for _ in 0..3 {
            for &id in &groups {
                assert!(chat.is_member(id, bob).await.expect("check"));
                let (_, weight) = chat.inner.membership.held();
                assert!(weight <= 16, "{weight} member ids held, capacity 16");
            }
        }
        let (sets, _) = chat.inner.membership.held();
        assert!(sets > 0, "the cache still caches");
    }

    #[tokio::test]
    async fn a_change_the_cache_was_not_told_about_is_seen_after_the_ttl() {
        let db = TestDb::new().await;
        let config = ChatConfig {
            membership_cache_ttl: Duration::from_millis(300),
            ..ChatConfig::default()
        };
        let chat = engine(&db, config).await;
        let alice = user(&chat, "alice").await;
        let bob = user(&chat, "bob").await;
        let id = group(&chat, alice, vec![bob]).await;
        assert!(chat.is_member(id, bob).await.expect("check"));
        // Removed behind the cache's back (as by an instance whose notice was lost).
        crate::store::members::delete(chat.db(), id, bob)
            .await
            .expect("delete");
        assert!(chat.is_member(id, bob).await.expect("cached"), "cached");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!chat.is_member(id, bob).await.expect("reloaded"));
        // The database's answer also corrects a stale set at once.
        assert!(chat.is_member(id, alice).await.expect("check"));
        crate::store::members::delete(chat.db(), id, alice)
            .await
            .expect("delete");
        assert!(!chat.is_member_now(id, alice).await.expect("now"));
        assert!(!chat.is_member(id, alice).await.expect("check"));
    }
}
