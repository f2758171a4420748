//! Presence on this instance: a user is online while at least one of their
//! sockets is connected ([`LocalPresence`]), and, alone, the users whose
//! presence waits to be stored ([`PresenceBatches`]). The tasks writing it
//! are in [`presence_writers`](super::activity).
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;

use crate::ids::UserId;

/// Sockets per user on this instance.
#[derive(Default)]
pub(crate) struct LocalPresence {
    sockets: DashMap<UserId, usize>,
}

impl LocalPresence {
    /// Counts a new socket; returns whether it is the user's first.
    pub(crate) fn connect(&self, user_id: UserId) -> bool {
        let mut count = self.sockets.entry(user_id).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts a closed socket; returns whether it was the user's last.
    pub(crate) fn disconnect(&self, user_id: UserId) -> bool {
        let last = match self.sockets.get_mut(&user_id) {
            Some(mut count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if last {
            self.sockets.remove_if(&user_id, |_, c| *c == 0);
        }
        last
    }

    /// The user's sockets on this instance.
    pub(crate) fn sockets(&self, user_id: UserId) -> usize {
        self.sockets.get(&user_id).map_or(0, |c| *c)
    }

    /// Whether the user has a socket on this instance.
    pub(crate) fn is_online(&self, user_id: UserId) -> bool {
        self.sockets.get(&user_id).is_some_and(|c| *c > 0)
    }

    /// Sockets per user, for users with at least one.
    pub(crate) fn counts(&self) -> Vec<(UserId, usize)> {
        self.sockets
            .iter()
            .filter(|e| *e.value() > 0)
            .map(|e| (*e.key(), *e.value()))
            .collect()
    }

    /// Users with at least one socket.
    pub(crate) fn online_users(&self) -> Vec<UserId> {
        self.sockets
            .iter()
            .filter(|e| *e.value() > 0)
            .map(|e| *e.key())
            .collect()
    }
}

/// Single instance: users whose first socket opened or last socket closed
/// since their presence was last stored. Socket events only mark the user
/// here; one writer task stores the marked users' statuses in a statement per
/// direction and announces them, at most once per flush interval, so a storm
/// of connects and disconnects is a bounded trickle of writes beside the
/// message commits (SQLite has one writer at a time).
#[derive(Default)]
pub(crate) struct PresenceBatches {
    /// User id -> username.
    users: std::sync::Mutex<HashMap<UserId, String>>,
    /// The writer is storing or announcing a batch.
    writing: AtomicBool,
    /// The writer task was started.
    pub(crate) started: AtomicBool,
    /// Batches that stored at least one change.
    pub(crate) flushes: AtomicU64,
    /// Wakes the writer.
    pub(crate) wake: tokio::sync::Notify,
}

impl PresenceBatches {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, String>> {
        // A panic while holding the lock left a valid map.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn mark_changed(&self, user_id: UserId, username: &str) {
        self.users()
            .entry(user_id)
            .or_insert_with(|| username.to_owned());
        self.wake.notify_one();
    }

    /// The marked users, unmarked.
    pub(crate) fn take(&self) -> HashMap<UserId, String> {
        self.writing.store(true, Ordering::Release);
        std::mem::take(&mut *self.users())
    }

    pub(crate) fn done(&self) {
        self.writing.store(false, Ordering::Release);
    }

    pub(crate) fn has_work(&self) -> bool {
        !self.users().is_empty()
    }

    /// Whether every change marked so far is stored and announced.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        !self.has_work() && !self.writing.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::LocalPresence;
    use crate::ids::literal::u;

    #[test]
    fn several_tabs_count_as_one_user() {
        let p = LocalPresence::default();
        assert!(p.connect(u(1)), "first tab: online");
        assert!(!p.connect(u(1)), "second tab: no new online");
        assert!(!p.disconnect(u(1)), "closing one of two tabs: still online");
        assert!(p.is_online(u(1)));
        assert!(p.disconnect(u(1)), "last tab: offline");
        assert!(!p.is_online(u(1)));
        assert!(!p.disconnect(u(1)), "an unknown disconnect is ignored");
    }

    /// Single instance: a user's sockets opening and closing in a loop are
    /// stored in batches (one write per flush interval at most), not one
    /// statement per socket, and the last state wins.
    #[tokio::test]
    async fn a_connect_storm_is_stored_in_a_few_batched_writes() {
        use crate::service::NewUser;
        use crate::socket::auth::Identity;
        use sea_orm::ConnectionTrait;

        let test_db = crate::testing::TestDb::new().await;
        let db = sea_orm::Database::connect(&test_db.url)
            .await
            .expect("connect");
        <migration::Migrator as migration::MigratorTrait>::up(&db, None)
            .await
            .expect("migrate");
        let (_layer, chat) = crate::ChatCore::builder(db.clone()).build();
        let mut ids = Vec::new();
        for name in ["alice", "bob"] {
            let user = chat
                .create_user(NewUser {
                    username: name.to_owned(),
                    email: format!("{name}@example.com"),
                    password_hash: String::new(),
                })
                .await
                .expect("user");
            ids.push(user.typed_id());
        }
        chat.get_or_create_direct(ids[0], ids[1])
            .await
            .expect("direct");
        // Every status written to `users` is counted by a trigger.
        let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
        let setup: &[&str] = if postgres {
            &[
                "CREATE TABLE status_writes (n INTEGER)",
                "CREATE FUNCTION count_status() RETURNS trigger AS $$ BEGIN \
                 INSERT INTO status_writes VALUES (1); RETURN NULL; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER count_status AFTER UPDATE OF status ON users \
                 FOR EACH ROW EXECUTE FUNCTION count_status()",
            ]
        } else {
            &[
                "CREATE TABLE status_writes (n INTEGER)",
                "CREATE TRIGGER count_status AFTER UPDATE OF status ON users \
                 BEGIN INSERT INTO status_writes VALUES (1); END",
            ]
        };
        for sql in setup {
            db.execute_unprepared(sql).await.expect("trigger");
        }
        let alice = Identity {
            user_id: ids[0],
            username: "alice".into(),
            session_id: None,
            expires_at: None,
        };
        let started = std::time::Instant::now();
        let toggles = 400;
        for n in 0..toggles {
            chat.socket_opened(&alice).await.expect("open");
            chat.socket_closed(&alice).await.expect("close");
            if n % 4 == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        // The last socket opens: alice ends online.
        chat.socket_opened(&alice).await.expect("open");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !chat.presence_idle() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let elapsed = started.elapsed();
        let count = |sql: &'static str| {
            let db = db.clone();
            async move {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        sql,
                    ))
                    .await
                    .expect("query")
                    .expect("row");
                row.try_get_by_index::<i64>(0).expect("count")
            }
        };
        let writes = count("SELECT COUNT(*) FROM status_writes").await;
        // One batch per flush interval at most (plus the one under way).
        let bound = (elapsed.as_millis() / 100) as i64 + 2;
        assert!(
            writes <= bound,
            "{writes} status writes for {} socket changes in {elapsed:?}: at most {bound} expected",
            toggles * 2 + 1
        );
        let online = count("SELECT COUNT(*) FROM users WHERE status = 'online'").await;
        assert_eq!(online, 1, "the last state is stored");
        chat.socket_closed(&alice).await.expect("close");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count("SELECT COUNT(*) FROM users WHERE status = 'online'").await != 0 {
            assert!(std::time::Instant::now() < deadline, "offline never stored");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let last_seen = count("SELECT COUNT(*) FROM users WHERE last_seen IS NOT NULL").await;
        assert_eq!(last_seen, 1, "last_seen is stored with offline");
    }
}
