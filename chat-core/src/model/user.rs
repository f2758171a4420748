//! Users as others see them, and as they see themselves.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entity::user;
use crate::ids::UserId;

/// A user as other users see them: never their e-mail or password data.
///
/// ```
/// let user = chat_core::model::User {
///     id: chat_core::ids::UserId::try_from(1).unwrap(), username: "alice".into(), display_name: None, bio: None, avatar_url: None,
///     status: "online".into(), last_seen: None,
/// };
/// let json = serde_json::to_value(&user).unwrap();
/// assert!(json.get("email").is_none());
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// User id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Name to show instead of the username; `None`: show the username.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub display_name: Option<String>,
    /// A few words about the user; `None` when they wrote none.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub bio: Option<String>,
    /// Avatar image URL (see [`ProfileUpdate`](crate::service::ProfileUpdate)).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avatar_url: Option<String>,
    /// `online` or `offline`.
    #[ts(type = "\"online\" | \"offline\"")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(online|offline)$"))]
    pub status: String,
    /// When the user was last connected.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_seen: Option<DateTime<Utc>>,
}

/// The caller's own user: adds `email`, `created_at` and `email_verified`,
/// serialized next to the [`User`] fields (flattened).
///
/// ```
/// use chat_core::model::{OwnUser, User};
///
/// let me = OwnUser {
///     user: User {
///         id: chat_core::ids::UserId::try_from(1).unwrap(), username: "alice".into(), display_name: None, bio: None, avatar_url: None,
///         status: "offline".into(), last_seen: None,
///     },
///     email: "alice@example.com".into(),
///     created_at: chrono::Utc::now(),
///     email_verified: false,
/// };
/// let json = serde_json::to_value(&me).unwrap();
/// assert_eq!(json["username"], "alice");
/// assert_eq!(json["email"], "alice@example.com");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnUser {
    /// Public part.
    #[serde(flatten)]
    pub user: User,
    /// E-mail address.
    pub email: String,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Whether the e-mail address has been verified.
    pub email_verified: bool,
}

impl From<&user::Model> for User {
    fn from(m: &user::Model) -> Self {
        User {
            id: UserId::from_db(m.id),
            username: m.username.clone(),
            display_name: m.display_name.clone(),
            bio: m.bio.clone(),
            avatar_url: m.avatar_url.clone(),
            status: m.status.clone(),
            last_seen: m.last_seen,
        }
    }
}

impl From<&user::Model> for OwnUser {
    fn from(m: &user::Model) -> Self {
        OwnUser {
            user: User::from(m),
            email: m.email.clone(),
            created_at: m.created_at,
            email_verified: m.email_verified_at.is_some(),
        }
    }
}
