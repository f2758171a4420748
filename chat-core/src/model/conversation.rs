//! Conversations as clients see them: kind, name, members, last message, unread count.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Message, User};
use crate::ids::{ConversationId, UserId};

/// Direct (two people) or group (including public rooms).
///
/// ```
/// use chat_core::model::ConversationKind;
/// assert_eq!(serde_json::to_string(&ConversationKind::Direct).unwrap(), "\"direct\"");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConversationKind {
    /// Between exactly two users; unique per pair.
    Direct,
    /// Named, any number of members.
    Group,
}

impl ConversationKind {
    /// The stored and wire name.
    ///
    /// ```
    /// use chat_core::model::ConversationKind;
    /// assert_eq!(ConversationKind::Group.as_str(), "group");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Direct => "direct",
            ConversationKind::Group => "group",
        }
    }
}

/// A conversation as its members see it: `unread_count` and the embedded
/// members depend on who asks. Serialized with `type` for [`kind`](Self::kind).
///
/// ```
/// use chat_core::model::{Conversation, ConversationKind};
///
/// let json = r#"{"id": 1, "type": "direct", "name": null, "is_public": false,
///     "created_by": 1, "created_at": "2026-11-26T01:52:42.518445Z", "members": [],
///     "member_count": 2, "last_message": null, "unread_count": 0, "last_seq": 0}"#;
/// let conversation: Conversation = serde_json::from_str(json).unwrap();
/// assert_eq!(conversation.kind, ConversationKind::Direct);
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// Conversation id.
    pub id: ConversationId,
    /// `direct` or `group`.
    #[serde(rename = "type")]
    pub kind: ConversationKind,
    /// Group name (`None` for direct conversations).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub name: Option<String>,
    /// Whether anyone can find and join it.
    pub is_public: bool,
    /// Creator.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Up to 50 members; page through all with the members endpoint.
    pub members: Vec<User>,
    /// Number of members.
    pub member_count: i64,
    /// Newest message.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_message: Option<Message>,
    /// Messages from others after the caller's read pointer.
    pub unread_count: i64,
    /// Messages after the caller's read pointer that mention the caller.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub mention_count: i64,
    /// Highest `seq` so far.
    pub last_seq: i64,
    /// Highest revision so far: every change of one of its messages (sent,
    /// edited, deleted, reacted to) takes the next one.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub last_rev: i64,
    /// Until when the caller muted the conversation (their own setting;
    /// `None` when not muted, and in the public room list). Muted
    /// conversations still deliver everything.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub muted_until: Option<DateTime<Utc>>,
    /// While muted, the caller's mentions are silenced too (their own
    /// setting; `false` in the public room list). A muted group still
    /// notifies its mentions unless this is set.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub mute_mentions: bool,
    /// Groups and public rooms: members with a live socket on any instance
    /// (in `GET /api/conversations/:id` and the room list; absent elsewhere
    /// and for direct conversations). Kept current by
    /// `conversation:online_count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub online_count: Option<i64>,
}

/// A public room in the room list, serialized as the conversation's fields
/// plus `is_member`. Its `members` and `last_message` are left empty.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
/// for room in chat.public_rooms(me, Some(20), 0).await? {
///     let action = if room.is_member { "open" } else { "join" };
///     let name = room.conversation.name.unwrap_or_default();
///     println!("{name} ({} members) [{action}]", room.conversation.member_count);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomSummary {
    /// The room.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Whether the caller is a member.
    pub is_member: bool,
}
