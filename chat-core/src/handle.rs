//! [`ChatHandle`]: the host's entry point to every chat operation, and the
//! engine state it shares ([`Inner`]); its shutdown
//! ([`close_sockets`](ChatHandle::close_sockets)) and what the engine's
//! broadcasts go through.
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::cluster::Cluster;
use crate::config::ChatConfig;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Emitter, Target};
use crate::ids::UserId;
use crate::service::block_cache::BlockCache;
use crate::service::budget::{EventLimiter, limiter};
use crate::service::membership::MembershipCache;
use crate::service::presence::LocalPresence;
use crate::service::session_cache::SessionCache;
use crate::service::typing::{Expired, TypingTracker};
use crate::tasks::Tasks;

/// How long a shutdown waits for sends being stored.
const SENDS_DEADLINE: Duration = Duration::from_secs(5);
/// How long a shutdown waits for the background tasks (the presence of the
/// closed sockets being written, to Redis or the database).
const TASKS_DEADLINE: Duration = Duration::from_secs(3);

/// Cheap-to-clone handle to the chat engine: users, conversations, messages.
///
/// Socket handlers and the host's REST handlers call the same methods, so both
/// paths apply the same rules and produce the same real-time events. Methods
/// take the acting user's id (`caller`, `sender`, `user_id`), which the host
/// has authenticated; chat-core checks what that user may do.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::SendMessage;
/// let outcome = chat.send_message(me, SendMessage::text(general, "hello"), None).await?;
/// println!("stored as #{} (seq {})", outcome.message.id, outcome.message.seq);
/// # Ok(()) }
/// ```
///
/// The engine's background tasks (presence writers, heartbeats, expiry
/// sweeps, ...) run while the host holds a handle: dropping the last handle
/// the host got from the builder (and its clones) stops them.
#[derive(Clone)]
pub struct ChatHandle {
    pub(crate) inner: Arc<Inner>,
    /// Present on the host's handles: the last one dropped stops the
    /// engine's tasks. The engine's own handles (the socket handlers' state,
    /// its tasks) have none, so they never keep it running.
    _owner: Option<Arc<tokio_util::sync::DropGuard>>,
}

/// The engine's state, shared by every handle.
pub(crate) struct Inner {
    pub(crate) db: DatabaseConnection,
    pub(crate) config: ChatConfig,
    /// Members per conversation, cached (shared with the Redis listener that
    /// invalidates it).
    pub(crate) membership: Arc<MembershipCache>,
    pub(crate) emitter: OnceLock<Arc<dyn Emitter>>,
    /// Who blocked whom, per user, cached (shared with the Redis listener
    /// that invalidates it).
    pub(crate) blocks: Arc<BlockCache>,
    pub(crate) typing: Arc<TypingTracker>,
    /// Expired typing states; taken by the task that announces them, started
    /// on first use (building the engine does not need a runtime).
    pub(crate) typing_expired: Mutex<Option<mpsc::UnboundedReceiver<Expired>>>,
    pub(crate) presence: LocalPresence,
    /// Online counts of groups (shared with the Redis listener that hears
    /// other instances' presence changes).
    pub(crate) online: Arc<crate::service::online::OnlineCounts>,
    /// Sends between validation and fan-out (one token each), waited for on
    /// shutdown.
    pub(crate) sends_in_flight: tokio_util::task::TaskTracker,
    /// Per-user budget of socket events.
    pub(crate) event_limiter: EventLimiter,
    /// Redis-backed state shared with the other instances, when clustered.
    pub(crate) cluster: Option<Cluster>,
    /// Group commit of sent messages.
    pub(crate) writers: crate::service::writer::MessageWriters,
    /// Whether login sessions are still accepted, cached.
    pub(crate) sessions: Arc<SessionCache>,
    /// When each socket's credentials expire.
    pub(crate) expiry: crate::socket::deadlines::ExpiryWheel,
    /// Handshake admission and sockets per user.
    pub(crate) limits: crate::socket::limits::ConnectionLimits,
    /// Presence written to the database in batches (single instance).
    pub(crate) presence_writer: Arc<crate::service::presence::PresenceBatches>,
    /// Every background task of the engine.
    pub(crate) tasks: Tasks,
    /// Web Push, when the host configured it.
    pub(crate) push: Option<Arc<crate::push::Push>>,
    /// Calls in progress.
    pub(crate) calls: crate::service::calls::state::Calls,
}

impl ChatHandle {
    pub(crate) fn new(
        db: DatabaseConnection,
        config: ChatConfig,
        cluster: Option<Cluster>,
        guard: Option<Arc<dyn crate::socket::limits::HandshakeGuard>>,
        push: Option<crate::push::PushConfig>,
    ) -> Self {
        let tasks = Tasks::new();
        let (typing, typing_expired) = TypingTracker::new(config.typing_timeout, tasks.clone());
        let event_limiter = event_limiter(&config);
        let membership = Arc::new(MembershipCache::new(
            config.membership_cache_members,
            config.membership_cache_ttl,
        ));
        let blocks = Arc::new(BlockCache::new(
            config.block_cache_ids,
            config.membership_cache_ttl,
        ));
        let sessions = Arc::new(SessionCache::new(config.session_check_ttl));
        let limits = crate::socket::limits::ConnectionLimits::new(guard, config.sockets_per_user);
        let call_store: Box<dyn crate::service::calls::store::CallStore> = match &cluster {
            Some(cluster) => Box::new(crate::cluster::calls::RedisCalls::new(
                cluster.client.clone(),
                cluster.keys.clone(),
            )),
            None => Box::new(crate::service::calls::store::LocalCalls::default()),
        };
        let calls = crate::service::calls::state::Calls::new(call_store, &config);
        let _owner = Some(Arc::new(tasks.stop_on_drop()));
        ChatHandle {
            _owner,
            inner: Arc::new(Inner {
                db,
                config,
                membership,
                emitter: OnceLock::new(),
                blocks,
                typing,
                typing_expired: Mutex::new(Some(typing_expired)),
                presence: LocalPresence::default(),
                online: Default::default(),
                event_limiter,
                sends_in_flight: tokio_util::task::TaskTracker::new(),
                cluster,
                writers: crate::service::writer::MessageWriters::new(tasks.clone()),
                push: push.map(crate::push::Push::new),
                sessions,
                expiry: crate::socket::deadlines::ExpiryWheel::default(),
                limits,
                presence_writer: Default::default(),
                calls,
                tasks,
            }),
        }
    }

    /// A handle of the engine itself (for its tasks and socket handlers),
    /// which does not keep the engine's tasks running.
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        ChatHandle {
            inner,
            _owner: None,
        }
    }

    /// This engine's own handle: see [`from_inner`](Self::from_inner).
    pub(crate) fn engine_handle(&self) -> Self {
        ChatHandle::from_inner(self.inner.clone())
    }

    /// Takes one event from the user's budget; `rate_limited` when it is spent.
    /// Never disconnects: the client gets a failed ack and may retry later.
    ///
    /// The socket layer calls it for every client event, before decoding its
    /// payload; the budget
    /// is [`ChatConfig::events_burst`] at once, then
    /// [`ChatConfig::events_per_second`], shared by all of a user's sockets.
    ///
    /// ```
    /// use chat_core::ids::UserId;
    /// use chat_core::{ChatConfig, ChatCore};
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let config = ChatConfig { events_per_second: 1, events_burst: 3, ..Default::default() };
    /// let (_layer, chat) = ChatCore::builder(db).config(config).build();
    /// let (me, someone) = (UserId::try_from(7)?, UserId::try_from(8)?);
    /// for _ in 0..3 {
    ///     chat.check_event_rate(me)?;
    /// }
    /// assert_eq!(chat.check_event_rate(me).unwrap_err().code(), "rate_limited");
    /// assert!(chat.check_event_rate(someone).is_ok()); // budgets are per user
    /// # Ok::<(), chat_core::ChatError>(())
    /// ```
    pub fn check_event_rate(&self, user_id: UserId) -> ChatResult<()> {
        self.inner
            .event_limiter
            .check_key(&user_id)
            .map_err(|_| ChatError::RateLimited)
    }

    /// The database connection the engine uses, for the host's own queries
    /// (see [`entity`](crate::entity)).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
    /// use chat_core::entity::user;
    /// use sea_orm::{EntityTrait, PaginatorTrait};
    ///
    /// let registered = user::Entity::find().count(chat.db()).await?;
    /// # let _ = registered; Ok(()) }
    /// ```
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The engine's configuration.
    ///
    /// ```
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// // A REST host clamping a `limit` parameter the way history does.
    /// let requested: u64 = 500;
    /// let limit = requested.min(chat.config().history_max_limit);
    /// assert_eq!(limit, 100);
    /// ```
    pub fn config(&self) -> &ChatConfig {
        &self.inner.config
    }

    /// Disconnects every socket of this instance, for a graceful shutdown:
    /// clients reconnect (to another instance behind a load balancer) and
    /// catch up with `after_seq`. Sends being stored finish first; then the
    /// engine's background tasks stop, once the closed sockets' presence is
    /// written. Call it on shutdown only: the tasks do not start again.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) {
    /// tokio::signal::ctrl_c().await.ok();
    /// chat.close_sockets().await;
    /// # }
    /// ```
    pub async fn close_sockets(&self) {
        // Sends being stored right now finish first, so their acks and
        // `message:new` still go out (bounded: a stuck database must not hold
        // the shutdown forever). They run on the sockets' tasks, not the
        // engine's: each holds a token of `sends_in_flight`.
        let sends = &self.inner.sends_in_flight;
        sends.close();
        if tokio::time::timeout(SENDS_DEADLINE, sends.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                sends = sends.len(),
                "closing sockets with sends still in flight"
            );
        }
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.close().await;
        }
        // The engine's tasks stop; the presence writers first write what the
        // closed sockets left pending (to Redis, or in batches to the
        // database), or their users stay online until this instance's
        // heartbeat expires or the next start (bounded: Redis or the database
        // may be away).
        self.inner.tasks.shutdown(TASKS_DEADLINE).await;
    }

    /// Ends every live socket of a user, on every instance, after telling them
    /// why with `session:ended {reason}` (e.g. after "log out everywhere" or a
    /// password reset). Clients should go back to their login screen. To also
    /// refuse the user's credentials from then on, call
    /// [`end_user_sessions`](Self::end_user_sessions), which does both.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) {
    /// // After the host revoked all of user 7's refresh tokens:
    /// chat.disconnect_user(me, "password_reset").await;
    /// # }
    /// ```
    pub async fn disconnect_user(&self, user_id: UserId, reason: &str) {
        self.end_sockets(crate::fanout::user_room(user_id), reason)
            .await;
    }

    /// Ends the live sockets of one login session (see
    /// [`Identity::session_id`](crate::socket::auth::Identity::session_id)), on
    /// every instance, after `session:ended {reason}`: e.g. after logout or when
    /// a stolen refresh token was replayed. The user's other sessions stay
    /// connected. To also refuse the session's credentials from then on, call
    /// [`end_session`](Self::end_session), which does both.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) {
    /// // On logout, with the `sid` the access tokens of this login carry:
    /// chat.disconnect_session("4f1c9e2a", "logout").await;
    /// # }
    /// ```
    pub async fn disconnect_session(&self, session_id: &str, reason: &str) {
        self.end_sockets(crate::fanout::session_room(session_id), reason)
            .await;
    }

    async fn end_sockets(&self, room: String, reason: &str) {
        self.end_target(Target::room(room), reason).await;
    }

    /// Tells the sockets of `target` why they end, then disconnects them.
    pub(crate) async fn end_target(&self, target: Target, reason: &str) {
        self.broadcast(
            target.clone(),
            crate::protocol::SESSION_ENDED,
            &serde_json::json!({ "reason": reason }),
        )
        .await;
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.disconnect(target).await;
        }
    }

    /// Whether Redis answers; `None` when the engine runs without Redis.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// // Readiness probe: fine without Redis, not ready while Redis is down.
    /// let ready = chat.redis_ready().await != Some(false);
    /// assert!(ready);
    /// # }
    /// ```
    pub async fn redis_ready(&self) -> Option<bool> {
        use fred::interfaces::ClientLike;
        match &self.inner.cluster {
            // A probe must answer quickly, also while Redis is unreachable.
            Some(cluster) => Some(matches!(
                tokio::time::timeout(
                    std::time::Duration::from_secs(1),
                    cluster.client.ping::<String>(None)
                )
                .await,
                Ok(Ok(_))
            )),
            None => None,
        }
    }

    /// Serializes `payload` once and emits it to `target`.
    pub(crate) async fn broadcast<T: Serialize + ?Sized>(
        &self,
        target: Target,
        event: &'static str,
        payload: &T,
    ) {
        let Some(emitter) = self.inner.emitter.get() else {
            return;
        };
        match serde_json::value::to_raw_value(payload) {
            Ok(raw) => emitter.emit(target, event, &raw).await,
            Err(err) => tracing::error!(event, %err, "cannot serialize event"),
        }
    }

    /// Sends `event` to the sockets of `room` on this instance only.
    pub(crate) async fn emit_local<T: Serialize + ?Sized>(
        &self,
        room: String,
        event: &'static str,
        payload: &T,
    ) {
        let Some(emitter) = self.inner.emitter.get() else {
            return;
        };
        match serde_json::value::to_raw_value(payload) {
            Ok(raw) => emitter.emit_local(room, event, &raw).await,
            Err(err) => tracing::error!(event, %err, "cannot serialize event"),
        }
    }

    /// Makes every socket of `user_ids` join `room` (on every instance).
    pub(crate) async fn join_users(&self, user_ids: &[UserId], room: String) {
        if let Some(emitter) = self.inner.emitter.get() {
            let rooms = user_ids
                .iter()
                .map(|&u| crate::fanout::user_room(u))
                .collect();
            emitter.join(rooms, vec![room]).await;
        }
    }

    /// Makes every socket of `user_id` leave `room` (on every instance).
    pub(crate) async fn leave_user(&self, user_id: UserId, room: String) {
        if let Some(emitter) = self.inner.emitter.get() {
            emitter
                .leave(vec![crate::fanout::user_room(user_id)], vec![room])
                .await;
        }
    }
}

fn event_limiter(config: &ChatConfig) -> EventLimiter {
    limiter(config.events_per_second, config.events_burst)
}
