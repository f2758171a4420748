//! Ended login sessions: recorded in `revoked_sessions`, so credentials issued
//! for them are refused before they expire, and checked through a short-lived
//! in-memory cache, so a REST request or a handshake costs no query.
//!
//! The cache forgets an entry as soon as this instance ends the session, and
//! when another instance announces it over Redis; an entry lives at most
//! [`ChatConfig::session_check_ttl`](crate::ChatConfig::session_check_ttl), the
//! worst-case delay when an announcement is lost.
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::time::Instant;

use super::db::{now, stmt};
use crate::ChatHandle;
use crate::error::ChatResult;
use crate::socket::auth::Identity;

/// What the database said about a session (or a user without sessions).
#[derive(Clone, Copy)]
struct Verdict {
    user_id: i64,
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
    users: DashMap<i64, Verdict>,
    generation: AtomicU64,
    /// When expired entries were last dropped.
    swept: Mutex<Instant>,
}

/// Message announcing an ended session to the other instances.
pub(crate) fn session_message(session_id: &str) -> String {
    format!("s:{session_id}")
}

/// Message announcing that every session of a user ended.
pub(crate) fn user_message(user_id: i64) -> String {
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

    pub(crate) fn invalidate_user(&self, user_id: i64) {
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
    let backend = db.get_database_backend();
    let row = match &identity.session_id {
        Some(session) => {
            db.query_one_raw(stmt(
                backend,
                "SELECT (SELECT COUNT(*) FROM users WHERE id = $1), \
                 (SELECT COUNT(*) FROM revoked_sessions WHERE session_id = $2)",
                [identity.user_id.into(), session.clone().into()],
            ))
            .await?
        }
        None => {
            db.query_one_raw(stmt(
                backend,
                "SELECT COUNT(*) FROM users WHERE id = $1",
                [identity.user_id.into()],
            ))
            .await?
        }
    };
    let Some(row) = row else { return Ok(false) };
    let users: i64 = row.try_get_by_index(0)?;
    let revoked: i64 = match identity.session_id {
        Some(_) => row.try_get_by_index(1)?,
        None => 0,
    };
    Ok(users > 0 && revoked == 0)
}

impl ChatHandle {
    /// Whether credentials of `identity` are still accepted: its user exists
    /// and its login session (if it has one) was not ended with
    /// [`end_session`](Self::end_session) or
    /// [`end_user_sessions`](Self::end_user_sessions).
    ///
    /// The answer is cached for [`session_check_ttl`](crate::ChatConfig::session_check_ttl)
    /// and dropped at once when a session ends on any instance, so calling it
    /// for every REST request costs no query. chat-core calls it on every
    /// handshake and `session:refresh`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// use chat_core::socket::auth::Identity;
    ///
    /// // A REST host, after verifying the token's signature and expiry:
    /// let identity = Identity {
    ///     user_id: 7,
    ///     username: "alice".into(),
    ///     session_id: Some("4f1c9e2a".into()),
    ///     expires_at: Some(1_800_000_000),
    /// };
    /// if !chat.session_active(&identity).await? {
    ///     // 401: logged out, or the account is gone.
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn session_active(&self, identity: &Identity) -> ChatResult<bool> {
        Ok(self.inner.sessions.active(self.db(), identity).await?)
    }

    /// Ends one login session: its credentials are refused from now on (on
    /// every instance; see [`session_active`](Self::session_active)) and its
    /// sockets get `session:ended {reason}` and are disconnected. Call it after
    /// revoking the session's refresh tokens (logout, a replayed refresh token).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// // On logout, with the `sid` the access tokens of this login carry:
    /// chat.end_session("4f1c9e2a", "logged_out").await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_session(&self, session_id: &str, reason: &str) -> ChatResult<()> {
        let db = self.db();
        let at = now();
        db.execute_raw(stmt(
            db.get_database_backend(),
            "INSERT INTO revoked_sessions (session_id, revoked_at) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO NOTHING",
            [session_id.into(), at.into()],
        ))
        .await?;
        self.prune_revoked_sessions().await;
        self.inner.sessions.invalidate_session(session_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster
                .publish_session_change(session_message(session_id))
                .await;
        }
        self.disconnect_session(session_id, reason).await;
        Ok(())
    }

    /// Ends every login session of a user ("log out everywhere", a password
    /// reset): every session with a refresh token that has not expired (see
    /// [`refresh_token`](crate::entity::refresh_token)) is ended as with
    /// [`end_session`](Self::end_session), and every socket of the user gets
    /// `session:ended {reason}` and is disconnected.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// // After a password reset of user 7:
    /// chat.end_user_sessions(7, "password_reset").await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_user_sessions(&self, user_id: i64, reason: &str) -> ChatResult<()> {
        let db = self.db();
        let at = now();
        // `WHERE` before `ON CONFLICT` keeps SQLite from reading it as a join.
        db.execute_raw(stmt(
            db.get_database_backend(),
            "INSERT INTO revoked_sessions (session_id, revoked_at) \
             SELECT DISTINCT family_id, $2 FROM refresh_tokens \
             WHERE user_id = $1 AND expires_at > $2 \
             ON CONFLICT (session_id) DO NOTHING",
            [user_id.into(), at.into()],
        ))
        .await?;
        self.prune_revoked_sessions().await;
        self.inner.sessions.invalidate_user(user_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_session_change(user_message(user_id)).await;
        }
        self.disconnect_user(user_id, reason).await;
        Ok(())
    }

    /// Forgets sessions ended long enough ago that no credentials of theirs
    /// can still be valid. A failure only leaves the rows for the next time.
    async fn prune_revoked_sessions(&self) {
        let db = self.db();
        let retention = chrono::Duration::from_std(self.config().revoked_session_retention)
            .unwrap_or(chrono::Duration::days(1));
        let pruned = db
            .execute_raw(stmt(
                db.get_database_backend(),
                "DELETE FROM revoked_sessions WHERE revoked_at < $1",
                [(now() - retention).into()],
            ))
            .await;
        if let Err(err) = pruned {
            tracing::warn!(%err, "old revoked sessions not pruned");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_drop_the_entries_they_name() {
        let cache = SessionCache::new(Duration::from_secs(5));
        let until = Instant::now() + Duration::from_secs(5);
        for (session, user_id) in [("a", 1), ("b", 1), ("c", 2)] {
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
        cache.apply(&user_message(1));
        assert_eq!(cache.len(), 0);
        cache.apply("garbage");
        cache.apply("u:not-a-number");
    }
}
