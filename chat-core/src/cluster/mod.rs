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
//! - `p:presence:batch:<instance>`: sequence number and answer of the
//!   instance's last presence write;
//! - `p:membership` (pub/sub): conversation ids whose membership changed;
//! - `p:sessions` (pub/sub): ended login sessions (`s:<session>`) and users
//!   whose sessions all ended (`u:<user>`), dropped from every instance's
//!   session cache.
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
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{
    ClientLike, EventInterface, HashesInterface, KeysInterface, PubsubInterface, SetsInterface,
};
use fred::types::config::Config as FredConfig;
use fred::types::scripts::Script;
use fred::types::{Builder, Expiration, RespVersion, SetOptions, Value};

use crate::service::presence::LocalPresence;

/// How chat-core reaches Redis. Its `Debug` form hides the URL's credentials.
///
/// ```
/// let redis = chat_core::cluster::RedisConfig::new("redis://:s3cret@127.0.0.1:6379");
/// assert_eq!(redis.prefix, "chat");
/// assert!(!format!("{redis:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://host:port` (or `redis-cluster://host:port` for a Redis
    /// Cluster); with a password `redis://:PASSWORD@host:port` (AUTH on
    /// connect, and `redis://USER:PASSWORD@host:port` for an ACL user).
    pub url: String,
    /// Prefix of every key and channel, so several deployments (or tests) can
    /// share one Redis.
    pub prefix: String,
    /// An instance that stops refreshing its heartbeat for this long is
    /// considered dead and its users offline.
    pub presence_ttl: Duration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("presence_ttl", &self.presence_ttl)
            .finish()
    }
}

/// The URL with its user and password replaced by `***`, for logs.
///
/// ```
/// use chat_core::cluster::redact_url;
/// assert_eq!(redact_url("redis://:pw@redis:6379"), "redis://***@redis:6379");
/// assert_eq!(redact_url("redis://redis:6379"), "redis://redis:6379");
/// ```
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
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
    let mut config = FredConfig::from_url(url).map_err(|e| {
        // fred's message may quote the URL: keep the password out of it.
        let message = e.to_string();
        let message = match url_password(url) {
            Some(password) if !password.is_empty() => message.replace(password, "***"),
            _ => message,
        };
        ClusterError::InvalidUrl(message)
    })?;
    // socketioxide-redis needs RESP3.
    config.version = RespVersion::RESP3;
    Ok(config)
}

/// The password part of `scheme://[user]:password@host`, if any.
fn url_password(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let userinfo = &rest[..rest.rfind('@')?];
    userinfo.split_once(':').map(|(_, password)| password)
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

/// Users written to Redis in one script call: large enough that a burst of
/// thousands of sockets takes a handful of calls, small enough that one call
/// holds Redis for a few milliseconds only.
const PRESENCE_BATCH: usize = 1000;

/// Writes this instance's socket counts of many users at once and returns,
/// per user, the user's total over all instances before and after.
///
/// The counts are absolute (what this instance has now), not deltas, and a
/// call that timed out (it may or may not have run) is sent again as it was:
/// the batch's sequence number makes the script answer what it answered the
/// first time (the transitions happened then; computed again they would be
/// lost when another instance changed the user's total meanwhile), and drop a
/// call older than the last (a command replayed after a reconnect).
/// "Before" is taken from what the instance believes it had written, so after
/// Redis lost its data a restored user is no transition, and a user who closed
/// their last socket meanwhile still is one.
///
/// Returns `rebuild` instead, changing nothing, when this instance's heartbeat
/// key is missing (Redis lost its data or a survivor reaped this instance):
/// every user must then be written, with `ARGV[2] == '1'`, which registers the
/// instance again.
///
/// KEYS: alive, instance hash, batch state, instances set, reap lock, then one
/// count key per user. ARGV: seq, rebuild flag, TTL in ms, instance id, then
/// (user, sockets here now, sockets here last written) per user.
const WRITE_PRESENCE: &str = r#"
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[4])
  redis.call('DEL', KEYS[5])
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 'rebuild'
end
local seq = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
if seq == last then return cjson.decode(redis.call('HGET', KEYS[3], 'result')) end
if seq < last then return {} end
local out = {}
for i = 6, #KEYS do
  local a = 5 + (i - 6) * 3
  local user = ARGV[a]
  local wanted = tonumber(ARGV[a + 1])
  local believed = tonumber(ARGV[a + 2])
  local recorded = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  local total
  if wanted ~= recorded then
    if wanted == 0 then
      redis.call('HDEL', KEYS[2], user)
    else
      redis.call('HSET', KEYS[2], user, wanted)
    end
    total = redis.call('INCRBY', KEYS[i], wanted - recorded)
    if total == 0 then redis.call('DEL', KEYS[i]) end
  else
    total = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  out[#out + 1] = total - (wanted - believed)
  out[#out + 1] = total
end
redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'result', cjson.encode(out))
return out
"#;

/// Users whose sockets on this instance changed since their counts were last
/// written to Redis. Socket events only mark the user here; one writer task
/// ([`Cluster::flush_presence`]) writes the marked users in batches, so a
/// burst of thousands of sockets opening or closing is a few Redis calls
/// instead of thousands queued behind each other (which timed out).
#[derive(Default)]
pub(crate) struct PendingPresence {
    /// User id -> username (for the announcement).
    users: std::sync::Mutex<HashMap<i64, String>>,
    /// Everything must be written again (Redis lost this instance's counts).
    rebuild: AtomicBool,
    /// The writer is writing (for a shutdown waiting until all is written).
    writing: AtomicBool,
    /// Batches of changes written but not yet announced.
    pub(crate) announcing: std::sync::atomic::AtomicUsize,
    /// Wakes the writer.
    pub(crate) wake: tokio::sync::Notify,
}

impl PendingPresence {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<i64, String>> {
        // A panic while holding the lock left a valid map.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark(&self, user_id: i64, username: &str) {
        self.users()
            .entry(user_id)
            .or_insert_with(|| username.to_owned());
        self.wake.notify_one();
    }

    fn request_rebuild(&self) {
        self.rebuild.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether something waits to be written.
    pub(crate) fn has_work(&self) -> bool {
        self.rebuild.load(Ordering::Acquire) || !self.users().is_empty()
    }

    /// Whether everything marked so far is in Redis and announced.
    pub(crate) fn is_idle(&self) -> bool {
        !self.has_work()
            && !self.writing.load(Ordering::Acquire)
            && self.announcing.load(Ordering::Acquire) == 0
    }
}

/// A user's first socket over all instances opened (`online`), or their last
/// closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresenceChange {
    pub(crate) user_id: i64,
    pub(crate) username: String,
    pub(crate) online: bool,
}

/// The writer's memory of what it wrote: owned by the one writer task.
#[derive(Default)]
pub(crate) struct PresenceWriter {
    /// Sockets per user as last written to this instance's hash.
    written: HashMap<i64, usize>,
    /// Usernames of the users in `written` or pending.
    names: HashMap<i64, String>,
    seq: u64,
    /// A batch whose call failed: sent again, unchanged, before anything else.
    retry: Option<Batch>,
}

impl PresenceWriter {
    /// Whether a failed batch waits to be sent again.
    pub(crate) fn has_retry(&self) -> bool {
        self.retry.is_some()
    }
}

/// One script call's worth of users.
struct Batch {
    seq: u64,
    rebuild: bool,
    /// (user, sockets here now, sockets here last written).
    counts: Vec<(i64, usize, usize)>,
}

/// What one script call answered.
enum Written {
    /// (before, after) totals per user, in the order sent.
    Totals(Vec<(i64, i64)>),
    /// The heartbeat key is missing: write everything again.
    Rebuild,
}

/// Shared cluster state of one instance.
pub(crate) struct Cluster {
    pub(crate) client: Client,
    pub(crate) prefix: String,
    pub(crate) instance: String,
    pub(crate) ttl: Duration,
    write_presence: Script,
    pub(crate) pending: std::sync::Arc<PendingPresence>,
}

impl Cluster {
    pub(crate) async fn connect(config: &RedisConfig) -> Result<Cluster, ClusterError> {
        let client = builder(&config.url)?.build()?;
        client.init().await?;
        let instance = format!("{:016x}", rand::random::<u64>());
        let pending = std::sync::Arc::new(PendingPresence::default());
        // The first write registers the instance and its heartbeat.
        pending.rebuild.store(true, Ordering::Release);
        Ok(Cluster {
            client,
            prefix: config.prefix.clone(),
            instance,
            ttl: config.presence_ttl,
            write_presence: Script::from_lua(WRITE_PRESENCE),
            pending,
        })
    }

    /// The prefix is a hash tag (`{prefix}`): on a Redis Cluster every key
    /// lands in one slot, so the presence scripts may span keys.
    fn key(&self, parts: &str) -> String {
        format!("{{{}}}:{parts}", self.prefix)
    }

    fn alive_key(&self) -> String {
        self.key(&format!("presence:alive:{}", self.instance))
    }

    fn instance_key(&self) -> String {
        self.key(&format!("presence:inst:{}", self.instance))
    }

    fn batch_key(&self, instance: &str) -> String {
        self.key(&format!("presence:batch:{instance}"))
    }

    fn count_key(&self, user_id: i64) -> String {
        self.key(&format!("presence:count:{user_id}"))
    }

    pub(crate) fn membership_channel(&self) -> String {
        self.key("membership")
    }

    pub(crate) fn sessions_channel(&self) -> String {
        self.key("sessions")
    }

    /// Notes that a socket of the user opened or closed here (the local count
    /// is already updated); the writer task brings Redis up to date and
    /// announces the user when their presence over all instances changed.
    pub(crate) fn socket_changed(&self, user_id: i64, username: &str) {
        self.pending.mark(user_id, username);
    }

    /// Refreshes this instance's heartbeat; has the writer rewrite all counts
    /// when the heartbeat was gone (Redis lost them, or this instance was
    /// reaped while stalled).
    pub(crate) async fn heartbeat(&self) -> Result<(), ClusterError> {
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
        if previous.is_none() {
            self.pending.request_rebuild();
        }
        Ok(())
    }

    /// Writes the pending users' counts (all users' on a rebuild) to Redis in
    /// batches and pushes onto `changes` the users whose presence over all
    /// instances changed. Only one task may call it (it owns `writer`).
    ///
    /// On an error the users not yet written are pending again, with their
    /// then current counts: nothing is lost, and since counts are absolute a
    /// batch that timed out but ran is not counted twice.
    pub(crate) async fn flush_presence(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        self.pending.writing.store(true, Ordering::Release);
        let result = self.flush_presence_once(local, writer, changes).await;
        // A batch to send again is not written yet.
        self.pending
            .writing
            .store(writer.retry.is_some(), Ordering::Release);
        result
    }

    async fn flush_presence_once(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        if let Some(batch) = writer.retry.take()
            && !self.send_batch(writer, batch, changes).await?
        {
            return Ok(());
        }
        let rebuild = self.pending.rebuild.swap(false, Ordering::AcqRel);
        // Taken before the local counts are read: a socket event after this
        // marks its user again, so no change is missed.
        let taken = std::mem::take(&mut *self.pending.users());
        let mut users: Vec<i64> = taken.keys().copied().collect();
        writer.names.extend(taken);
        if rebuild {
            let recorded: HashMap<String, i64> =
                match self.client.hgetall(self.instance_key()).await {
                    Ok(recorded) => recorded,
                    Err(err) => {
                        self.requeue(writer, &users, true);
                        return Err(err.into());
                    }
                };
            // A survivor took this instance for dead (a stall) and announced
            // its users offline: nothing of what it wrote is left, and the
            // users still here are announced online again.
            let reaper: Result<Option<String>, _> = self
                .client
                .get(self.key(&format!("presence:reap:{}", self.instance)))
                .await;
            let reaped = match reaper {
                Ok(reaper) => reaper.is_some(),
                Err(err) => {
                    self.requeue(writer, &users, true);
                    return Err(err.into());
                }
            };
            let mut all: std::collections::HashSet<i64> = users.drain(..).collect();
            all.extend(recorded.keys().filter_map(|u| u.parse::<i64>().ok()));
            all.extend(writer.written.keys().copied());
            all.extend(local.counts().into_iter().map(|(user_id, _)| user_id));
            users = all.into_iter().collect();
            if reaped {
                tracing::warn!("this instance was reaped: announcing its users again");
                writer.written.clear();
            }
            tracing::info!(users = users.len(), "rewriting presence counts in redis");
        }
        let mut first = true;
        let mut done = 0;
        while first || done < users.len() {
            let chunk = &users[done..(done + PRESENCE_BATCH).min(users.len())];
            writer.seq += 1;
            let batch = Batch {
                seq: writer.seq,
                rebuild: rebuild && first,
                counts: chunk
                    .iter()
                    .map(|&user_id| {
                        let written = writer.written.get(&user_id).copied().unwrap_or(0);
                        (user_id, local.sockets(user_id), written)
                    })
                    .collect(),
            };
            first = false;
            done += chunk.len();
            let sent = self.send_batch(writer, batch, changes).await;
            if !matches!(sent, Ok(true)) {
                self.requeue(writer, &users[done..], false);
                return sent.map(|_| ());
            }
        }
        Ok(())
    }

    /// Sends one batch and records its answer; returns whether the writer may
    /// go on. A failed batch is kept to be sent again as it is; when the
    /// heartbeat key is missing, its users are pending again for a rebuild.
    async fn send_batch(
        &self,
        writer: &mut PresenceWriter,
        batch: Batch,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<bool, ClusterError> {
        match self.write_batch(&batch).await {
            Ok(Written::Totals(totals)) => {
                for (&(user_id, wanted, _), &(before, after)) in batch.counts.iter().zip(&totals) {
                    self.record(writer, user_id, wanted, before, after, changes);
                }
                Ok(true)
            }
            Ok(Written::Rebuild) => {
                let users: Vec<i64> = batch.counts.iter().map(|c| c.0).collect();
                self.requeue(writer, &users, true);
                Ok(false)
            }
            Err(err) => {
                writer.retry = Some(batch);
                Err(err)
            }
        }
    }

    /// The users' sockets over all instances, as Redis has them now.
    pub(crate) async fn totals(&self, users: &[i64]) -> Result<Vec<i64>, ClusterError> {
        let mut totals = Vec::with_capacity(users.len());
        for chunk in users.chunks(PRESENCE_BATCH) {
            let keys: Vec<String> = chunk.iter().map(|&u| self.count_key(u)).collect();
            let values: Vec<Option<i64>> = self.client.mget(keys).await?;
            totals.extend(values.into_iter().map(|v| v.unwrap_or(0)));
        }
        Ok(totals)
    }

    /// Marks users pending again after a failed or refused write.
    fn requeue(&self, writer: &PresenceWriter, users: &[i64], rebuild: bool) {
        {
            let mut pending = self.pending.users();
            for user_id in users {
                if let Some(name) = writer.names.get(user_id) {
                    pending.entry(*user_id).or_insert_with(|| name.clone());
                }
            }
        }
        if rebuild {
            self.pending.request_rebuild();
        }
    }

    /// Remembers what was written for a user and whether their presence over
    /// all instances changed.
    fn record(
        &self,
        writer: &mut PresenceWriter,
        user_id: i64,
        wanted: usize,
        before: i64,
        after: i64,
        changes: &mut Vec<PresenceChange>,
    ) {
        let online = match (before > 0, after > 0) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        };
        let username = if wanted == 0 {
            writer.written.remove(&user_id);
            writer.names.remove(&user_id)
        } else {
            writer.written.insert(user_id, wanted);
            writer.names.get(&user_id).cloned()
        };
        if let (Some(online), Some(username)) = (online, username) {
            changes.push(PresenceChange {
                user_id,
                username,
                online,
            });
        }
    }

    async fn write_batch(&self, batch: &Batch) -> Result<Written, ClusterError> {
        let counts = &batch.counts;
        let mut keys = Vec::with_capacity(counts.len() + 5);
        keys.push(self.alive_key());
        keys.push(self.instance_key());
        keys.push(self.batch_key(&self.instance));
        keys.push(self.key("presence:instances"));
        keys.push(self.key(&format!("presence:reap:{}", self.instance)));
        let mut args = Vec::with_capacity(counts.len() * 3 + 4);
        args.push(batch.seq.to_string());
        args.push(if batch.rebuild { "1" } else { "0" }.to_owned());
        args.push(self.ttl.as_millis().to_string());
        args.push(self.instance.clone());
        for &(user_id, wanted, written) in counts.iter() {
            keys.push(self.count_key(user_id));
            args.push(user_id.to_string());
            args.push(wanted.to_string());
            args.push(written.to_string());
        }
        let reply: Value = self
            .write_presence
            .evalsha_with_reload(&self.client, keys, args)
            .await?;
        let items = match reply {
            Value::Array(items) => items,
            // An empty table may come back as nil.
            Value::Null => Vec::new(),
            other if other.as_str().as_deref() == Some("rebuild") => return Ok(Written::Rebuild),
            other => return Err(unexpected_reply(&other)),
        };
        let numbers: Option<Vec<i64>> = items.iter().map(Value::as_i64).collect();
        let numbers = match numbers {
            Some(numbers) if numbers.len() == counts.len() * 2 => numbers,
            _ => return Err(unexpected_reply(&Value::Array(items))),
        };
        Ok(Written::Totals(
            numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        ))
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
            let _: () = self.client.del(self.batch_key(&instance)).await?;
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

impl Cluster {
    /// Tells every instance that a session (or all of a user's) ended; see
    /// [`sessions`](crate::service::sessions).
    pub(crate) async fn publish_session_change(&self, message: String) {
        let sent: Result<i64, _> = self.client.publish(self.sessions_channel(), message).await;
        if let Err(err) = sent {
            tracing::warn!(%err, "session invalidation not published");
        }
    }
}

fn unexpected_reply(reply: &Value) -> ClusterError {
    ClusterError::Redis(fred::error::Error::new(
        fred::error::ErrorKind::Parse,
        format!("unexpected presence script reply: {reply:?}"),
    ))
}

/// Subscribes to membership and session changes published by any instance
/// and applies them to the caches until the engine is dropped.
///
/// Changes published while the subscriber was disconnected are lost, so both
/// caches are cleared after every reconnect, once the channels are subscribed
/// again (an entry loaded before that could already be stale).
pub(crate) async fn spawn_membership_listener(
    url: &str,
    channel: String,
    sessions_channel: String,
    chat: std::sync::Weak<crate::handle::Inner>,
) -> Result<(), ClusterError> {
    use tokio::sync::broadcast::error::RecvError;

    let subscriber = subscriber(url)?;
    let mut messages = subscriber.message_rx();
    let mut reconnects = subscriber.reconnect_rx();
    subscriber.init().await?;
    subscriber.subscribe(channel.clone()).await?;
    subscriber.subscribe(sessions_channel.clone()).await?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = messages.recv() => {
                    let Some(inner) = chat.upgrade() else { break };
                    match message {
                        Ok(message) if *message.channel == *channel => {
                            if let Some(id) = message.value.as_string().and_then(|v| v.parse().ok()) {
                                inner.membership.invalidate(id);
                            }
                        }
                        Ok(message) if *message.channel == *sessions_channel => {
                            if let Some(change) = message.value.as_string() {
                                inner.sessions.apply(&change);
                            }
                        }
                        Ok(_) => {}
                        // Some invalidations were missed: forget everything.
                        Err(RecvError::Lagged(_)) => {
                            inner.membership.clear();
                            inner.sessions.clear();
                        }
                        Err(RecvError::Closed) => break,
                    }
                }
                reconnected = reconnects.recv() => {
                    if matches!(reconnected, Err(RecvError::Closed)) {
                        break;
                    }
                    for name in [&channel, &sessions_channel] {
                        if let Err(err) = subscriber.subscribe(name.clone()).await {
                            tracing::warn!(%err, channel = %name, "channel not renewed after reconnect");
                        }
                    }
                    let Some(inner) = chat.upgrade() else { break };
                    inner.membership.clear();
                    inner.sessions.clear();
                    tracing::info!("membership and session caches cleared after a redis reconnect");
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests;
