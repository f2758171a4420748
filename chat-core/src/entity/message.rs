//! The `messages` table.
use sea_orm::entity::prelude::*;

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Conversation the message belongs to.
    pub conversation_id: i64,
    /// Number within the conversation: 1, 2, 3, ... in commit order.
    pub seq: i64,
    /// Author (for `system` messages: the user the notice is about).
    pub sender_id: i64,
    /// Text, trimmed.
    pub content: String,
    /// `text`, `image` or `system`.
    pub message_type: String,
    /// Uploaded file for `image` messages.
    pub file_url: Option<String>,
    /// Sender-chosen idempotency key, unique per sender.
    pub client_id: Option<String>,
    /// Commit time.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
