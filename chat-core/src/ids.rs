//! Typed ids: a user, a conversation and a message each have their own id
//! type, so a user id can never be passed where a conversation id is
//! expected, and an id read from a client is positive by construction.
//!
//! Each type is an `i64` on the wire (serialized as a bare number) and in
//! the database (bound and read through sea-orm as a `BIGINT`). Decoding one
//! from a client payload, a JSON body or a URL path refuses zero and negative
//! numbers with [`NOT_POSITIVE`]; the hosts turn that refusal into a
//! `validation_failed` naming the field ([`refusal`]), exactly as a hand
//! check would have, and no handler checks positivity itself.
//!
//! ```
//! use chat_core::ids::{ConversationId, UserId};
//!
//! let id: ConversationId = serde_json::from_str("42").unwrap();
//! assert_eq!(id.get(), 42);
//! assert_eq!(serde_json::to_string(&id).unwrap(), "42");
//! assert!(serde_json::from_str::<UserId>("0").is_err());
//! assert!(serde_json::from_str::<UserId>("-7").is_err());
//! ```
//!
//! A call takes each id in its own type:
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle, alice: chat_core::ids::UserId,
//! #     room: chat_core::ids::ConversationId) -> chat_core::ChatResult<()> {
//! chat.join_room(alice, room).await?;
//! # Ok(()) }
//! ```
//!
//! so swapping a user id for a conversation id does not compile:
//!
//! ```compile_fail
//! # async fn demo(chat: chat_core::ChatHandle, alice: chat_core::ids::UserId,
//! #     room: chat_core::ids::ConversationId) -> chat_core::ChatResult<()> {
//! chat.join_room(room, alice).await?;
//! # Ok(()) }
//! ```
use std::fmt;
use std::str::FromStr;

use sea_orm::DeriveValueType;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ChatError;

/// The message of a refused id: what the client reads in
/// `details.<field>` of the `validation_failed` it gets.
pub const NOT_POSITIVE: &str = "must be a positive integer";

/// An id that is not positive: what [`TryFrom<i64>`] returns for one.
///
/// ```
/// use chat_core::ids::{MessageId, NotPositive};
///
/// assert_eq!(MessageId::try_from(-1), Err(NotPositive(-1)));
/// assert_eq!(NotPositive(-1).to_string(), "must be a positive integer, not -1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a positive integer, not {0}")]
pub struct NotPositive(pub i64);

/// Text that is not a positive integer: what [`FromStr`] returns for an
/// id (a JWT's `sub`, a path segment read by hand).
///
/// ```
/// use chat_core::ids::UserId;
///
/// assert_eq!("42".parse::<UserId>().unwrap().get(), 42);
/// assert!("0".parse::<UserId>().is_err());
/// assert!("alice".parse::<UserId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{NOT_POSITIVE}")]
pub struct NotAnId;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, DeriveValueType,
        )]
        #[derive(ts_rs::TS)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id as the database and the wire have it.
            pub const fn get(self) -> i64 {
                self.0
            }

            /// An id read from the database, which only holds positive ones.
            pub(crate) const fn from_db(raw: i64) -> Self {
                $name(raw)
            }
        }

        impl TryFrom<i64> for $name {
            type Error = NotPositive;

            fn try_from(raw: i64) -> Result<Self, NotPositive> {
                if raw > 0 { Ok($name(raw)) } else { Err(NotPositive(raw)) }
            }
        }

        impl FromStr for $name {
            type Err = NotAnId;

            fn from_str(text: &str) -> Result<Self, NotAnId> {
                let raw: i64 = text.parse().map_err(|_| NotAnId)?;
                $name::try_from(raw).map_err(|_| NotAnId)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = i64::deserialize(deserializer)?;
                $name::try_from(raw).map_err(|_| serde::de::Error::custom(NOT_POSITIVE))
            }
        }

        // On the wire an id is a bare positive 64-bit integer.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                positive_id_schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// The schema every id type shares: `integer`, `int64`, at least 1.
#[cfg(feature = "openapi")]
fn positive_id_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .into()
}

id_type! {
    /// A user's id (a row of `users`).
    ///
    /// ```
    /// use chat_core::ids::UserId;
    ///
    /// let alice = UserId::try_from(7).unwrap();
    /// assert_eq!(alice.to_string(), "7");
    /// assert!(UserId::try_from(0).is_err());
    /// ```
    UserId
}

id_type! {
    /// A conversation's id (a row of `conversations`): a direct chat, a
    /// group or a public room.
    ///
    /// ```
    /// use chat_core::ids::ConversationId;
    ///
    /// let general = ConversationId::try_from(1).unwrap();
    /// assert_eq!(i64::from(general), 1);
    /// ```
    ConversationId
}

id_type! {
    /// A message's id (a row of `messages`), unique across conversations.
    ///
    /// ```
    /// use chat_core::ids::MessageId;
    ///
    /// let first: MessageId = serde_json::from_str("1").unwrap();
    /// assert!(first < MessageId::try_from(2).unwrap());
    /// ```
    MessageId
}

impl From<NotPositive> for ChatError {
    /// A host's raw id that is not positive: `validation_failed` on `id`.
    ///
    /// ```
    /// use chat_core::ChatError;
    /// use chat_core::ids::UserId;
    ///
    /// fn parse(raw: i64) -> Result<UserId, ChatError> {
    ///     Ok(UserId::try_from(raw)?)
    /// }
    /// assert_eq!(parse(0).unwrap_err().code(), "validation_failed");
    /// ```
    fn from(_: NotPositive) -> Self {
        ChatError::field("id", NOT_POSITIVE)
    }
}

/// The `validation_failed` error for a refused id, when `error` (a decoding
/// error's text) is one: `field` is where the decoder found it (e.g.
/// `conversation_id` or `member_ids[1]`). Decoders add a position after the
/// message, so the text is matched by its start.
///
/// ```
/// use chat_core::ids::{UserId, refusal};
///
/// let err = serde_json::from_str::<UserId>("-1").unwrap_err();
/// let refused = refusal("user_id", &err.to_string()).unwrap();
/// assert_eq!(refused.code(), "validation_failed");
/// assert!(refusal("user_id", "invalid type: string").is_none());
/// ```
pub fn refusal(field: &str, error: &str) -> Option<ChatError> {
    error
        .starts_with(NOT_POSITIVE)
        .then(|| ChatError::field(field, NOT_POSITIVE))
}

/// Ids written as numbers in unit tests.
#[cfg(test)]
pub(crate) mod literal {
    use super::*;

    pub(crate) fn u(raw: i64) -> UserId {
        UserId::from_db(raw)
    }

    pub(crate) fn c(raw: i64) -> ConversationId {
        ConversationId::from_db(raw)
    }

    pub(crate) fn m(raw: i64) -> MessageId {
        MessageId::from_db(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Payload {
        #[allow(dead_code)]
        conversation_id: ConversationId,
    }

    #[test]
    fn a_non_positive_id_in_a_payload_is_refused_by_name() {
        for body in [r#"{"conversation_id":0}"#, r#"{"conversation_id":-1}"#] {
            let err = serde_json::from_str::<Payload>(body).expect_err(body);
            assert!(err.to_string().starts_with(NOT_POSITIVE), "{err}");
        }
        assert!(serde_json::from_str::<Payload>(r#"{"conversation_id":3}"#).is_ok());
    }

    #[test]
    fn other_shapes_are_not_refusals() {
        for body in [
            r#"{"conversation_id":"3"}"#,
            r#"{"conversation_id":1.5}"#,
            r#"{"conversation_id":18446744073709551616}"#,
            r#"{"conversation_id":null}"#,
        ] {
            let err = serde_json::from_str::<Payload>(body).expect_err(body);
            assert!(
                refusal("conversation_id", &err.to_string()).is_none(),
                "{err}"
            );
        }
    }
}
