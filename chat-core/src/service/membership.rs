//! In-memory membership sets, so the per-message membership check costs no query.
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::db::stmt;

/// The members of a conversation, and whether outsiders may know it exists.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Member user ids.
    pub(crate) ids: HashSet<i64>,
    /// A public room: listed, so a non-member may be told "not a member".
    /// Everything else (private groups, direct conversations, ids that do not
    /// exist) answers a non-member "not found", so ids reveal nothing.
    pub(crate) public: bool,
}

/// Conversation id -> members, loaded on first use.
///
/// Every change bumps `generation`; a loader that raced with a change does not
/// store its (possibly stale) result, so the cache never holds a set older than
/// the last change it was told about.
#[derive(Default)]
pub(crate) struct MembershipCache {
    sets: DashMap<i64, Arc<Members>>,
    generation: AtomicU64,
}

impl MembershipCache {
    pub(crate) async fn members(
        &self,
        db: &DatabaseConnection,
        conversation_id: i64,
    ) -> Result<Arc<Members>, DbErr> {
        if let Some(set) = self.sets.get(&conversation_id) {
            return Ok(set.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        // One query for both: no row at all when the conversation does not
        // exist, one row with a NULL user when it has no members.
        let backend = db.get_database_backend();
        let rows = db
            .query_all_raw(stmt(
                backend,
                "SELECT c.type AS kind, c.is_public, cm.user_id FROM conversations c \
                 LEFT JOIN conversation_members cm ON cm.conversation_id = c.id WHERE c.id = $1",
                vec![conversation_id.into()],
            ))
            .await?;
        let mut members = Members::default();
        for row in &rows {
            let kind: String = row.try_get("", "kind")?;
            let is_public: bool = row.try_get("", "is_public")?;
            members.public = kind == "group" && is_public;
            if let Some(user_id) = row.try_get::<Option<i64>>("", "user_id")? {
                members.ids.insert(user_id);
            }
        }
        let set = Arc::new(members);
        // Ids that do not exist are not remembered: probing random ids must
        // not grow the cache.
        if !rows.is_empty() && self.generation.load(Ordering::Acquire) == generation {
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
        Ok(self
            .members(db, conversation_id)
            .await?
            .ids
            .contains(&user_id))
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
