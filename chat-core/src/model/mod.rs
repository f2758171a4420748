//! Wire types: what clients receive, serialized with `snake_case` fields and RFC 3339 times.

mod conversation;
mod message;
mod user;

pub use conversation::{Conversation, ConversationKind};
pub use message::{Message, MessageSender, MessageType};
pub use user::{OwnUser, User};
