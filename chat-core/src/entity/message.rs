//! The `messages` table. Send with
//! [`ChatHandle::send_message`](crate::ChatHandle::send_message) (it hands out
//! `seq` and notifies members) and page with
//! [`ChatHandle::history`](crate::ChatHandle::history).
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::message;
//! use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
//!
//! let newest = message::Entity::find()
//!     .filter(message::Column::ConversationId.eq(42))
//!     .order_by_desc(message::Column::Seq)
//!     .one(chat.db())
//!     .await?;
//! # let _ = newest; Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A stored message.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::message;
/// use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
///
/// // Was the client's retry "c-1f3a" of user 7 stored?
/// let stored = message::Entity::find()
///     .filter(message::Column::SenderId.eq(7))
///     .filter(message::Column::ClientId.eq("c-1f3a"))
///     .one(chat.db())
///     .await?;
/// # let _ = stored; Ok(()) }
/// ```
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
    /// The conversation's revision at the message's last change.
    pub rev: i64,
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
    /// When the content was last edited.
    pub edited_at: Option<DateTimeUtc>,
    /// When the message was deleted: its content and file are gone.
    pub deleted_at: Option<DateTimeUtc>,
    /// The message this one replies to (same conversation).
    pub reply_to_id: Option<i64>,
    /// How many messages reply to this one.
    pub reply_count: i64,
    /// The members it mentions, as a JSON array of user ids.
    pub mentions: Option<String>,
    /// Its reactions, as a JSON array of `{emoji, count}` in order of first use.
    pub reactions: Option<String>,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::message::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The row's id, typed.
    pub fn typed_id(&self) -> crate::ids::MessageId {
        crate::ids::MessageId::from_db(self.id)
    }
}
