//! Running many instances as one: the Redis adapter for socketioxide, presence
//! counted over all instances with expiry, and cache invalidation between
//! instances.
//!
//! Keys and channels (all under the configured prefix `p`, written `{p}` so a
//! Redis Cluster keeps them in one slot):
//! - `p:presence:count:<user>`: the user's sockets over all instances;
//! - `p:presence:inst:<instance>`: hash user -> sockets on that instance;
//! - `p:presence:alive:<instance>`: heartbeat, expires when the instance dies;
//! - `p:presence:instances`: the instances that ever counted sockets;
//! - `p:membership` (pub/sub): conversation ids whose membership changed.
//!
//! A surviving instance that finds another instance's heartbeat expired takes
//! over its counts, once (a `reap` lock), and announces the users who are left
//! with no socket anywhere as offline.
//!
//! Redis may come back empty (a restart without persistence) or an instance
//! may be reaped while merely stalled: every presence update first checks the
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
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{
    ClientLike, EventInterface, HashesInterface, KeysInterface, PubsubInterface, SetsInterface,
    TransactionInterface,
};
use fred::types::config::Config as FredConfig;
use fred::types::scripts::Script;
use fred::types::{Builder, Expiration, RespVersion, SetOptions, Value};

use crate::service::presence::LocalPresence;

/// How chat-core reaches Redis.
///
/// ```
/// let redis = chat_core::cluster::RedisConfig::new("redis://127.0.0.1:6379");
/// assert_eq!(redis.prefix, "chat");
/// ```
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port` (or `redis-cluster://host:port` for a Redis Cluster).
    pub url: String,
    /// Prefix of every key and channel, so several deployments (or tests) can
    /// share one Redis.
    pub prefix: String,
    /// An instance that stops refreshing its heartbeat for this long is
    /// considered dead and its users offline.
    pub presence_ttl: Duration,
}

impl RedisConfig {
    /// Defaults: prefix `chat`, presence TTL 15 s (users of a dead instance go
    /// offline within about 20 s). The URL is only checked when connecting.
    ///
    /// ```
    /// use std::time::Duration;
    /// use chat_core::cluster::RedisConfig;
    ///
    /// let redis = RedisConfig {
    ///     presence_ttl: Duration::from_secs(30),
    ///     ..RedisConfig::new("redis-cluster://10.0.0.5:6379")
    /// };
    /// assert_eq!(redis.prefix, "chat");
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "chat".to_owned(),
            presence_ttl: Duration::from_secs(15),
        }
    }
}

/// Why Redis could not be set up, from
/// [`ChatCoreBuilder::build_with_redis`](crate::ChatCoreBuilder::build_with_redis).
///
/// ```no_run
/// use chat_core::ChatCore;
/// use chat_core::cluster::{ClusterError, RedisConfig};
///
/// # async fn run(db: sea_orm::DatabaseConnection) {
/// match ChatCore::builder(db).build_with_redis(RedisConfig::new("redis://redis:6379")).await {
///     Ok((_layer, _chat)) => { /* serve */ }
///     Err(ClusterError::InvalidUrl(reason)) => eprintln!("fix the Redis URL: {reason}"),
///     Err(err) => eprintln!("redis unavailable: {err}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a Redis URL fred understands.
    #[error("invalid REDIS_URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached or refused a command.
    #[error("redis error: {0}")]
    Redis(#[from] fred::error::Error),
    /// The socket.io adapter could not start.
    #[error("socket.io redis adapter: {0}")]
    Adapter(String),
}

pub(crate) fn fred_config(url: &str) -> Result<FredConfig, ClusterError> {
    let mut config =
        FredConfig::from_url(url).map_err(|e| ClusterError::InvalidUrl(e.to_string()))?;
    // socketioxide-redis needs RESP3.
    config.version = RespVersion::RESP3;
    Ok(config)
}

/// A client builder that survives Redis restarts: reconnect forever with
/// backoff, and never wait on a command longer than a few seconds (so a
/// readiness probe answers 503 instead of hanging while Redis is away).
fn builder(url: &str) -> Result<Builder, ClusterError> {
    let mut builder = Builder::from_config(fred_config(url)?);
    builder
        .set_policy(fred::types::config::ReconnectPolicy::new_exponential(
            0, 100, 2_000, 2,
        ))
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(3);
        })
        .with_performance_config(|p| {
            p.default_command_timeout = Duration::from_secs(3);
        });
    Ok(builder)
}

/// Builds a subscriber client (for the socket.io adapter or our own
/// channels). Call [`keep_subscribed`] once it has subscribed, so its
/// subscriptions are renewed after every reconnect.
pub(crate) fn subscriber(url: &str) -> Result<SubscriberClient, ClusterError> {
    let mut builder = builder(url)?;
    // Every broadcast from another instance passes through this channel; at
    // fred's default of 32 a burst overflows it and the message is lost for
    // every member on this instance.
    builder.with_performance_config(|p| p.broadcast_channel_capacity = SUBSCRIBER_CAPACITY);
    Ok(builder.build_subscriber_client()?)
}

/// Messages from Redis that may wait for the adapter's dispatcher.
pub(crate) const SUBSCRIBER_CAPACITY: usize = 8192;

/// Renews every subscription the client tracks after each reconnect (a Redis
/// restart forgets them all).
///
/// fred's own `manage_subscriptions` stops at the first failing step, and
/// subscribing to an empty list of plain channels fails: a client holding
/// only sharded channels (the socket.io adapter's) was never renewed. Each
/// channel is renewed on its own here, so one failure does not stop the rest,
/// and sharded channels go to the node owning their slot.
pub(crate) fn keep_subscribed(client: &SubscriberClient) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        let mut reconnects = client.reconnect_rx();
        while reconnects.recv().await.is_ok() {
            for channel in client.tracked_channels() {
                if let Err(err) = client.subscribe(channel.to_string()).await {
                    tracing::warn!(%err, %channel, "channel not renewed after reconnect");
                }
            }
            for channel in client.tracked_shard_channels() {
                if let Err(err) = client.ssubscribe(channel.to_string()).await {
                    tracing::warn!(%err, %channel, "sharded channel not renewed after reconnect");
                }
            }
            tracing::info!("redis subscriptions renewed after reconnect");
        }
    })
}

/// Applies one socket opening (+1) or closing (-1) to this instance's counts
/// and the user's total, and returns the new total. Returns nil instead,
/// changing nothing, when this instance's heartbeat key is missing: Redis lost
/// its data (restart without persistence, FLUSHALL) or a survivor reaped this
/// instance, so the counts must be rebuilt from the local sockets first.
const UPDATE_PRESENCE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
local total = redis.call('INCRBY', KEYS[3], ARGV[2])
if total == 0 then redis.call('DEL', KEYS[3]) end
return total
"#;

/// Shared cluster state of one instance.
pub(crate) struct Cluster {
    pub(crate) client: Client,
    pub(crate) prefix: String,
    pub(crate) instance: String,
    pub(crate) ttl: Duration,
    update_presence: Script,
    /// Socket updates take it shared; rebuilding the counts takes it
    /// exclusively, so a rebuild sees the local counts and this instance's
    /// Redis counts at rest.
    presence_lock: tokio::sync::RwLock<()>,
    /// A presence update failed half-way (Redis unreachable): the next
    /// heartbeat rebuilds the counts.
    presence_dirty: AtomicBool,
}

impl Cluster {
    pub(crate) async fn connect(config: &RedisConfig) -> Result<Cluster, ClusterError> {
        let client = builder(&config.url)?.build()?;
        client.init().await?;
        let instance = format!("{:016x}", rand::random::<u64>());
        Ok(Cluster {
            client,
            prefix: config.prefix.clone(),
            instance,
            ttl: config.presence_ttl,
            update_presence: Script::from_lua(UPDATE_PRESENCE),
            presence_lock: tokio::sync::RwLock::new(()),
            presence_dirty: AtomicBool::new(false),
        })
    }

    /// The prefix is a hash tag (`{prefix}`): on a Redis Cluster every key
    /// lands in one slot, so the presence transactions may span keys.
    fn key(&self, parts: &str) -> String {
        format!("{{{}}}:{parts}", self.prefix)
    }

    fn alive_key(&self) -> String {
        self.key(&format!("presence:alive:{}", self.instance))
    }

    fn instance_key(&self) -> String {
        self.key(&format!("presence:inst:{}", self.instance))
    }

    fn count_key(&self, user_id: i64) -> String {
        self.key(&format!("presence:count:{user_id}"))
    }

    pub(crate) fn membership_channel(&self) -> String {
        self.key("membership")
    }

    /// Counts a socket of `user_id` opening or closing, here (`local`) and
    /// over all instances. Returns whether it was the user's first socket
    /// anywhere (opening) or their last (closing).
    pub(crate) async fn socket_changed(
        &self,
        local: &LocalPresence,
        user_id: i64,
        opened: bool,
    ) -> Result<bool, ClusterError> {
        let total = {
            let _shared = self.presence_lock.read().await;
            if opened {
                local.connect(user_id);
            } else {
                local.disconnect(user_id);
            }
            let updated: Result<Option<i64>, _> = self
                .update_presence
                .evalsha_with_reload(
                    &self.client,
                    vec![
                        self.alive_key(),
                        self.instance_key(),
                        self.count_key(user_id),
                    ],
                    vec![user_id, if opened { 1 } else { -1 }],
                )
                .await;
            match updated {
                Ok(total) => total,
                Err(err) => {
                    self.presence_dirty.store(true, Ordering::Relaxed);
                    return Err(err.into());
                }
            }
        };
        let total = match total {
            Some(total) => total,
            None => {
                // The local count already includes this socket.
                self.rebuild_presence(local).await?;
                let total: Option<i64> = self.client.get(self.count_key(user_id)).await?;
                total.unwrap_or(0)
            }
        };
        Ok(if opened { total == 1 } else { total <= 0 })
    }

    /// Refreshes this instance's heartbeat; rebuilds its counts first when
    /// Redis lost them or an update failed.
    pub(crate) async fn heartbeat(&self, local: &LocalPresence) -> Result<(), ClusterError> {
        // XX + GET: refresh only a heartbeat that still exists, and say so.
        let previous: Option<String> = self
            .client
            .set(
                self.alive_key(),
                1,
                Some(Expiration::PX(self.ttl.as_millis() as i64)),
                Some(SetOptions::XX),
                true,
            )
            .await?;
        if previous.is_none() || self.presence_dirty.load(Ordering::Relaxed) {
            self.rebuild_presence(local).await?;
        }
        Ok(())
    }

    /// Makes this instance's counts in Redis match its local sockets: the
    /// instance hash records exactly what this instance added to each user's
    /// total, so the difference is what the totals lack (all of it after Redis
    /// lost its data or a survivor reaped this instance).
    pub(crate) async fn rebuild_presence(&self, local: &LocalPresence) -> Result<(), ClusterError> {
        let _exclusive = self.presence_lock.write().await;
        self.presence_dirty.store(false, Ordering::Relaxed);
        let result = self.rebuild_presence_locked(local).await;
        if result.is_err() {
            self.presence_dirty.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn rebuild_presence_locked(&self, local: &LocalPresence) -> Result<(), ClusterError> {
        let _: () = self
            .client
            .set(
                self.alive_key(),
                1,
                Some(Expiration::PX(self.ttl.as_millis() as i64)),
                None,
                false,
            )
            .await?;
        let _: () = self
            .client
            .sadd(self.key("presence:instances"), self.instance.clone())
            .await?;
        let _: () = self
            .client
            .del(self.key(&format!("presence:reap:{}", self.instance)))
            .await?;
        let recorded: HashMap<String, i64> = self.client.hgetall(self.instance_key()).await?;
        let mut deltas: HashMap<i64, (i64, i64)> = HashMap::new();
        for (user, sockets) in recorded {
            if let Ok(user_id) = user.parse::<i64>() {
                deltas.entry(user_id).or_default().0 = sockets;
            }
        }
        for (user_id, sockets) in local.counts() {
            deltas.entry(user_id).or_default().1 = sockets as i64;
        }
        deltas.retain(|_, (recorded, wanted)| recorded != wanted);
        if deltas.is_empty() {
            return Ok(());
        }
        tracing::info!(users = deltas.len(), "presence counts rebuilt in redis");
        let trx = self.client.multi();
        for (user_id, (recorded, wanted)) in deltas {
            if wanted == 0 {
                let _: () = trx.hdel(self.instance_key(), user_id.to_string()).await?;
            } else {
                let _: () = trx
                    .hset(self.instance_key(), (user_id.to_string(), wanted))
                    .await?;
            }
            let _: () = trx
                .incr_by(self.count_key(user_id), wanted - recorded)
                .await?;
        }
        let _: Value = trx.exec(true).await?;
        Ok(())
    }

    /// Takes over the counts of instances whose heartbeat expired; returns the
    /// users left with no socket anywhere.
    pub(crate) async fn reap_dead_instances(&self) -> Result<Vec<i64>, ClusterError> {
        let instances: Vec<String> = self.client.smembers(self.key("presence:instances")).await?;
        let mut offline = Vec::new();
        for instance in instances {
            if instance == self.instance {
                continue;
            }
            let alive: i64 = self
                .client
                .exists(self.key(&format!("presence:alive:{instance}")))
                .await?;
            if alive > 0 {
                continue;
            }
            // Only one survivor reaps a dead instance.
            let claimed: Option<String> = self
                .client
                .set(
                    self.key(&format!("presence:reap:{instance}")),
                    self.instance.clone(),
                    Some(Expiration::PX(60_000)),
                    Some(SetOptions::NX),
                    false,
                )
                .await?;
            if claimed.is_none() {
                continue;
            }
            let inst_key = self.key(&format!("presence:inst:{instance}"));
            let counts: HashMap<String, i64> = self.client.hgetall(&inst_key).await?;
            for (user, sockets) in counts {
                let Ok(user_id) = user.parse::<i64>() else {
                    continue;
                };
                if sockets <= 0 {
                    continue;
                }
                let left: i64 = self
                    .client
                    .decr_by(self.key(&format!("presence:count:{user_id}")), sockets)
                    .await?;
                if left <= 0 {
                    offline.push(user_id);
                }
            }
            let _: () = self.client.del(inst_key).await?;
            let _: () = self
                .client
                .srem(self.key("presence:instances"), instance)
                .await?;
        }
        Ok(offline)
    }

    /// Tells every instance that a conversation's membership changed.
    pub(crate) async fn publish_membership_change(&self, conversation_id: i64) {
        let sent: Result<i64, _> = self
            .client
            .publish(self.membership_channel(), conversation_id.to_string())
            .await;
        if let Err(err) = sent {
            tracing::warn!(%err, conversation_id, "membership invalidation not published");
        }
    }
}

/// Subscribes to membership changes published by any instance and applies
/// them to `cache` until the engine is dropped.
pub(crate) async fn spawn_membership_listener(
    url: &str,
    channel: String,
    chat: std::sync::Weak<crate::handle::Inner>,
) -> Result<(), ClusterError> {
    let subscriber = subscriber(url)?;
    let mut messages = subscriber.message_rx();
    subscriber.init().await?;
    subscriber.subscribe(channel.clone()).await?;
    let _resubscribe = keep_subscribed(&subscriber);
    tokio::spawn(async move {
        // Owning the client keeps the subscription alive.
        let _subscriber = subscriber;
        loop {
            let message = messages.recv().await;
            let Some(inner) = chat.upgrade() else { break };
            match message {
                Ok(message) if *message.channel == *channel => {
                    if let Some(id) = message.value.as_string().and_then(|v| v.parse().ok()) {
                        inner.membership.invalidate(id);
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Some invalidations were missed: forget everything.
                    inner.membership.clear();
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    Ok(())
}
