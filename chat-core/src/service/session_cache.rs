//! Whether a login session's credentials are still accepted, cached for a
//! short while so a REST request or a handshake costs no query.
//!
//! The cache forgets an entry as soon as this instance ends the session, and
//! when another instance announces it over Redis; an entry lives at most
//! [`ChatConfig::session_check_ttl`](crate::ChatConfig::session_check_ttl), the
//! worst-case delay when an announcement is lost.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::time::Instant;

use crate::ids::UserId;
use crate::socket::auth::Identity;
use crate::store;

/// What the database said about a session (or a user without sessions).
#[derive(Clone, Copy)]
struct Verdict {
    user_id: UserId,
    active: bool,
    until: Instant,
}

/// Session id (or user id, for credentials without a session) -> whether its
/// credentials are still accepted, for [`session_check_ttl`](crate::ChatConfig::session_check_ttl).
///
/// Every invalidation bumps `generation`; a check that raced with one does not
/// store its (possibly stale) answer.
pub(crate) struct SessionCache {
    ttl: Duration,
    sessions: DashMap<String, Verdict>,
    users: DashMap<UserId, Verdict>,
    generation: AtomicU64,
    /// When expired entries were last dropped.
    swept: Mutex<Instant>,
}

/// Message announcing an ended session to the other instances.
pub(crate) fn session_message(session_id: &str) -> String {
    format!("s:{session_id}")
}

/// Message announcing that every session of a user ended.
pub(crate) fn user_message(user_id: UserId) -> String {
    format!("u:{user_id}")
}

impl SessionCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            sessions: DashMap::new(),
            users: DashMap::new(),
            generation: AtomicU64::new(0),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// Whether `identity`'s user exists and its session was not ended.
    pub(crate) async fn active(
        &self,
        db: &DatabaseConnection,
        identity: &Identity,
    ) -> Result<bool, DbErr> {
        let now = Instant::now();
        let cached = match &identity.session_id {
            Some(session) => self.sessions.get(session.as_str()).map(|v| *v),
            None => self.users.get(&identity.user_id).map(|v| *v),
        };
        if let Some(verdict) = cached
            && verdict.user_id == identity.user_id
            && verdict.until > now
        {
            return Ok(verdict.active);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let active = query_active(db, identity).await?;
        if self.generation.load(Ordering::Acquire) == generation {
            let verdict = Verdict {
                user_id: identity.user_id,
                active,
                until: Instant::now() + self.ttl,
            };
            match &identity.session_id {
                Some(session) => {
                    self.sessions.insert(session.clone(), verdict);
                }
                None => {
                    self.users.insert(identity.user_id, verdict);
                }
            }
            self.sweep();
        }
        Ok(active)
    }

    /// Drops expired entries, at most once per TTL, so sessions never seen
    /// again do not stay in memory.
    fn sweep(&self) {
        let Ok(mut swept) = self.swept.try_lock() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(*swept) < self.ttl {
            return;
        }
        *swept = now;
        drop(swept);
        self.sessions.retain(|_, v| v.until > now);
        self.users.retain(|_, v| v.until > now);
    }

    /// Applies an announcement from [`session_message`] or [`user_message`].
    pub(crate) fn apply(&self, message: &str) {
        if let Some(session) = message.strip_prefix("s:") {
            self.invalidate_session(session);
        } else if let Some(user_id) = message.strip_prefix("u:").and_then(|u| u.parse().ok()) {
            self.invalidate_user(user_id);
        }
    }

    pub(crate) fn invalidate_session(&self, session_id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.remove(session_id);
    }

    pub(crate) fn invalidate_user(&self, user_id: UserId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.users.remove(&user_id);
        self.sessions.retain(|_, v| v.user_id != user_id);
    }

    /// Forgets everything (after missed announcements).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.clear();
        self.users.clear();
    }

    /// Entries held (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions.len() + self.users.len()
    }
}

async fn query_active(db: &DatabaseConnection, identity: &Identity) -> Result<bool, DbErr> {
    store::sessions::is_active(db, identity.user_id, identity.session_id.as_deref()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::u;

    #[test]
    fn announcements_drop_the_entries_they_name() {
        let cache = SessionCache::new(Duration::from_secs(5));
        let until = Instant::now() + Duration::from_secs(5);
        for (session, user_id) in [("a", u(1)), ("b", u(1)), ("c", u(2))] {
            cache.sessions.insert(
                session.to_owned(),
                Verdict {
                    user_id,
                    active: true,
                    until,
                },
            );
        }
        cache.apply(&session_message("c"));
        assert_eq!(cache.len(), 2);
        cache.apply(&user_message(u(1)));
        assert_eq!(cache.len(), 0);
        cache.apply("garbage");
        cache.apply("u:not-a-number");
    }
}
