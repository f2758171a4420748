//! Wire types: what clients receive, serialized with `snake_case` fields and RFC 3339 times.
//!
//! The same types come back from [`ChatHandle`](crate::ChatHandle) methods and
//! travel in socket events, so a REST host can return them as they are. They
//! also deserialize, for Rust clients and bots.
//!
//! ```
//! use chat_core::model::{Message, MessageType};
//!
//! let json = r#"{"id": 1, "conversation_id": 1, "seq": 1, "sender_id": 1,
//!     "sender": {"id": 1, "username": "alice", "avatar_url": null},
//!     "content": "Hello Bob!", "message_type": "text", "file_url": null,
//!     "client_id": "c-1f3a", "created_at": "2026-11-26T01:52:43.443498Z"}"#;
//! let message: Message = serde_json::from_str(json)?;
//! assert_eq!(message.message_type, MessageType::Text);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod call;
mod conversation;
mod message;
mod user;

pub use call::{Call, CallEndReason, CallId, CallMedia, CallState, CallSummary};
pub use conversation::{Conversation, ConversationKind, RoomSummary};
pub use message::{
    Attachment, AttachmentKind, Message, MessageSender, MessageType, ReactionCount, ReactionUsers,
    ReplyPreview,
};
pub use user::{OwnUser, User};
