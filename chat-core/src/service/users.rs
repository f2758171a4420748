//! Users: creation, lookup, search.
use serde::Deserialize;
use validator::Validate;

use crate::ChatHandle;
use crate::entity::user;
use crate::error::{ChatError, ChatResult, FieldErrors, field_errors};
use crate::ids::UserId;
use crate::model::{OwnUser, User};
use crate::service::PageLimit;
use crate::store::{self, is_unique_violation};

/// A user to create. The host hashes the password; chat-core never sees it.
///
/// ```
/// use chat_core::service::NewUser;
/// # fn hash_password(password: &str) -> String { format!("$argon2id$v=19${}", password.len()) }
///
/// let new = NewUser {
///     username: "alice".into(),
///     email: "alice@example.com".into(),
///     password_hash: hash_password("correct horse battery staple"),
/// };
/// # assert!(new.normalized().is_ok());
/// ```
#[derive(Debug, Clone, Deserialize, Validate)]
pub struct NewUser {
    /// 3 to 32 characters: letters, digits, `_`, `-`, `.`.
    #[validate(length(min = 3, max = 32, message = "must be 3 to 32 characters"))]
    #[validate(custom(function = "validate_username"))]
    pub username: String,
    /// A valid e-mail address.
    #[validate(email(message = "must be a valid e-mail address"))]
    #[validate(length(max = 254, message = "must be at most 254 characters"))]
    pub email: String,
    /// PHC string of the password hash (empty for users who log in elsewhere).
    pub password_hash: String,
}

/// Usernames end up in mentions, URLs and headers: keep them to a safe alphabet.
pub fn validate_username(username: &str) -> Result<(), validator::ValidationError> {
    if username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        Ok(())
    } else {
        Err(validator::ValidationError::new("username_charset")
            .with_message("may contain only letters, digits, '_', '-' and '.'".into()))
    }
}

impl NewUser {
    /// Trims the username, trims and lower-cases the e-mail, and validates both;
    /// returns every problem at once.
    ///
    /// ```
    /// use chat_core::service::NewUser;
    ///
    /// let new = NewUser { username: " alice ".into(), email: "Alice@Example.com".into(), password_hash: String::new() };
    /// let new = new.normalized().unwrap();
    /// assert_eq!((new.username.as_str(), new.email.as_str()), ("alice", "alice@example.com"));
    ///
    /// let bad = NewUser { username: "a b".into(), email: "nope".into(), password_hash: String::new() };
    /// let errors = bad.normalized().unwrap_err();
    /// assert!(errors.contains_key("username") && errors.contains_key("email"));
    /// ```
    pub fn normalized(self) -> Result<NewUser, FieldErrors> {
        let new = NewUser {
            username: self.username.trim().to_owned(),
            email: self.email.trim().to_lowercase(),
            password_hash: self.password_hash,
        };
        match new.validate() {
            Ok(()) => Ok(new),
            Err(errors) => Err(field_errors(&errors)),
        }
    }
}

impl ChatHandle {
    /// Creates a user. Usernames are unique case-insensitively, e-mails uniquely
    /// (stored lower-cased).
    ///
    /// Fails with `validation_failed` (see [`NewUser::normalized`]), or
    /// `username_taken` or `email_taken` (409) on a duplicate.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, hash: String) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::NewUser;
    ///
    /// let new = NewUser { username: "alice".into(), email: "alice@example.com".into(), password_hash: hash };
    /// let row = chat.create_user(new).await?;
    /// println!("registered #{}", row.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_user(&self, new: NewUser) -> ChatResult<user::Model> {
        let new = new.normalized().map_err(ChatError::Validation)?;
        let username_key = new.username.to_lowercase();
        match store::users::insert(self.db(), new.username, new.email, new.password_hash).await {
            Ok(created) => Ok(created),
            Err(err) if is_unique_violation(&err) => {
                let taken = store::users::by_username_key(self.db(), &username_key).await?;
                Err(if taken.is_some() {
                    ChatError::Conflict {
                        code: "username_taken",
                        message: "this username is taken",
                    }
                } else {
                    ChatError::Conflict {
                        code: "email_taken",
                        message: "this e-mail address is already registered",
                    }
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Finds a user by username (any case) or e-mail (any case), e.g. for a
    /// login form; the host then checks `password_hash`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// let Some(user) = chat.find_user_by_login("Alice").await? else {
    ///     return Ok(()); // answer 401 without telling which part was wrong
    /// };
    /// # let _ = user.password_hash; Ok(()) }
    /// ```
    pub async fn find_user_by_login(&self, login: &str) -> ChatResult<Option<user::Model>> {
        let key = login.trim().to_lowercase();
        Ok(store::users::by_login(self.db(), &key).await?)
    }

    /// The stored row of a user (with e-mail and password hash: not for
    /// clients); `not_found` when there is none.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let row = chat.user_row(me).await?;
    /// if row.email_verified_at.is_none() {
    ///     // e.g. ask the user to verify their address first
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn user_row(&self, user_id: UserId) -> ChatResult<user::Model> {
        store::users::by_id(self.db(), user_id)
            .await?
            .ok_or(ChatError::NotFound("user"))
    }

    /// A user's public profile; `not_found` when there is none.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, bob: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let profile = chat.user(bob).await?;
    /// println!("{} is {}", profile.username, profile.status);
    /// # Ok(()) }
    /// ```
    pub async fn user(&self, user_id: UserId) -> ChatResult<User> {
        Ok(User::from(&self.user_row(user_id).await?))
    }

    /// The caller's own profile (with e-mail), e.g. for `GET /me`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let mine = chat.own_user(me).await?;
    /// let body = serde_json::to_value(&mine).unwrap();
    /// # let _ = body; Ok(()) }
    /// ```
    pub async fn own_user(&self, user_id: UserId) -> ChatResult<OwnUser> {
        Ok(OwnUser::from(&self.user_row(user_id).await?))
    }

    /// Users whose username or display name contains `query`
    /// (case-insensitive, beyond ASCII on both databases), prefix matches
    /// first, the caller excluded. `query` is trimmed and must be 1 to 64
    /// characters (`validation_failed` otherwise); `limit` as in
    /// [`PageLimit::USER_SEARCH`].
    /// Presence is shown as in [`user_seen_by`](ChatHandle::user_seen_by).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let found = chat.search_users(me, "ali", Some(20), 0).await?;
    /// let matches = |u: &chat_core::model::User| {
    ///     u.username.to_lowercase().contains("ali")
    ///         || u.display_name.as_deref().is_some_and(|d| d.to_lowercase().contains("ali"))
    /// };
    /// assert!(found.iter().all(|u| u.id != me && matches(u)));
    /// # Ok(()) }
    /// ```
    pub async fn search_users(
        &self,
        caller: UserId,
        query: &str,
        limit: Option<u64>,
        offset: u64,
    ) -> ChatResult<Vec<User>> {
        let limit = PageLimit::USER_SEARCH.resolve(limit)?;
        let needle = query.trim().to_lowercase();
        // Display names are up to 64 characters; usernames up to 32.
        if needle.is_empty() || needle.chars().count() > 64 {
            return Err(ChatError::field("query", "must be 1 to 64 characters"));
        }
        let mut users = store::users::search(self.db(), &needle, caller, limit, offset).await?;
        self.hide_presence(caller, &mut users).await?;
        Ok(users)
    }

    /// A user's public profile as `viewer` sees it: `status` and `last_seen`
    /// only when they share a direct conversation or a small group (and the
    /// user has not blocked the viewer), else `offline` and `null`;
    /// `not_found` when there is no such user.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, bob: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let profile = chat.user_seen_by(me, bob).await?;
    /// println!("{} is {}", profile.username, profile.status);
    /// # Ok(()) }
    /// ```
    pub async fn user_seen_by(&self, viewer: UserId, user_id: UserId) -> ChatResult<User> {
        let mut user = [self.user(user_id).await?];
        self.hide_presence(viewer, &mut user).await?;
        let [user] = user;
        Ok(user)
    }
}
