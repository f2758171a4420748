//! sea-orm entities, one module per table. The schema itself is defined by the
//! `migration` crate.
//!
//! Hosts use them for their own tables (tokens, uploads) and for read-only
//! queries on the chat tables, through [`ChatHandle::db`](crate::ChatHandle::db).
//! Change conversations, members and messages through
//! [`ChatHandle`](crate::ChatHandle) instead: it hands out `seq`, keeps its
//! membership cache fresh and sends the real-time events.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::conversation;
//! use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
//!
//! let busiest_rooms = conversation::Entity::find()
//!     .filter(conversation::Column::IsPublic.eq(true))
//!     .order_by_desc(conversation::Column::LastSeq)
//!     .all(chat.db())
//!     .await?;
//! # let _ = busiest_rooms; Ok(()) }
//! ```

pub mod account_token;
pub mod conversation;
pub mod member;
pub mod message;
pub mod refresh_token;
pub mod upload;
pub mod user;
pub mod user_block;
