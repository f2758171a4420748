//! The engine's background tasks: one [`TaskTracker`] and one
//! [`CancellationToken`] per engine, so every task the engine spawns is
//! known, stopped together and awaited on shutdown.
//!
//! Two kinds of task:
//! - [`Tasks::spawn`]: runs until its future ends or the engine stops, and is
//!   dropped at the next await point after that (heartbeats, listeners,
//!   sweepers);
//! - [`Tasks::spawn_draining`]: gets the stop signal and finishes its pending
//!   work before ending (the presence writers: a closed socket's presence is
//!   still written);
//! - [`Tasks::spawn_until_done`]: not interrupted, ends by itself once what
//!   feeds it has ended (the presence announcer, fed by its writer).
//!
//! The engine stops when the host's last [`ChatHandle`](crate::ChatHandle) is
//! dropped ([`Tasks::stop_on_drop`]) or on shutdown ([`Tasks::shutdown`]).
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

/// The background tasks of one engine. Cloning shares them.
#[derive(Clone, Default)]
pub(crate) struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    pub(crate) fn new() -> Self {
        Tasks::default()
    }

    /// Runs `future` on the runtime until it ends or the engine stops.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                biased;
                () = stop.cancelled() => {}
                () = future => {}
            }
        });
    }

    /// Runs `future` to its end: it is not interrupted when the engine stops,
    /// and must end by itself then (e.g. when its input closes).
    pub(crate) fn spawn_until_done<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(future);
    }

    /// Runs the future `task` builds from the stop signal: it is not
    /// interrupted, it watches the signal and finishes its work itself.
    pub(crate) fn spawn_draining<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tracker.spawn(task(self.stop.clone()));
    }

    /// Whether the engine is stopping.
    #[cfg(test)]
    pub(crate) fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Stops every task when the returned guard is dropped.
    pub(crate) fn stop_on_drop(&self) -> DropGuard {
        self.stop.clone().drop_guard()
    }

    /// Stops every task and waits for them to end, at most `within`; returns
    /// whether they all ended.
    pub(crate) async fn shutdown(&self, within: Duration) -> bool {
        self.stop.cancel();
        self.tracker.close();
        let ended = tokio::time::timeout(within, self.tracker.wait())
            .await
            .is_ok();
        if !ended {
            tracing::warn!(
                left = self.tracker.len(),
                "background tasks still running after the shutdown deadline"
            );
        }
        ended
    }

    /// Tasks running now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tracker.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopping_ends_plain_tasks_and_lets_draining_ones_finish() {
        let tasks = Tasks::new();
        tasks.spawn(std::future::pending());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tasks.spawn_draining(|stop| async move {
            stop.cancelled().await;
            // Work left after the signal still runs.
            tokio::task::yield_now().await;
            let _ = done_tx.send(());
        });
        assert_eq!(tasks.len(), 2);
        drop(tasks.stop_on_drop());
        assert!(tasks.is_stopping());
        assert!(tasks.shutdown(Duration::from_secs(5)).await);
        assert_eq!(tasks.len(), 0);
        assert!(done_rx.await.is_ok(), "the draining task finished its work");
    }

    /// An engine's tasks, all of them started, end once the host's last
    /// handle is dropped (with the layer); before, the engine's own handles
    /// (the socket handlers' state, its tasks) kept them running forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_ends_the_engines_tasks() {
        let (_test_db, db) = database().await;
        let runtime = tokio::runtime::Handle::current().metrics();
        let before = runtime.num_alive_tasks();
        let (layer, chat) = crate::ChatCore::builder(db).build();
        let alice = user(&chat, "alice").await;
        let bob = user(&chat, "bob").await;
        let (direct, _) = chat
            .get_or_create_direct(alice.user_id, bob.user_id)
            .await
            .expect("direct");
        // The presence writer, the typing timer and announcer, the sweeper.
        chat.socket_opened(&alice).await.expect("open");
        chat.typing_start(&alice, direct.id, None)
            .await
            .expect("typing");
        crate::socket::expiry::ensure_sweeper(&chat);
        let tasks = chat.inner.tasks.clone();
        assert!(tasks.len() >= 4, "{} tasks", tasks.len());
        let copy = chat.clone();
        drop(chat);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!tasks.is_stopping(), "a clone of the handle is still held");
        drop((copy, layer));
        assert!(tasks.is_stopping());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tasks.len() > 0 || runtime.num_alive_tasks() > before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} engine tasks and {} runtime tasks left ({before} before the engine)",
                tasks.len(),
                runtime.num_alive_tasks()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The same on the Redis adapter: keepers of the subscriptions, the
    /// invalidation listener, the heartbeat and the presence writer end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_last_handle_ends_a_clustered_engines_tasks() {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let (_test_db, db) = database().await;
        let prefix = format!("chat-test-lifecycle-{:08x}", rand::random::<u32>());
        let redis = crate::cluster::RedisConfig {
            prefix: prefix.clone(),
            ..crate::cluster::RedisConfig::new(url.clone())
        };
        let (layer, chat) = match crate::ChatCore::builder(db).build_with_redis(redis).await {
            Ok(engine) => engine,
            Err(err) => {
                assert!(std::env::var_os("CI").is_none(), "redis unavailable: {err}");
                eprintln!("skipped: redis unavailable: {err}");
                return;
            }
        };
        let alice = user(&chat, "alice").await;
        chat.socket_opened(&alice).await.expect("open");
        let tasks = chat.inner.tasks.clone();
        assert!(tasks.len() >= 5, "{} tasks", tasks.len());
        // The last socket closes as the engine goes: its presence is still
        // written before the writer ends.
        chat.socket_closed(&alice).await.expect("close");
        drop((chat, layer));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tasks.len() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} engine tasks left",
                tasks.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        forget(&url, &prefix).await;
    }

    /// Deletes what an engine left under `prefix` in the shared Redis.
    async fn forget(url: &str, prefix: &str) {
        use fred::interfaces::{ClientLike, KeysInterface};

        let config = fred::types::config::Config::from_url(url).expect("redis url");
        let redis = fred::clients::Client::new(config, None, None, None);
        redis.init().await.expect("redis");
        let pattern = crate::cluster::keys::Keys::new(prefix).everything();
        let keys: Vec<String> = redis
            .custom(fred::cmd!("KEYS"), vec![pattern])
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis.del(keys).await;
        }
    }

    /// Shutting down waits for the tasks, the presence writer having written
    /// what was pending.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_the_sockets_writes_presence_then_ends_the_tasks() {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

        let (_test_db, db) = database().await;
        let (_layer, chat) = crate::ChatCore::builder(db).build();
        let alice = user(&chat, "alice").await;
        chat.socket_opened(&alice).await.expect("open");
        chat.close_sockets().await;
        assert_eq!(chat.inner.tasks.len(), 0, "every task ended");
        let online = crate::entity::user::Entity::find()
            .filter(crate::entity::user::Column::Status.eq("online"))
            .all(chat.db())
            .await
            .expect("users");
        assert_eq!(
            online.iter().map(|u| u.typed_id()).collect::<Vec<_>>(),
            vec![alice.user_id],
            "the pending presence was stored before returning"
        );
    }

    async fn database() -> (crate::testing::TestDb, sea_orm::DatabaseConnection) {
        let test_db = crate::testing::TestDb::new().await;
        let db = sea_orm::Database::connect(&test_db.url)
            .await
            .expect("connect");
        <migration::Migrator as migration::MigratorTrait>::up(&db, None)
            .await
            .expect("migrate");
        (test_db, db)
    }

    async fn user(chat: &crate::ChatHandle, name: &str) -> crate::socket::auth::Identity {
        let user = chat
            .create_user(crate::service::NewUser {
                username: name.to_owned(),
                email: format!("{name}@example.com"),
                password_hash: String::new(),
            })
            .await
            .expect("user");
        crate::socket::auth::Identity {
            user_id: user.typed_id(),
            username: name.to_owned(),
            session_id: None,
            expires_at: None,
        }
    }
}
