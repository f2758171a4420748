//! # chat-core
//!
//! A Socket.IO-compatible chat engine: users, direct and group conversations,
//! public rooms, messages with per-conversation ordering (`seq`), served over
//! [`socketioxide`] and persisted with [`sea_orm`] on PostgreSQL or SQLite.
//! Existing `socket.io-client` frontends connect to it unchanged.
//!
//! chat-core reads no environment and owns no HTTP routes. The host gives it a
//! [`ChatConfig`], a database connection and an [`Authenticator`], and gets
//! back a tower layer serving `/socket.io` plus a [`ChatHandle`] to call
//! (`send_message`, `conversation_page`, ...).
//!
//! ## Contents
//! - [`ChatCore`] and [`ChatCoreBuilder`]: build the engine, for one instance
//!   ([`build`](ChatCoreBuilder::build)) or several sharing Redis
//!   ([`build_with_redis`](ChatCoreBuilder::build_with_redis), [`cluster`]).
//! - [`ChatHandle`]: every operation; socket handlers and REST handlers call the same methods.
//! - [`config`]: [`ChatConfig`], the tunables (limits, timeouts, rate budget).
//! - [`db`]: connection settings the database pool needs for chat traffic.
//! - [`ids`]: [`UserId`](ids::UserId), [`ConversationId`](ids::ConversationId),
//!   [`MessageId`](ids::MessageId): typed ids, positive when decoded.
//! - [`socket::auth`]: the [`Authenticator`] the host implements to identify sockets.
//! - [`socket::events`]: event names and the ack format; [`model`]: wire types.
//! - [`typescript`]: the wire types and typed event maps as TypeScript declarations.
//! - [`service`]: request and result types of the operations.
//! - [`entity`]: sea-orm entities of the schema (created by the `migration` crate).
//! - [`error`]: [`ChatError`], failures, each with a stable `code` and HTTP status.
//! - `testing` (feature `test-support`): a throwaway database per test.
//!
//! ## Rules
//! - Every message gets a `seq`: 1, 2, 3, ... per conversation, in commit
//!   order. Clients that reconnect catch up with
//!   [`HistoryQuery::after_seq`](service::HistoryQuery::after_seq).
//! - Results and acks come only after the change is committed; events go out
//!   after the commit too, so a client never hears of a message it cannot read back.
//! - A sender's `client_id` makes sends idempotent: a retry returns the stored
//!   message and delivers nothing.
//! - Read and delivery receipts never move backwards ([`ChatHandle::advance_receipt`]).
//! - A user over their event budget gets `rate_limited` acks; sockets are never
//!   disconnected for bad or excessive events.
//! - A block ([`ChatHandle::block_user`]) closes the pair's direct conversation
//!   both ways (`blocked`) and hides the blocker's presence from the blocked
//!   user; it is checked from memory, on every instance from the next event on.
//!
//! ## Example
//! ```no_run
//! use chat_core::{ChatCore, ChatConfig};
//! use chat_core::ids::UserId;
//! use chat_core::socket::auth::{Authenticator, AuthError, AuthFuture, AuthRequest, Identity};
//!
//! struct TokenIsUserId;
//! impl Authenticator for TokenIsUserId {
//!     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
//!         Box::pin(async move {
//!             let id = req.token.and_then(|t| t.parse::<i64>().ok()).ok_or(AuthError::Missing)?;
//!             let id = UserId::try_from(id).map_err(|_| AuthError::Invalid)?;
//!             Ok(Identity { user_id: id, username: format!("user{id}"), session_id: None, expires_at: None })
//!         })
//!     }
//! }
//!
//! # async fn run(db: sea_orm::DatabaseConnection) -> Result<(), Box<dyn std::error::Error>> {
//! let (layer, chat) = ChatCore::builder(db)
//!     .config(ChatConfig::default())
//!     .authenticator(TokenIsUserId)
//!     .build();
//! let app: axum::Router = axum::Router::new().layer(layer);
//! # let _ = (app, chat); Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod cluster;
pub mod config;
pub mod db;
pub mod entity;
pub mod error;
mod fanout;
mod handle;
pub mod ids;
pub mod model;
pub mod protocol;
pub mod push;
pub mod service;
pub mod socket;
mod store;
mod tasks;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod typescript;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{ParserConfig, SocketIo, SocketIoBuilder};

pub use config::{ChatConfig, SocketParser, UnknownParser};
pub use error::{ChatError, ChatResult};
pub use handle::ChatHandle;
/// The socketioxide version chat-core is built on, so hosts can name its types
/// without a second copy.
pub use socketioxide;

/// The socket.io adapter used by [`ChatCoreBuilder::build_with_redis`]: name it
/// when storing the layer that build returns.
///
/// ```no_run
/// use chat_core::cluster::{ClusterError, RedisConfig};
/// use chat_core::socket::ChatLayer;
/// use chat_core::{ChatCore, ChatHandle, RedisChatAdapter};
///
/// async fn start(
///     db: sea_orm::DatabaseConnection,
/// ) -> Result<(ChatLayer<RedisChatAdapter>, ChatHandle), ClusterError> {
///     let redis = RedisConfig::new("redis://127.0.0.1:6379");
///     ChatCore::builder(db).build_with_redis(redis).await
/// }
/// ```
pub type RedisChatAdapter = socketioxide_redis::FredAdapter<socketioxide::adapter::Emitter>;

use cluster::{Cluster, ClusterError, RedisConfig};
use socket::ChatLayer;
use socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator};
use socket::handlers::{AuthState, authenticate, on_connect};
use socketioxide_redis::{RedisAdapterConfig, RedisAdapterCtr};

/// WebSocket read buffer per connection. tungstenite zero-fills it before
/// every read, so all of it is resident for every idle socket; chat frames are
/// a few hundred bytes, and a larger frame only takes a few more reads.
const WS_READ_BUFFER: usize = 512;

/// Binary attachments one Socket.IO packet may announce. No event of the
/// protocol carries any; a few are tolerated so a client library that sends
/// one gets `invalid_payload` rather than a closed connection.
const MAX_ATTACHMENTS: usize = 4;

/// How long the attachments of a binary packet may take to arrive.
const ATTACHMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Entry point: `ChatCore::builder(db)` configures and builds the engine.
///
/// ```no_run
/// use chat_core::{ChatConfig, ChatCore};
/// use migration::{Migrator, MigratorTrait};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let db = sea_orm::Database::connect("postgres://chat@localhost/chat").await?;
/// Migrator::up(&db, None).await?;
/// let (layer, chat) = ChatCore::builder(db).config(ChatConfig::default()).build();
/// # let _ = (layer, chat); Ok(()) }
/// ```
pub struct ChatCore;

impl ChatCore {
    /// Starts building a chat engine on `db`, which must already be migrated
    /// (the `migration` crate). Defaults: [`ChatConfig::default`] and an
    /// authenticator that refuses every handshake.
    ///
    /// ```
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let (layer, chat) = chat_core::ChatCore::builder(db).build();
    /// assert_eq!(chat.config().max_message_chars, 4000);
    /// # drop(layer);
    /// ```
    pub fn builder(db: DatabaseConnection) -> ChatCoreBuilder {
        ChatCoreBuilder {
            db,
            config: ChatConfig::default(),
            authenticator: Arc::new(DenyAll),
            handshake_guard: None,
            push: None,
        }
    }
}

/// Configures and builds the engine. See [`ChatCore::builder`].
///
/// ```
/// use chat_core::{ChatConfig, ChatCore, ChatCoreBuilder};
///
/// fn engine(db: sea_orm::DatabaseConnection) -> ChatCoreBuilder {
///     ChatCore::builder(db).config(ChatConfig { events_per_second: 10, ..Default::default() })
/// }
/// # let (_layer, chat) = engine(Default::default()).build();
/// # assert_eq!(chat.config().events_per_second, 10);
/// ```
pub struct ChatCoreBuilder {
    db: DatabaseConnection,
    config: ChatConfig,
    authenticator: Arc<dyn Authenticator>,
    handshake_guard: Option<Arc<dyn socket::limits::HandshakeGuard>>,
    push: Option<push::PushConfig>,
}

impl ChatCoreBuilder {
    /// Sets the tunables (replacing the defaults).
    ///
    /// ```
    /// use chat_core::{ChatConfig, ChatCore};
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let config = ChatConfig { max_message_chars: 2000, ..Default::default() };
    /// let (_layer, chat) = ChatCore::builder(db).config(config).build();
    /// assert_eq!(chat.config().max_message_chars, 2000);
    /// ```
    pub fn config(mut self, config: ChatConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets who decides the identity of a connecting socket. Without one,
    /// every handshake is refused.
    ///
    /// ```
    /// use chat_core::ChatCore;
    /// use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator};
    ///
    /// /// Stand-in until real token checking is wired up.
    /// struct NoLogins;
    /// impl Authenticator for NoLogins {
    ///     fn authenticate<'a>(&'a self, _req: AuthRequest<'a>) -> AuthFuture<'a> {
    ///         Box::pin(async { Err(AuthError::Unavailable("logins are closed".into())) })
    ///     }
    /// }
    ///
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let (_layer, _chat) = ChatCore::builder(db).authenticator(NoLogins).build();
    /// ```
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Arc::new(authenticator);
        self
    }

    /// Sets who admits Socket.IO handshakes per client and hears of failed
    /// ones (see [`socket::limits`]). Without one, every handshake is
    /// authenticated.
    ///
    /// ```
    /// use chat_core::socket::limits::HandshakeGuard;
    ///
    /// /// Lets everyone try (e.g. a private network), logging failures.
    /// struct LogFailures;
    /// impl HandshakeGuard for LogFailures {
    ///     fn admit(&self, _request: &http::request::Parts) -> bool {
    ///         true
    ///     }
    ///     fn failed(&self, request: &http::request::Parts) {
    ///         eprintln!("refused handshake from {:?}", request.headers.get("x-real-ip"));
    ///     }
    /// }
    ///
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let (_layer, _chat) = chat_core::ChatCore::builder(db).handshake_guard(LogFailures).build();
    /// ```
    pub fn handshake_guard(mut self, guard: impl socket::limits::HandshakeGuard) -> Self {
        self.handshake_guard = Some(Arc::new(guard));
        self
    }

    /// Enables Web Push notifications for members who are not connected
    /// (see [`push`]). Start the senders with [`ChatHandle::start_push`]
    /// once serving.
    ///
    /// ```
    /// use chat_core::ChatCore;
    /// use chat_core::push::{PushConfig, VapidKeys};
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let keys = VapidKeys::generate(); // in production: loaded from configuration
    /// let (_layer, chat) = ChatCore::builder(db)
    ///     .push(PushConfig::new(keys.clone(), "mailto:ops@example.com"))
    ///     .build();
    /// assert_eq!(chat.push_public_key(), Some(keys.public_base64()));
    /// ```
    pub fn push(mut self, config: push::PushConfig) -> Self {
        self.push = Some(config);
        self
    }

    /// Builds the engine on the in-process adapter (one instance).
    ///
    /// Returns the layer serving `/socket.io` and the handle. Needs no async
    /// runtime; the engine's background tasks start on first use and stop
    /// when the last handle is dropped (keep one while serving).
    ///
    /// ```
    /// # let db = sea_orm::DatabaseConnection::default();
    /// let (layer, chat) = chat_core::ChatCore::builder(db).build();
    /// let app: axum::Router = axum::Router::new().layer(layer);
    /// # let _ = (app, chat);
    /// ```
    pub fn build(self) -> (ChatLayer, ChatHandle) {
        let (layer, io, chat) = self.finish(SocketIo::builder(), None);
        io.ns(
            "/",
            on_connect::<LocalAdapter>.with(authenticate::<LocalAdapter>),
        );
        (ChatLayer::new(layer), chat)
    }

    /// Builds the engine on the Redis adapter, for running several instances
    /// behind a load balancer: events reach sockets on every instance, presence
    /// is counted over all of them, and membership changes invalidate every
    /// instance's cache.
    ///
    /// Fails when the URL is invalid or Redis cannot be reached. As with
    /// [`build`](Self::build), the background tasks stop when the last handle
    /// is dropped.
    ///
    /// ```no_run
    /// use chat_core::ChatCore;
    /// use chat_core::cluster::RedisConfig;
    ///
    /// # async fn run(db: sea_orm::DatabaseConnection) -> Result<(), chat_core::cluster::ClusterError> {
    /// let redis = RedisConfig { prefix: "chat-staging".into(), ..RedisConfig::new("redis://redis:6379") };
    /// let (layer, chat) = ChatCore::builder(db).build_with_redis(redis).await?;
    /// let app: axum::Router = axum::Router::new().layer(layer);
    /// # let _ = (app, chat); Ok(()) }
    /// ```
    pub async fn build_with_redis(
        self,
        redis: RedisConfig,
    ) -> Result<(ChatLayer<RedisChatAdapter>, ChatHandle), ClusterError> {
        let cluster = Cluster::connect(&redis).await?;
        let adapter_client = cluster::subscriber(&redis.url)?;
        let adapter_config = RedisAdapterConfig::new()
            .with_prefix(cluster.keys.adapter_prefix())
            .with_stream_buffer(cluster::SUBSCRIBER_CAPACITY);
        let adapter_resubscribe = adapter_client.clone();
        let adapter = RedisAdapterCtr::new_with_fred_config(adapter_client, adapter_config)
            .await
            .map_err(ClusterError::Redis)?;
        let builder = SocketIo::builder().with_adapter::<RedisChatAdapter>(adapter);
        // From here on, an error drops `chat`, which stops the tasks started.
        let (layer, io, chat) = self.finish(builder, Some(cluster));
        io.ns(
            "/",
            on_connect::<RedisChatAdapter>.with(authenticate::<RedisChatAdapter>),
        )
        .await
        .map_err(|e| ClusterError::Adapter(e.to_string()))?;
        let inner = &chat.inner;
        // The adapter has subscribed now: renew its subscriptions after reconnects.
        cluster::keep_subscribed(&adapter_resubscribe, &inner.tasks);
        if let Some(cluster) = &inner.cluster {
            let caches = cluster::InvalidatedCaches {
                membership: inner.membership.clone(),
                sessions: inner.sessions.clone(),
                blocks: inner.blocks.clone(),
                online: inner.online.clone(),
            };
            cluster::spawn_invalidation_listener(cluster, &redis.url, caches, &inner.tasks).await?;
        }
        chat.spawn_presence_tasks();
        Ok((ChatLayer::new(layer), chat))
    }

    fn finish<A: Adapter>(
        self,
        builder: SocketIoBuilder<A>,
        cluster: Option<Cluster>,
    ) -> (SocketIoLayer<A>, SocketIo<A>, ChatHandle) {
        let queue_packets = self.config.socket_queue_packets.max(1);
        let max_payload = self.config.socket_max_payload.max(1);
        let socket_parser = self.config.socket_parser;
        let chat = ChatHandle::new(
            self.db,
            self.config,
            cluster,
            self.handshake_guard,
            self.push,
        );
        // One bound for every way a client can hand the server bytes: the
        // engine's defaults (64 MiB per WebSocket message, 16 MiB per frame,
        // 10 MB of binary attachments) let an unauthenticated socket make the
        // server buffer and parse megabytes before its token is looked at.
        let builder = builder
            .ws_read_buffer_size(WS_READ_BUFFER)
            .max_payload(u64::try_from(max_payload).unwrap_or(u64::MAX))
            .ws_max_message_size(max_payload)
            .ws_max_frame_size(max_payload);
        let builder = match socket_parser {
            SocketParser::Json => builder.with_parser(
                ParserConfig::common()
                    .max_incoming_binary_buf_size(max_payload)
                    .max_incoming_binaries(MAX_ATTACHMENTS)
                    .packet_completion_timeout(ATTACHMENT_TIMEOUT),
            ),
            // A MessagePack packet is one WebSocket message or polling
            // payload, bounded like any other; it has no attachments.
            SocketParser::Msgpack => builder.with_parser(ParserConfig::msgpack()),
        };
        let (layer, io) = builder
            .max_buffer_size(queue_packets)
            // The handlers' handle does not keep the engine's tasks running:
            // the host's handles do (see `ChatHandle`).
            .with_state(chat.engine_handle())
            .with_state(AuthState(self.authenticator))
            .with_state(socket::events::table::<A>())
            .build_layer();
        let emitter: Arc<dyn fanout::Emitter> = Arc::new(fanout::SocketEmitter::new(
            io.clone(),
            chat.inner.tasks.clone(),
            socket_parser,
        ));
        // The handle is new and private to this function: the cell is empty.
        let _ = chat.inner.emitter.set(emitter);
        (layer, io, chat)
    }
}

/// Refuses every handshake: the safe default until the host sets an authenticator.
struct DenyAll;

impl Authenticator for DenyAll {
    fn authenticate<'a>(&'a self, _req: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async { Err(AuthError::Missing) })
    }
}
