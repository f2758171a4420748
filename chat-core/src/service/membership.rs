//! In-memory membership sets, so the per-message membership check costs no query.
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbErr};

use super::db::query_ids;

/// Conversation id -> member ids, loaded on first use.
///
/// Every change bumps `generation`; a loader that raced with a change does not
/// store its (possibly stale) result, so the cache never holds a set older than
/// the last change it was told about.
#[derive(Default)]
pub(crate) struct MembershipCache {
    sets: DashMap<i64, Arc<HashSet<i64>>>,
    generation: AtomicU64,
}

impl MembershipCache {
    pub(crate) async fn members(
        &self,
        db: &DatabaseConnection,
        conversation_id: i64,
    ) -> Result<Arc<HashSet<i64>>, DbErr> {
        if let Some(set) = self.sets.get(&conversation_id) {
            return Ok(set.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let ids = query_ids(
            db,
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1",
            vec![conversation_id.into()],
        )
        .await?;
        let set = Arc::new(ids.into_iter().collect::<HashSet<_>>());
        if self.generation.load(Ordering::Acquire) == generation {
            self.sets.insert(conversation_id, set.clone());
        }
        Ok(set)
    }

    pub(crate) async fn is_member(
        &self,
        db: &DatabaseConnection,
        conversation_id: i64,
        user_id: i64,
    ) -> Result<bool, DbErr> {
        Ok(self.members(db, conversation_id).await?.contains(&user_id))
    }

    /// Forgets every set (after missed invalidations).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sets.clear();
    }

    /// Forgets a conversation's set after its membership changed.
    pub(crate) fn invalidate(&self, conversation_id: i64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sets.remove(&conversation_id);
    }
}
