//! Running many instances as one: the Redis adapter for socketioxide, presence
//! counted over all instances with expiry, and cache invalidation between
//! instances.
//!
//! Every key and channel is named in `keys`. Files of this module:
//! - `config`: [`RedisConfig`], [`ClusterError`], [`redact_url`];
//! - `connection`: client builders and the renewal of subscriptions;
//! - `keys`: the name of every key and channel;
//! - `presence`: presence marks and counts (`presence/script`: the Redis
//!   script and its batches; `presence/writer`: the writer side);
//! - `reaper`: heartbeats and the takeover of dead instances;
//! - `invalidation`: membership and session changes between instances;
//! - `calls`: calls in progress, shared by every instance.
//!
//! A surviving instance that finds another instance's heartbeat expired takes
//! over its counts, once (a `reap` lock), and announces the users who are left
//! with no socket anywhere as offline.
//!
//! Socket events do not go to Redis one by one: they mark their user, and one
//! writer task per instance writes the marked users' absolute counts in
//! batches (a burst of thousands of sockets is a few script calls, and a call
//! that failed is written again without counting anything twice).
//!
//! Redis may come back empty (a restart without persistence) or an instance
//! may be reaped while merely stalled: every presence write first checks the
//! instance's own heartbeat key, and when it is gone the instance rewrites its
//! counts from its local sockets before going on. Subscriptions (the adapter's
//! and ours) are renewed after every reconnect.
//!
//! Hosts only choose a [`RedisConfig`] and call
//! [`ChatCoreBuilder::build_with_redis`](crate::ChatCoreBuilder::build_with_redis);
//! everything else is internal.
//!
//! ```no_run
//! use chat_core::ChatCore;
//! use chat_core::cluster::RedisConfig;
//!
//! # async fn run(db: sea_orm::DatabaseConnection) -> Result<(), Box<dyn std::error::Error>> {
//! let (layer, chat) = ChatCore::builder(db)
//!     .build_with_redis(RedisConfig::new("redis://127.0.0.1:6379"))
//!     .await?;
//! assert_eq!(chat.redis_ready().await, Some(true));
//! # let _ = layer; Ok(()) }
//! ```
pub(crate) mod calls;
mod config;
mod connection;
mod invalidation;
pub(crate) mod keys;
mod presence;
mod reaper;

use std::sync::Arc;
use std::time::Duration;

use fred::clients::Client;
use fred::interfaces::ClientLike;
use fred::types::scripts::Script;

pub use config::{ClusterError, RedisConfig, redact_url};
pub(crate) use connection::{SUBSCRIBER_CAPACITY, keep_subscribed, subscriber};
pub(crate) use invalidation::{InvalidatedCaches, spawn_invalidation_listener};
use keys::Keys;
use presence::WRITE_PRESENCE;
pub(crate) use presence::{PendingPresence, PresenceChange, PresenceWriter};

/// Shared cluster state of one instance.
pub(crate) struct Cluster {
    pub(crate) client: Client,
    /// Names of the keys and channels under the configured prefix.
    pub(crate) keys: Keys,
    pub(crate) instance: String,
    pub(crate) ttl: Duration,
    write_presence: Script,
    pub(crate) pending: Arc<PendingPresence>,
}

impl Cluster {
    pub(crate) async fn connect(config: &RedisConfig) -> Result<Cluster, ClusterError> {
        let client = connection::builder(&config.url)?.build()?;
        client.init().await?;
        let instance = format!("{:016x}", rand::random::<u64>());
        let pending = Arc::new(PendingPresence::default());
        // The first write registers the instance and its heartbeat.
        pending.request_rebuild();
        Ok(Cluster {
            client,
            keys: Keys::new(&config.prefix),
            instance,
            ttl: config.presence_ttl,
            write_presence: Script::from_lua(WRITE_PRESENCE),
            pending,
        })
    }
}

#[cfg(test)]
mod tests;
