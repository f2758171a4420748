//! The `users` table.
use sea_orm::entity::prelude::*;

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Username as the user typed it.
    pub username: String,
    /// Lower-cased username, unique: usernames are unique case-insensitively.
    pub username_key: String,
    /// Lower-cased e-mail address, unique.
    pub email: String,
    /// PHC string of the password hash (argon2id in chat-server).
    pub password_hash: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// `online` or `offline`.
    pub status: String,
    /// When the user's last socket closed.
    pub last_seen: Option<DateTimeUtc>,
    /// Registration time.
    pub created_at: DateTimeUtc,
    /// When the user proved they own the e-mail address.
    pub email_verified_at: Option<DateTimeUtc>,
}

/// No relations are navigated through the ORM; joins are written as queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
