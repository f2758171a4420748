//! The `account_tokens` table: e-mail verification and password reset tokens.
use sea_orm::entity::prelude::*;

/// A single-use, expiring account token, stored as a hash only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Owner.
    pub user_id: i64,
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
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
