//! # chat-core
//!
//! A Socket.IO-compatible chat engine: users, direct and group conversations,
//! public rooms, messages with per-conversation ordering (`seq`), served over
//! [`socketioxide`] and persisted with [`sea_orm`] on PostgreSQL or SQLite.
//! Existing `socket.io-client` frontends connect to it unchanged.
//!
//! chat-core reads no environment and owns no HTTP routes. The host gives it a
//! [`ChatConfig`], a database connection and an [`Authenticator`](socket::auth::Authenticator),
//! and gets back a tower layer serving `/socket.io` plus a [`ChatHandle`] to call
//! (`send_message`, `list_conversations`, ...).
//!
//! ## Contents
//! - [`ChatCore`]: the builder.
//! - [`ChatHandle`]: every operation; socket handlers and REST handlers call the same methods.
//! - [`model`]: wire types; [`socket::events`]: event names and ack format.
//! - [`service`]: request types of the operations.
//! - [`entity`]: sea-orm entities of the schema (created by the `migration` crate).
//! - [`ChatError`]: failures, each with a stable `code`.
//!
//! ## Example
//! ```no_run
//! use chat_core::{ChatCore, ChatConfig};
//! use chat_core::socket::auth::{Authenticator, AuthError, AuthFuture, AuthRequest, Identity};
//!
//! struct TokenIsUserId;
//! impl Authenticator for TokenIsUserId {
//!     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
//!         Box::pin(async move {
//!             let id: i64 = req.token.and_then(|t| t.parse().ok()).ok_or(AuthError::Missing)?;
//!             Ok(Identity { user_id: id, username: format!("user{id}"), session_id: None })
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
pub mod entity;
pub mod error;
mod handle;
pub mod model;
pub mod service;
pub mod socket;
#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{SocketIo, SocketIoBuilder};

pub use config::ChatConfig;
pub use error::{ChatError, ChatResult};
pub use handle::ChatHandle;
pub use socketioxide;

/// The socket.io adapter used by [`ChatCoreBuilder::build_with_redis`].
pub type RedisChatAdapter = socketioxide_redis::FredAdapter<socketioxide::adapter::Emitter>;

use cluster::{Cluster, ClusterError, RedisConfig};
use socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator};
use socket::handlers::{AuthState, authenticate, on_connect};
use socketioxide_redis::{RedisAdapterConfig, RedisAdapterCtr};

/// Entry point: `ChatCore::builder(db)`.
pub struct ChatCore;

impl ChatCore {
    /// Starts building a chat engine on `db` (already migrated).
    pub fn builder(db: DatabaseConnection) -> ChatCoreBuilder {
        ChatCoreBuilder {
            db,
            config: ChatConfig::default(),
            authenticator: Arc::new(DenyAll),
        }
    }
}

/// Configures and builds the engine. See [`ChatCore::builder`].
pub struct ChatCoreBuilder {
    db: DatabaseConnection,
    config: ChatConfig,
    authenticator: Arc<dyn Authenticator>,
}

impl ChatCoreBuilder {
    /// Sets the tunables.
    pub fn config(mut self, config: ChatConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets who decides the identity of a connecting socket. Without one,
    /// every handshake is refused.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Arc::new(authenticator);
        self
    }

    /// Builds the engine on the in-process adapter (one instance).
    ///
    /// Returns the layer serving `/socket.io` and the handle.
    pub fn build(self) -> (SocketIoLayer, ChatHandle) {
        let (layer, io, chat) = self.finish(SocketIo::builder(), None);
        io.ns(
            "/",
            on_connect::<LocalAdapter>.with(authenticate::<LocalAdapter>),
        );
        (layer, chat)
    }

    /// Builds the engine on the Redis adapter, for running several instances
    /// behind a load balancer: events reach sockets on every instance, presence
    /// is counted over all of them, and membership changes invalidate every
    /// instance's cache.
    pub async fn build_with_redis(
        self,
        redis: RedisConfig,
    ) -> Result<(SocketIoLayer<RedisChatAdapter>, ChatHandle), ClusterError> {
        let cluster = Cluster::connect(&redis).await?;
        let adapter_client = cluster::subscriber(&redis.url)?;
        let adapter_config = RedisAdapterConfig::new().with_prefix(format!("{}:sio", redis.prefix));
        let adapter = RedisAdapterCtr::new_with_fred_config(adapter_client, adapter_config)
            .await
            .map_err(ClusterError::Redis)?;
        let channel = cluster.membership_channel();
        let builder = SocketIo::builder().with_adapter::<RedisChatAdapter>(adapter);
        let (layer, io, chat) = self.finish(builder, Some(cluster));
        io.ns(
            "/",
            on_connect::<RedisChatAdapter>.with(authenticate::<RedisChatAdapter>),
        )
        .await
        .map_err(|e| ClusterError::Adapter(e.to_string()))?;
        cluster::spawn_membership_listener(&redis.url, channel, Arc::downgrade(&chat.inner))
            .await?;
        chat.spawn_presence_tasks();
        Ok((layer, chat))
    }

    fn finish<A: Adapter>(
        self,
        builder: SocketIoBuilder<A>,
        cluster: Option<Cluster>,
    ) -> (SocketIoLayer<A>, SocketIo<A>, ChatHandle) {
        let chat = ChatHandle::new(self.db, self.config, cluster);
        let (layer, io) = builder
            .ws_read_buffer_size(4096)
            .with_state(chat.clone())
            .with_state(AuthState(self.authenticator))
            .build_layer();
        let emitter: Arc<dyn socket::emitter::Emitter> = Arc::new(io.clone());
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
