//! In-memory membership sets, so the per-message membership check costs no query.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, DbErr};

use super::bounded_cache::{BoundedCache, Weigh};
use crate::ids::{ConversationId, UserId};
use crate::model::ConversationKind;
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
    /// A direct conversation (where blocks between its two members apply).
    pub(crate) direct: bool,
}

impl Members {
    /// The member of a direct conversation who is not `user_id`.
    pub(crate) fn other_than(&self, user_id: UserId) -> Option<UserId> {
        self.ids.iter().copied().find(|&id| id != user_id)
    }
}

impl Weigh for Members {
    fn weight(&self) -> usize {
        self.ids.len()
    }
}

/// Conversation id -> members, loaded on first use (see [`BoundedCache`]:
/// a set is never older than the last change the cache was told about, and
/// at most `ttl` old).
///
/// Only conversations with members are kept, and at most `capacity` member ids
/// over all of them: ids that name nothing (a client trying ids one by one)
/// cost a query each but no memory.
pub(crate) struct MembershipCache {
    sets: BoundedCache<ConversationId, Members>,
    /// Conversations whose membership changed since the online counts last
    /// looked (see [`take_changes`](Self::take_changes)).
    changed: std::sync::Mutex<MembershipChanges>,
}

/// Membership changes not yet seen by the online counts.
#[derive(Debug, Default)]
pub(crate) struct MembershipChanges {
    /// Conversations whose membership changed.
    pub(crate) ids: HashSet<ConversationId>,
    /// Every conversation may have changed (the cache was cleared, or more
    /// changed than are worth naming).
    pub(crate) all: bool,
}

impl MembershipChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty() && !self.all
    }
}

/// Most changed conversations named before they count as "all changed".
const MAX_CHANGES_NAMED: usize = 10_000;

impl MembershipCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        MembershipCache {
            sets: BoundedCache::new(capacity, ttl),
            changed: Default::default(),
        }
    }

    pub(crate) async fn members(
        &self,
        db: &DatabaseConnection,
        conversation_id: ConversationId,
    ) -> Result<Arc<Members>, DbErr> {
        if let Some(members) = self.sets.fresh(&conversation_id) {
            return Ok(members);
        }
        let generation = self.sets.generation();
        let loaded = Instant::now();
        let Some((ids, kind, public)) = store::members::member_set(db, conversation_id).await?
        else {
            // Ids that do not exist are not remembered: probing random ids
            // must not grow the cache.
            return Ok(Arc::new(Members::default()));
        };
        let members = Arc::new(Members {
            ids,
            public: kind == ConversationKind::Group && public,
            direct: kind == ConversationKind::Direct,
        });
        self.sets
            .store(conversation_id, members.clone(), loaded, generation);
        Ok(members)
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

    /// How many changes the cache has seen (tests wait for a notice with it).
    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        self.sets.generation()
    }

    /// Forgets every set (after missed invalidations).
    pub(crate) fn clear(&self) {
        self.sets.clear();
        self.changes().all = true;
    }

    /// Forgets a conversation's set after its membership changed.
    pub(crate) fn invalidate(&self, conversation_id: ConversationId) {
        self.sets.invalidate(&conversation_id);
        let mut changes = self.changes();
        if changes.ids.len() < MAX_CHANGES_NAMED {
            changes.ids.insert(conversation_id);
        } else {
            changes.all = true;
        }
    }

    /// The conversations whose membership changed since the last call.
    pub(crate) fn take_changes(&self) -> MembershipChanges {
        std::mem::take(&mut *self.changes())
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, MembershipChanges> {
        // A panic while holding the lock left a valid set.
        self.changed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the cached set of a conversation when it disagrees with what
    /// the database just said about `user_id`.
    pub(crate) fn correct(&self, conversation_id: ConversationId, user_id: UserId, member: bool) {
        let cached = self
            .sets
            .held(&conversation_id)
            .map(|members| members.ids.contains(&user_id));
        if cached.is_some_and(|cached| cached != member) {
            self.invalidate(conversation_id);
        }
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        self.sets.usage()
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
