//! The `refresh_tokens` table.
use sea_orm::entity::prelude::*;

/// A refresh token, stored as a hash only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owner.
    pub user_id: i64,
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
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
