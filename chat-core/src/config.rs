//! Configuration of the chat engine. chat-core reads no environment: the host
//! fills in a [`ChatConfig`] from its own settings and passes it to
//! [`ChatCoreBuilder::config`](crate::ChatCoreBuilder::config).
//!
//! ```
//! use std::time::Duration;
//! use chat_core::ChatConfig;
//!
//! let max_message_chars = std::env::var("MAX_MESSAGE_CHARS")
//!     .ok()
//!     .and_then(|v| v.parse().ok())
//!     .unwrap_or(4000);
//! let config = ChatConfig {
//!     max_message_chars,
//!     typing_timeout: Duration::from_secs(3),
//!     ..Default::default()
//! };
//! # assert_eq!(config.history_default_limit, 50);
//! ```
use std::time::Duration;

/// Tunables of the chat engine. [`Default`] gives the values documented on
/// each field.
///
/// ```
/// let config = chat_core::ChatConfig { max_message_chars: 2000, ..Default::default() };
/// assert_eq!(config.history_max_limit, 100);
/// ```
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Longest message, in characters after trimming (default 4000); longer
    /// ones fail with `validation_failed`.
    pub max_message_chars: usize,
    /// Page size of history when the client gives none (default 50).
    pub history_default_limit: u64,
    /// Largest page of history a client may ask for (default 100); larger
    /// requests fail with `validation_failed`.
    pub history_max_limit: u64,
    /// Presence is announced in direct conversations and only in groups of at
    /// most this many members (default 100).
    pub presence_fanout_limit: usize,
    /// A `typing:start` without refresh stops by itself after this long
    /// (default 5 s).
    pub typing_timeout: Duration,
    /// Most members embedded in a conversation object (default 50).
    pub embedded_members: u64,
    /// Socket events a user may emit per second, over all their sockets, once
    /// the burst is used (default 20). Every client event counts, whatever its
    /// name (unknown ones included), and is charged before its payload is
    /// decoded.
    pub events_per_second: u32,
    /// Events a user may emit at once (default 100).
    pub events_burst: u32,
    /// Outgoing packets queued per socket (default 1024). A socket whose
    /// queue is full when an event is broadcast is disconnected (its client
    /// reconnects and catches up) rather than left with a hole; idle queues
    /// cost nothing for their size.
    pub socket_queue_packets: usize,
    /// Largest packet a client may send, in bytes (default 100 000): one
    /// WebSocket message or frame, or one HTTP long-polling request body, and
    /// the binary attachments of one Socket.IO packet together. A larger one
    /// closes the connection as soon as its length is known, before it is
    /// buffered, authenticated or parsed. The longest valid message
    /// (`max_message_chars` escaped as JSON) takes about 48 kB.
    pub socket_max_payload: usize,
    /// Member ids the membership cache holds at most, over all its
    /// conversations (default 1 000 000, some 20 MB). Past it, some
    /// conversations are dropped and loaded again when next needed.
    pub membership_cache_members: usize,
    /// How long a cached member set is trusted (default 60 s): a change whose
    /// invalidation was lost (another instance's notice missed while Redis was
    /// unreachable) is seen after this long at worst.
    pub membership_cache_ttl: Duration,
    /// User ids the block cache holds at most, over all its users (default
    /// 1 000 000): each cached user costs one plus the users they blocked and
    /// who blocked them. Entries are trusted as long as member sets
    /// ([`membership_cache_ttl`](Self::membership_cache_ttl)).
    pub block_cache_ids: usize,
    /// Users one user may block (default 1000); one more fails with
    /// `unprocessable`.
    pub max_blocks_per_user: usize,
    /// How long the answer of [`ChatHandle::session_active`](crate::ChatHandle::session_active)
    /// is cached (default 5 s). An ended session is forgotten at once on every
    /// instance; this is the worst case, when that announcement is lost
    /// (Redis away) or the user row was deleted behind the engine's back.
    pub session_check_ttl: Duration,
    /// How long an ended session is remembered (default 1 day): at least as
    /// long as the host's access tokens live, since they are refused only
    /// while it is.
    pub revoked_session_retention: Duration,
    /// Sockets a user may hold on this instance (default 20; 0: no limit).
    /// A handshake over the limit is refused with `connect_error`
    /// `"too_many_sockets"`; the user's open sockets stay connected.
    pub sockets_per_user: usize,
    /// Most `member_ids` a group may be created with (default 100); more fail
    /// with `validation_failed`. Others are added one by one afterwards.
    pub max_group_members_per_request: usize,
    /// Groups (and public rooms) one user may create per rolling hour
    /// (default 20; 0 for no limit); more fail with `rate_limited`. Counted
    /// in the database, so over all instances.
    pub groups_per_hour: u32,
    /// How long after sending its sender may still edit a message (default
    /// `None`: always). A later edit fails with `unprocessable`.
    pub edit_window: Option<Duration>,
    /// How Socket.IO packets are encoded (default [`SocketParser::Json`]).
    /// One server speaks one parser, as Node's socket.io does: every client
    /// must use the same one.
    pub socket_parser: SocketParser,
    /// A call not answered within this long ends as `missed` (default 30 s).
    pub call_ring_timeout: Duration,
    /// A call whose side's socket went away ends as `failed` unless that
    /// user resumes it from a new socket within this long (default 10 s).
    pub call_grace: Duration,
    /// `call:signal` events a user may send per second once the burst is
    /// used (default 10), on top of the event budget.
    pub call_signals_per_second: u32,
    /// `call:signal` events a user may send at once (default 60).
    pub call_signals_burst: u32,
}

/// The Socket.IO packet encoding a server speaks.
///
/// ```
/// use chat_core::{ChatConfig, SocketParser};
///
/// let config = ChatConfig { socket_parser: SocketParser::Msgpack, ..Default::default() };
/// assert_eq!(ChatConfig::default().socket_parser, SocketParser::Json);
/// assert_eq!("msgpack".parse::<SocketParser>(), Ok(SocketParser::Msgpack));
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SocketParser {
    /// socket.io's default parser: JSON text, binary as attachments.
    #[default]
    Json,
    /// The parser of `socket.io-msgpack-parser`: each packet one MessagePack
    /// value, sent as binary.
    Msgpack,
}

/// A parser name other than `json` or `msgpack`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Socket.IO parser is `json` or `msgpack`")]
pub struct UnknownParser;

impl std::str::FromStr for SocketParser {
    type Err = UnknownParser;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(SocketParser::Json),
            "msgpack" => Ok(SocketParser::Msgpack),
            _ => Err(UnknownParser),
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_message_chars: 4000,
            history_default_limit: 50,
            history_max_limit: 100,
            presence_fanout_limit: 100,
            typing_timeout: Duration::from_secs(5),
            embedded_members: 50,
            events_per_second: 20,
            events_burst: 100,
            socket_queue_packets: 1024,
            socket_max_payload: 100_000,
            membership_cache_members: 1_000_000,
            membership_cache_ttl: Duration::from_secs(60),
            block_cache_ids: 1_000_000,
            max_blocks_per_user: 1000,
            session_check_ttl: Duration::from_secs(5),
            revoked_session_retention: Duration::from_secs(24 * 3600),
            sockets_per_user: 20,
            max_group_members_per_request: 100,
            groups_per_hour: 20,
            edit_window: None,
            socket_parser: SocketParser::Json,
            call_ring_timeout: Duration::from_secs(30),
            call_grace: Duration::from_secs(10),
            call_signals_per_second: 10,
            call_signals_burst: 60,
        }
    }
}
