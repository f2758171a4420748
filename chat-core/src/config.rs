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
    /// Socket events (sends, receipts, typing) a user may emit per second,
    /// over all their sockets, once the burst is used (default 20).
    pub events_per_second: u32,
    /// Events a user may emit at once (default 100).
    pub events_burst: u32,
    /// Outgoing packets queued per socket (default 1024). A socket whose
    /// queue is full when an event is broadcast is disconnected (its client
    /// reconnects and catches up) rather than left with a hole; idle queues
    /// cost nothing for their size.
    pub socket_queue_packets: usize,
    /// Most `member_ids` a group may be created with (default 100); more fail
    /// with `validation_failed`. Others are added one by one afterwards.
    pub max_group_members_per_request: usize,
    /// Groups (and public rooms) one user may create per rolling hour
    /// (default 20; 0 for no limit); more fail with `rate_limited`. Counted
    /// in the database, so over all instances.
    pub groups_per_hour: u32,
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
            max_group_members_per_request: 100,
            groups_per_hour: 20,
        }
    }
}
