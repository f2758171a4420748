//! The `users` table. Create users with
//! [`ChatHandle::create_user`](crate::ChatHandle::create_user) (it enforces the
//! uniqueness rules); [`model::User`](crate::model::User) is what other users see.
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle) -> Result<(), sea_orm::DbErr> {
//! use chat_core::entity::user;
//! use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
//!
//! // Usernames are unique case-insensitively: look them up by `username_key`.
//! let alice = user::Entity::find()
//!     .filter(user::Column::UsernameKey.eq("Alice".to_lowercase()))
//!     .one(chat.db())
//!     .await?;
//! # let _ = alice; Ok(()) }
//! ```
use sea_orm::entity::prelude::*;

/// A registered user.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
/// use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
///
/// let mut row = chat.user_row(me).await?.into_active_model();
/// row.avatar_url = Set(Some("/uploads/9f86d081.png".to_owned()));
/// let updated = row.update(chat.db()).await?;
/// let public = chat_core::model::User::from(&updated); // never carries the e-mail
/// # let _ = public; Ok(()) }
/// ```
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
    /// Name shown instead of the username; `None`: the username is shown.
    pub display_name: Option<String>,
    /// Lower-cased `display_name`, what user search matches.
    pub display_name_key: Option<String>,
    /// A few words about the user (at most 500 characters).
    pub bio: Option<String>,
}

/// No relations are navigated through the ORM; joins are written as queries.
///
/// ```
/// use sea_orm::Iterable;
/// assert_eq!(chat_core::entity::user::Relation::iter().count(), 0);
/// ```
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The row's id, typed.
    pub fn typed_id(&self) -> crate::ids::UserId {
        crate::ids::UserId::from_db(self.id)
    }
}
