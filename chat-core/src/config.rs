//! Configuration of the chat engine. chat-core reads no environment: the host fills this in.
use std::time::Duration;

/// Tunables of the chat engine.
///
/// ```
/// let config = chat_core::ChatConfig { max_message_chars: 2000, ..Default::default() };
/// assert_eq!(config.history_max_limit, 100);
/// ```
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Longest message, in characters after trimming.
    pub max_message_chars: usize,
    /// Page size of history when the client gives none.
    pub history_default_limit: u64,
    /// Largest page of history a client may ask for.
    pub history_max_limit: u64,
    /// Presence is announced only in groups of at most this many members.
    pub presence_fanout_limit: usize,
    /// A `typing:start` without refresh stops by itself after this long.
    pub typing_timeout: Duration,
    /// Most members embedded in a conversation object.
    pub embedded_members: u64,
    /// Socket events (sends, receipts, typing) a user may emit per second,
    /// over all their sockets, once the burst is used.
    pub events_per_second: u32,
    /// Events a user may emit at once.
    pub events_burst: u32,
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
        }
    }
}
