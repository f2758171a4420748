//! The `conversations` table. Create and change conversations through
//! [`ChatHandle`](crate::ChatHandle); read [`Conversation`](crate::model::Conversation)s
//! with [`ChatHandle::conversation`](crate::ChatHandle::conversation).
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::conversation;
//! use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
//!
//! let groups = conversation::Entity::find()
//!     .filter(conversation::Column::Kind.eq("group"))
//!     .count(chat.db())
//!     .await?;
//! # let _ = groups; Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A direct conversation, a group or a public room.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::conversation;
/// use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
///
/// // The direct conversation of users 7 and 3, if they ever talked.
/// let (a, b) = (7_i64, 3_i64);
/// let direct = conversation::Entity::find()
///     .filter(conversation::Column::DirectKey.eq(format!("{}:{}", a.min(b), a.max(b))))
///     .one(chat.db())
///     .await?;
/// # let _ = direct; Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `direct` or `group`.
    #[sea_orm(column_name = "type")]
    pub kind: String,
    /// Group name; `None` for direct conversations.
    pub name: Option<String>,
    /// Public rooms can be listed and joined by anyone.
    pub is_public: bool,
    /// Creator.
    pub created_by: Option<i64>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Highest message `seq` handed out so far.
    pub last_seq: i64,
    /// Highest revision handed out so far: one per change of any of its
    /// messages (sent, and later edited, deleted, reacted to).
    pub last_rev: i64,
    /// Time of the last message (creation time before the first one).
    pub last_message_at: DateTimeUtc,
    /// `"<low id>:<high id>"` for direct conversations.
    pub direct_key: Option<String>,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::conversation::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The row's id, typed.
    pub fn typed_id(&self) -> crate::ids::ConversationId {
        crate::ids::ConversationId::from_db(self.id)
    }
}
