//! The `user_blocks` table. Block and unblock through
//! [`ChatHandle::block_user`](crate::ChatHandle::block_user) and
//! [`unblock_user`](crate::ChatHandle::unblock_user) (they keep every
//! instance's cache of blocks fresh); reading is fine.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::user_block;
//! use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
//!
//! // How many users blocked user 7 (e.g. for a moderation dashboard).
//! let blocked_by = user_block::Entity::find()
//!     .filter(user_block::Column::BlockedId.eq(7))
//!     .count(chat.db())
//!     .await?;
//! # let _ = blocked_by; Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// `blocker_id` blocked `blocked_id` at `created_at`.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::user_block;
/// use sea_orm::EntityTrait;
///
/// // The primary key is (blocker_id, blocked_id).
/// let blocked = user_block::Entity::find_by_id((7, 13)).one(chat.db()).await?.is_some();
/// # let _ = blocked; Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_blocks")]
pub struct Model {
    /// Who blocked.
    #[sea_orm(primary_key, auto_increment = false)]
    pub blocker_id: i64,
    /// Who was blocked.
    #[sea_orm(primary_key, auto_increment = false)]
    pub blocked_id: i64,
    /// When.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::user_block::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
