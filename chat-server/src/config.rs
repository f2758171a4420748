//! Server configuration: command-line flags, each also read from the environment.
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Deployment environment; `production` refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    /// Local development: generated secrets are allowed (with a warning).
    Development,
    /// Tests.
    Test,
    /// Production: a JWT secret of at least 32 bytes is required.
    Production,
}

/// Configuration of chat-server. Every flag can be given as an environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chat-server",
    version,
    about = "Real-time chat server (REST + Socket.IO)"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,
    /// Database URL: `postgres://...` or `sqlite://...`; default: a SQLite file in DATA_DIR.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Most connections in the database pool [default: 32 on PostgreSQL, 8 on SQLite]. The
    /// instances sharing one PostgreSQL server must stay under its `max_connections` (100 by
    /// default) together: an instance that cannot open a connection it needs fails requests
    /// and socket handshakes after DATABASE_ACQUIRE_TIMEOUT.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub database_max_connections: Option<u32>,
    /// Seconds an operation waits for a database connection (all busy, or the database down or
    /// restarting) before it fails with `unavailable` (503, or a failed ack).
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub database_acquire_timeout: u64,
    /// Redis URL (`redis://...`, with a password `redis://:PASSWORD@host:6379`): enables the
    /// Redis adapter for running many instances. Never logged with its password.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel (several deployments can share a Redis).
    #[arg(long, env = "REDIS_PREFIX", default_value = "chat")]
    pub redis_prefix: String,
    /// Seconds after which the users of an instance that stopped without a
    /// goodbye are reported offline by the others (about this plus a third).
    #[arg(long, env = "PRESENCE_TTL", default_value_t = 15)]
    pub presence_ttl: u64,
    /// Presence is announced in direct conversations and in groups of at most
    /// this many members (larger rooms would flood everyone).
    #[arg(long, env = "PRESENCE_FANOUT_LIMIT", default_value_t = 100)]
    pub presence_fanout_limit: usize,
    /// Most `member_ids` a group may be created with; others are added one by one afterwards.
    #[arg(long, env = "GROUP_MAX_INITIAL_MEMBERS", default_value_t = 100)]
    pub group_max_initial_members: usize,
    /// Groups (and public rooms) one user may create per rolling hour (0: no limit).
    #[arg(long, env = "GROUPS_PER_HOUR", default_value_t = 20)]
    pub groups_per_hour: u32,
    /// Seconds after sending during which a message may be edited (0: no limit).
    #[arg(long, env = "EDIT_WINDOW_SECONDS", default_value_t = 0)]
    pub edit_window_seconds: u64,
    /// VAPID private key for Web Push (32 bytes, base64url; generate a pair
    /// with `chat-server --generate-vapid-keys`). Without it push is off in
    /// production; in development a key is generated once and kept in
    /// DATA_DIR. Never logged.
    #[arg(long, env = "VAPID_PRIVATE_KEY", hide_env_values = true)]
    pub vapid_private_key: Option<String>,
    /// Contact push services may reach the operator at: `mailto:` or `https:`.
    /// Required with VAPID_PRIVATE_KEY in production.
    #[arg(long, env = "VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,
    /// Put message text in push notifications (default: "New message" only).
    /// Push services only see ciphertext; the device's notification shows it.
    #[arg(long, env = "PUSH_PREVIEW", default_value_t = false, action = clap::ArgAction::Set)]
    pub push_preview: bool,
    /// Milliseconds a notification waits for more messages of its
    /// conversation, so a burst is one notification.
    #[arg(long, env = "PUSH_COLLAPSE_MS", default_value_t = 2000)]
    pub push_collapse_ms: u64,
    /// Pushes in flight per instance (each instance claims up to four times
    /// this many due notifications at once).
    #[arg(long, env = "PUSH_CONCURRENCY", default_value_t = 32,
        value_parser = clap::value_parser!(u16).range(1..))]
    pub push_concurrency: u16,
    /// Let subscriptions name http endpoints and private or loopback
    /// addresses (a push service on the same machine). Ignored in production.
    #[arg(long, env = "PUSH_ALLOW_PRIVATE_ENDPOINTS", default_value_t = true, action = clap::ArgAction::Set)]
    pub push_allow_private_endpoints: bool,
    /// Seconds a call rings before it ends as missed.
    #[arg(long, env = "CALL_RING_SECONDS", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=600))]
    pub call_ring_seconds: u64,
    /// Seconds a call waits for a side whose socket went away to come back
    /// before it ends as failed.
    #[arg(long, env = "CALL_GRACE_SECONDS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=600))]
    pub call_grace_seconds: u64,
    /// STUN servers for calls, comma-separated `stun:host:port` URLs.
    #[arg(long, env = "STUN_URLS")]
    pub stun_urls: Option<String>,
    /// TURN servers for calls, comma-separated `turn:`/`turns:` URLs; given
    /// to clients only with TURN_SECRET.
    #[arg(long, env = "TURN_URLS")]
    pub turn_urls: Option<String>,
    /// Shared secret of the TURN server (coturn `static-auth-secret`), for
    /// short-lived credentials. Never logged.
    #[arg(long, env = "TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// Seconds TURN credentials stay valid.
    #[arg(long, env = "TURN_CREDENTIAL_TTL", default_value_t = 3600)]
    pub turn_credential_ttl: u64,
    /// Socket.IO packet encoding: `json` (socket.io's default) or `msgpack`
    /// (clients using socket.io-msgpack-parser). One server speaks one parser.
    #[arg(long, env = "SOCKETIO_PARSER", default_value = "json")]
    pub socketio_parser: chat_core::SocketParser,
    /// Address of the Prometheus `/metrics` listener, kept off the public port; empty
    /// disables it. In a container set e.g. `0.0.0.0:9100` with METRICS_TOKEN, and do not
    /// publish the port.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:9100")]
    pub metrics_addr: String,
    /// Bearer token `/metrics` requires (`Authorization: Bearer <token>`); none when unset.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds a graceful shutdown may take before the process exits anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// Requests per second per client IP on the REST API (after the burst).
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 50)]
    pub rate_limit_per_second: u32,
    /// Requests a client IP may make at once on the REST API.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// Register/login attempts per minute per client IP (after the burst).
    #[arg(long, env = "AUTH_RATE_LIMIT_PER_MINUTE", default_value_t = 20)]
    pub auth_rate_limit_per_minute: u32,
    /// Register/login attempts a client IP may make at once.
    #[arg(long, env = "AUTH_RATE_LIMIT_BURST", default_value_t = 20)]
    pub auth_rate_limit_burst: u32,
    /// Failed logins per account and client address before each further attempt
    /// waits, twice as long each time (1 s, 2 s, 4 s ... up to LOGIN_BACKOFF_MAX); 0 disables.
    #[arg(long, env = "LOGIN_BACKOFF_AFTER", default_value_t = 10)]
    pub login_backoff_after: u32,
    /// Longest wait, in seconds, imposed between failed logins of one account from one client address.
    #[arg(long, env = "LOGIN_BACKOFF_MAX", default_value_t = 900)]
    pub login_backoff_max: u64,
    /// Seconds between two mails of one kind (verification, password reset) to one address.
    #[arg(long, env = "MAIL_COOLDOWN", default_value_t = 60)]
    pub mail_cooldown: u64,
    /// Seconds during which a just-rotated refresh token, presented again by cookie from the
    /// same client (address key and User-Agent), yields its successor instead of ending the session.
    #[arg(long, env = "REFRESH_REUSE_GRACE", default_value_t = 10)]
    pub refresh_reuse_grace: u64,
    /// Absolute lifetime of a login session in seconds: refreshing never extends it past this.
    #[arg(long, env = "SESSION_MAX_AGE", default_value_t = 90 * 24 * 3600)]
    pub session_max_age: u64,
    /// Seconds between two purges of expired e-mail verification and password reset tokens.
    #[arg(long, env = "ACCOUNT_TOKEN_PURGE_INTERVAL", default_value_t = 600)]
    pub account_token_purge_interval: u64,
    /// Socket events (every client event, unknown ones included) per second per user
    /// (after the burst).
    #[arg(long, env = "SOCKET_EVENTS_PER_SECOND", default_value_t = 20)]
    pub socket_events_per_second: u32,
    /// Socket events a user may emit at once.
    #[arg(long, env = "SOCKET_EVENTS_BURST", default_value_t = 100)]
    pub socket_events_burst: u32,
    /// New Socket.IO connections per minute per client IP (after the burst);
    /// handshakes refused as unauthorized count too. 0: no limit.
    #[arg(long, env = "HANDSHAKES_PER_MINUTE", default_value_t = 120)]
    pub handshakes_per_minute: u32,
    /// New Socket.IO connections (and failed handshakes) a client IP may make at once.
    #[arg(long, env = "HANDSHAKES_BURST", default_value_t = 60)]
    pub handshakes_burst: u32,
    /// Sockets a user may hold on one instance; a handshake over the limit is
    /// refused with `too_many_sockets`. 0: no limit.
    #[arg(long, env = "SOCKETS_PER_USER", default_value_t = 20)]
    pub sockets_per_user: usize,
    /// Outgoing packets queued per socket; a socket whose queue overflows is
    /// disconnected so its client reconnects and catches up.
    #[arg(long, env = "SOCKET_QUEUE_PACKETS", default_value_t = 1024)]
    pub socket_queue_packets: usize,
    /// Largest Socket.IO packet a client may send, in bytes: one WebSocket message or
    /// frame, or one long-polling request body. A larger one closes the connection before
    /// it is buffered or parsed. At least 16 KiB (the longest message takes ~48 kB).
    #[arg(long, env = "SOCKET_MAX_PAYLOAD", default_value_t = 100_000,
        value_parser = clap::value_parser!(u32).range(16_384..))]
    pub socket_max_payload: u32,
    /// Proxies (comma-separated IPs) whose X-Forwarded-For is believed for the client address.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// SMTP server for outgoing mail, e.g. `smtps://user:password@smtp.example.com`;
    /// without it mail is written to `<DATA_DIR>/outbox` and logged.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of outgoing mail.
    #[arg(long, env = "MAIL_FROM", default_value = "Chat <no-reply@localhost>")]
    pub mail_from: String,
    /// Public base URL of the app, used in links in mails (default: the first CLIENT_URL).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Secret for signing access tokens (HS256, at least 32 bytes in production).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: u64,
    /// Lifetime of refresh tokens, in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: u64,
    /// Directory for the SQLite database, the generated JWT secret and uploads.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Largest accepted upload (image, voice message or file), in bytes (the
    /// upload stops being read there).
    #[arg(long, env = "MAX_FILE_SIZE", default_value_t = 25 * 1024 * 1024)]
    pub max_file_size: usize,
    /// Longest voice message, in seconds: longer audio is shared as a file.
    #[arg(long, env = "MAX_VOICE_SECONDS", default_value_t = 300)]
    pub max_voice_seconds: u64,
    /// Directory of uploaded images; default: `uploads` in DATA_DIR. Shared by all instances.
    #[arg(long, env = "UPLOAD_DIR")]
    pub upload_dir: Option<PathBuf>,
    /// Largest accepted image in pixels (width x height), checked before decoding.
    #[arg(long, env = "MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,
    /// Most bytes of stored images per user (the sum of their uploads); an
    /// upload over it gets 413 `quota_exceeded`. 0: no quota.
    #[arg(long, env = "UPLOAD_QUOTA_BYTES", default_value_t = 200 * 1024 * 1024)]
    pub upload_quota_bytes: u64,
    /// Memory, in bytes, for decoding uploaded images: as many uploads are read
    /// and decoded at once as fit when each takes MAX_IMAGE_PIXELS x 4 bytes
    /// (at least one, at most the cores but one).
    #[arg(long, env = "UPLOAD_DECODE_MEMORY", default_value_t = 512 * 1024 * 1024)]
    pub upload_decode_memory: u64,
    /// Uploads that no message and no profile refers to are deleted (row and
    /// files) this many hours after they were uploaded. 0: never.
    #[arg(long, env = "UPLOAD_ORPHAN_HOURS", default_value_t = 24)]
    pub upload_orphan_hours: u64,
    /// Origin(s) of the web client allowed by CORS, comma separated.
    #[arg(long, env = "CLIENT_URL", default_value = "http://localhost:3000")]
    pub client_url: String,
    /// Directory of the built web client served at `/` (skipped when missing).
    #[arg(long, env = "CLIENT_DIR", default_value = "client/dist")]
    pub client_dir: PathBuf,
    /// Deployment environment.
    #[arg(long, env = "APP_ENV", value_enum, default_value = "development")]
    pub app_env: AppEnv,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `chat_core=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_level: String,
    /// Emit logs as JSON lines.
    #[arg(long, env = "LOG_JSON", default_value_t = false)]
    pub log_json: bool,
    /// Print a new VAPID key pair (for VAPID_PRIVATE_KEY) and exit.
    #[arg(long, default_value_t = false)]
    pub generate_vapid_keys: bool,
}

impl Config {
    /// Where uploaded images are stored: UPLOAD_DIR, or `uploads` in the data directory.
    pub fn upload_directory(&self) -> PathBuf {
        match &self.upload_dir {
            Some(dir) if !dir.as_os_str().is_empty() => dir.clone(),
            _ => self.data_dir.join("uploads"),
        }
    }

    /// The database URL to use: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("chat.db").display()
            ),
        }
    }
}

#[cfg(test)]
impl Config {
    /// The configuration `chat-server <args>` runs with (the environment aside), for tests.
    pub(crate) fn from_args(args: &[&str]) -> Config {
        Config::parse_from(std::iter::once("chat-server").chain(args.iter().copied()))
    }
}
