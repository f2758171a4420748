//! The `conversation_members` table. Add and remove members through
//! [`ChatHandle`](crate::ChatHandle) (it keeps its membership cache fresh);
//! reading is fine.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::member;
//! use sea_orm::EntityTrait;
//!
//! // The primary key is (conversation_id, user_id).
//! if let Some(me) = member::Entity::find_by_id((42, 7)).one(chat.db()).await? {
//!     println!("read up to seq {}", me.last_read_seq);
//! }
//! # Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A user's membership of a conversation, with their receipt pointers. The
/// pointers only move forward (see [`ChatHandle::advance_receipt`](crate::ChatHandle::advance_receipt)).
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::member;
/// use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
///
/// // "Seen by N": members of conversation 42 who have read message seq 10.
/// let seen_by = member::Entity::find()
///     .filter(member::Column::ConversationId.eq(42))
///     .filter(member::Column::LastReadSeq.gte(10))
///     .count(chat.db())
///     .await?;
/// # let _ = seen_by; Ok(()) }
/// ```
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
    /// Until when the member muted the conversation (`None`: not muted).
    pub muted_until: Option<DateTimeUtc>,
    /// While muted, mentions are silenced too (otherwise they still notify).
    pub mute_mentions: bool,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::member::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
