//! The `conversation_members` table.
use sea_orm::entity::prelude::*;

/// A user's membership of a conversation, with their receipt pointers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversation_members")]
pub struct Model {
    /// Conversation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub conversation_id: i64,
    /// Member.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    /// When the user joined.
    pub joined_at: DateTimeUtc,
    /// Last message the member has read.
    pub last_read_message_id: Option<i64>,
    /// `seq` of that message (0 when none): unread counts compare against it.
    pub last_read_seq: i64,
    /// Last message delivered to one of the member's devices.
    pub last_delivered_message_id: Option<i64>,
    /// `seq` of that message (0 when none).
    pub last_delivered_seq: i64,
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
