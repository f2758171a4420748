//! Who receives a broadcast ([`Target`]) and the names of the rooms sockets
//! join: one per user, per login session and per conversation.
use socketioxide::socket::Sid;

use crate::ids::{ConversationId, UserId};

/// Who receives a broadcast.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// Every socket in any of these rooms (each socket once)...
    pub(crate) rooms: Vec<String>,
    /// ...except this one (the sender, which gets an ack instead)...
    pub(crate) except_socket: Option<Sid>,
    /// ...and except sockets in these rooms.
    pub(crate) except_rooms: Vec<String>,
}

impl Target {
    pub(crate) fn rooms(rooms: Vec<String>) -> Self {
        Target {
            rooms,
            ..Default::default()
        }
    }

    pub(crate) fn room(room: String) -> Self {
        Target::rooms(vec![room])
    }

    pub(crate) fn except_socket(mut self, sid: Option<Sid>) -> Self {
        self.except_socket = sid;
        self
    }
}

/// Room of every socket of one user (all tabs and devices).
pub(crate) fn user_room(user_id: UserId) -> String {
    format!("user:{user_id}")
}

/// Room of every socket opened with the credentials of one login session.
pub(crate) fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Room of every socket subscribed to one conversation.
pub(crate) fn conversation_room(conversation_id: ConversationId) -> String {
    format!("conv:{conversation_id}")
}
