//! The `account_tokens` table: e-mail verification and password reset tokens.
//! chat-core never writes it; the host issues and consumes the tokens.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle, token_hash: String, user: chat_core::ids::UserId)
//! #     -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::account_token;
//! use sea_orm::{ActiveModelTrait, ActiveValue::Set};
//!
//! let now = chrono::Utc::now();
//! account_token::ActiveModel {
//!     user_id: Set(user),
//!     purpose: Set("verify_email".to_owned()),
//!     token_hash: Set(token_hash),
//!     expires_at: Set(now + chrono::Duration::hours(24)),
//!     used_at: Set(None),
//!     created_at: Set(now),
//!     ..Default::default()
//! }
//! .insert(chat.db())
//! .await?;
//! # Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A single-use, expiring account token, stored as a hash only.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, token_hash: String) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::account_token;
/// use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
///
/// let usable = account_token::Entity::find()
///     .filter(account_token::Column::TokenHash.eq(token_hash))
///     .filter(account_token::Column::Purpose.eq("reset_password"))
///     .one(chat.db())
///     .await?
///     .filter(|t| t.used_at.is_none() && t.expires_at > chrono::Utc::now());
/// # let _ = usable; Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owner.
    pub user_id: crate::ids::UserId,
    /// `verify_email` or `reset_password`.
    pub purpose: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: DateTimeUtc,
    /// Set when used (tokens work once).
    pub used_at: Option<DateTimeUtc>,
    /// Issue time.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::account_token::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
