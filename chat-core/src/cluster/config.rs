//! What a host chooses about Redis ([`RedisConfig`]) and what can go wrong
//! setting it up ([`ClusterError`]); URLs are shown without credentials
//! ([`redact_url`]).
use std::time::Duration;

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
