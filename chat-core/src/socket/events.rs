//! Every Socket.IO event name of the protocol, and the ack format. Event
//! strings appear nowhere else.
use serde::{Deserialize, Serialize};

use crate::error::{ChatError, FieldErrors};

/// Client -> server: send a message.
pub const MESSAGE_SEND: &str = "message:send";
/// Server -> client: a new message in one of the user's conversations.
pub const MESSAGE_NEW: &str = "message:new";
/// Both ways: read receipt.
pub const MESSAGE_READ: &str = "message:read";
/// Both ways: delivery receipt.
pub const MESSAGE_DELIVERED: &str = "message:delivered";
/// Both ways: a user started typing.
pub const TYPING_START: &str = "typing:start";
/// Both ways: a user stopped typing.
pub const TYPING_STOP: &str = "typing:stop";
/// Client -> server: subscribe this socket to a conversation.
pub const CONVERSATION_JOIN: &str = "conversation:join";
/// Server -> client: the user was added to a conversation.
pub const CONVERSATION_NEW: &str = "conversation:new";
/// Server -> client: someone joined a conversation.
pub const CONVERSATION_MEMBER_JOINED: &str = "conversation:member_joined";
/// Server -> client: someone left a conversation.
pub const CONVERSATION_MEMBER_LEFT: &str = "conversation:member_left";
/// Server -> client: the session was ended by the server (`{reason}`); the
/// socket is disconnected right after.
pub const SESSION_ENDED: &str = "session:ended";
/// Server -> client: a user's first connection opened.
pub const USER_ONLINE: &str = "user:online";
/// Server -> client: a user's last connection closed.
pub const USER_OFFLINE: &str = "user:offline";

/// Payload naming a conversation (`conversation:join`, `typing:*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationRef {
    /// Conversation id.
    pub conversation_id: i64,
}

/// The body of a failed ack: `{success: false, error, code, details?}`.
///
/// ```
/// use chat_core::socket::events::AckError;
/// let ack = AckError::from(&chat_core::ChatError::NotAMember);
/// assert_eq!(serde_json::to_value(&ack).unwrap()["code"], "not_a_member");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AckError {
    /// Always `false`.
    pub success: bool,
    /// Human readable sentence.
    pub error: String,
    /// Stable code.
    pub code: String,
    /// Per-field problems, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<FieldErrors>,
}

impl From<&ChatError> for AckError {
    fn from(err: &ChatError) -> Self {
        AckError {
            success: false,
            error: err.public_message(),
            code: err.code().to_owned(),
            details: err.details().cloned(),
        }
    }
}

impl AckError {
    /// A failed ack with a code and sentence.
    pub fn new(code: &str, error: impl Into<String>) -> Self {
        AckError {
            success: false,
            error: error.into(),
            code: code.to_owned(),
            details: None,
        }
    }
}
