//! The `refresh_tokens` table. chat-core never writes it; the host rotates
//! and revokes the tokens (and may end the session's sockets with
//! [`ChatHandle::disconnect_session`](crate::ChatHandle::disconnect_session)).
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle, family_id: &str) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::refresh_token;
//! use sea_orm::sea_query::Expr;
//! use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
//!
//! // Log out one session: revoke every token of its family.
//! refresh_token::Entity::update_many()
//!     .col_expr(refresh_token::Column::RevokedAt, Expr::value(chrono::Utc::now()))
//!     .filter(refresh_token::Column::FamilyId.eq(family_id))
//!     .filter(refresh_token::Column::RevokedAt.is_null())
//!     .exec(chat.db())
//!     .await?;
//! chat.disconnect_session(family_id, "logout").await;
//! # Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A refresh token, stored as a hash only.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, token_hash: String) -> Result<(), sea_orm::DbErr> {
/// use chat_core::entity::refresh_token;
/// use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
///
/// let stored = refresh_token::Entity::find()
///     .filter(refresh_token::Column::TokenHash.eq(token_hash))
///     .one(chat.db())
///     .await?;
/// if let Some(token) = stored.filter(|t| t.revoked_at.is_some()) {
///     // A rotated token came back: treat the whole family as stolen.
///     chat.disconnect_session(&token.family_id, "refresh_token_reused").await;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owner.
    pub user_id: crate::ids::UserId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Tokens produced by rotating one login share a family.
    pub family_id: String,
    /// Expiry.
    pub expires_at: DateTimeUtc,
    /// Set when rotated or revoked.
    pub revoked_at: Option<DateTimeUtc>,
    /// Issue time.
    pub created_at: DateTimeUtc,
    /// Start of the login session, the same for every token of the family
    /// (`None` only for rows written before the column existed).
    pub session_started_at: Option<DateTimeUtc>,
    /// Set when the token was rotated into a successor (`revoked_at` is set
    /// then too, and also when the session is ended).
    pub rotated_at: Option<DateTimeUtc>,
    /// Fingerprint of the client that rotated the token.
    pub rotated_by: Option<String>,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::refresh_token::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
