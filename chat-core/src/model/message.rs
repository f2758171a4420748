//! Messages as clients see them, with their sender embedded, and their kinds.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, MessageId, UserId};

/// Kind of a message.
///
/// ```
/// use chat_core::model::MessageType;
/// assert_eq!(MessageType::parse("image"), Some(MessageType::Image));
/// assert_eq!(MessageType::Text.as_str(), "text");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MessageType {
    /// Plain text.
    Text,
    /// An uploaded image (`file_url`), optionally with a caption.
    Image,
    /// A voice message: an uploaded audio file (`file_url`, `attachment`).
    Audio,
    /// Any other uploaded file (`file_url`, `attachment`), only ever downloaded.
    File,
    /// Written by the server (joins, leaves); clients may not send it.
    System,
    /// Written by the server when a call ends (`call` says how); clients may
    /// not send it.
    Call,
}

impl MessageType {
    /// The stored and wire name.
    ///
    /// ```
    /// use chat_core::model::MessageType;
    /// assert_eq!(MessageType::Image.as_str(), "image");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Image => "image",
            MessageType::Audio => "audio",
            MessageType::File => "file",
            MessageType::System => "system",
            MessageType::Call => "call",
        }
    }

    /// Parses a stored or wire name; `None` for anything else (names are
    /// lower case).
    ///
    /// ```
    /// use chat_core::model::MessageType;
    /// assert_eq!(MessageType::parse("system"), Some(MessageType::System));
    /// assert_eq!(MessageType::parse("Text"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(MessageType::Text),
            "image" => Some(MessageType::Image),
            "audio" => Some(MessageType::Audio),
            "file" => Some(MessageType::File),
            "system" => Some(MessageType::System),
            "call" => Some(MessageType::Call),
            _ => None,
        }
    }
}

/// Who sent a message, embedded in it so clients need no user lookup. For
/// `system` messages: the user the notice is about.
///
/// ```
/// use chat_core::model::MessageSender;
/// let json = r#"{"id": 2, "username": "bob", "avatar_url": null}"#;
/// let sender: MessageSender = serde_json::from_str(json).unwrap();
/// assert_eq!(sender.username, "bob");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSender {
    /// User id.
    pub id: UserId,
    /// Username.
    pub username: String,
    /// Name to show instead of the username; `None`: show the username.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub display_name: Option<String>,
    /// Avatar image URL.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub avatar_url: Option<String>,
}

/// The message a reply quotes, embedded in the reply: enough to show it
/// above the reply and to find it (`content` cut to 200 characters; empty,
/// and `deleted` true, once it is deleted).
///
/// ```
/// use chat_core::model::ReplyPreview;
///
/// let quoted: ReplyPreview = serde_json::from_str(
///     r#"{"id": 7, "seq": 3, "sender_id": 2, "username": "bob", "content": "lunch?",
///         "message_type": "text", "deleted": false}"#,
/// )?;
/// assert_eq!(quoted.username, "bob");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyPreview {
    /// The quoted message.
    pub id: MessageId,
    /// Its `seq`.
    pub seq: i64,
    /// Its sender.
    pub sender_id: UserId,
    /// Its sender's username.
    pub username: String,
    /// Its sender's display name, if they set one.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its text, at most 200 characters.
    pub content: String,
    /// Its kind.
    pub message_type: MessageType,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// How many users reacted to a message with one emoji.
///
/// ```
/// use chat_core::model::ReactionCount;
///
/// let thumbs: ReactionCount = serde_json::from_str(r#"{"emoji": "👍", "count": 3}"#)?;
/// assert_eq!(thumbs.count, 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionCount {
    /// One emoji (fully qualified).
    pub emoji: String,
    /// How many users reacted with it.
    pub count: i64,
}

/// One emoji of a message with the users who reacted with it: `count` is all
/// of them, `users` the first ones, in the order they reacted (each as a
/// message embeds its sender).
///
/// ```
/// use chat_core::model::ReactionUsers;
///
/// let party: ReactionUsers = serde_json::from_str(
///     r#"{"emoji": "🎉", "count": 3, "users": [{"id": 2, "username": "bob", "avatar_url": null}]}"#,
/// )?;
/// assert_eq!(party.count - party.users.len() as i64, 2); // "bob and 2 others"
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReactionUsers {
    /// One emoji (fully qualified).
    pub emoji: String,
    /// How many users reacted with it.
    pub count: i64,
    /// The first of them, earliest first.
    pub users: Vec<MessageSender>,
}

/// What an upload is, decided from its bytes.
///
/// ```
/// use chat_core::model::AttachmentKind;
/// assert_eq!(AttachmentKind::parse("audio"), Some(AttachmentKind::Audio));
/// assert_eq!(AttachmentKind::File.as_str(), "file");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AttachmentKind {
    /// A PNG, JPEG, GIF or WebP image, re-encoded, with a thumbnail.
    Image,
    /// Ogg/Opus, WebM/Opus, MP4/AAC or MP3 audio: a voice message.
    Audio,
    /// Anything else, stored as uploaded and only served as a download.
    File,
}

impl AttachmentKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Audio => "audio",
            AttachmentKind::File => "file",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "image" => Some(AttachmentKind::Image),
            "audio" => Some(AttachmentKind::Audio),
            "file" => Some(AttachmentKind::File),
            _ => None,
        }
    }

    /// The message type that carries an upload of this kind.
    ///
    /// ```
    /// use chat_core::model::{AttachmentKind, MessageType};
    /// assert_eq!(AttachmentKind::Audio.message_type(), MessageType::Audio);
    /// ```
    pub fn message_type(self) -> MessageType {
        match self {
            AttachmentKind::Image => MessageType::Image,
            AttachmentKind::Audio => MessageType::Audio,
            AttachmentKind::File => MessageType::File,
        }
    }
}

/// The upload a message carries, as it was when the message was sent.
///
/// ```
/// use chat_core::model::{Attachment, AttachmentKind};
///
/// let note: Attachment = serde_json::from_str(
///     r#"{"url": "/uploads/ab.ogg", "kind": "audio", "mime": "audio/ogg", "size": 18211,
///         "name": "voice.ogg", "duration_ms": 4520}"#,
/// )?;
/// assert_eq!(note.kind, AttachmentKind::Audio);
/// assert_eq!(note.duration_ms, Some(4520));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// Where members download it (the message's `file_url`).
    pub url: String,
    /// What it is.
    pub kind: AttachmentKind,
    /// Its MIME type, decided from its bytes.
    pub mime: String,
    /// Bytes stored.
    pub size: i64,
    /// The name it was uploaded under, sanitised (never a path).
    pub name: String,
    /// Images: width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub width: Option<i32>,
    /// Images: height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub height: Option<i32>,
    /// Images: a smaller copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub thumbnail_url: Option<String>,
    /// Audio: its length, read from the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub duration_ms: Option<i64>,
}

/// A stored message, as acked to its sender and delivered in `message:new`.
///
/// ```
/// # use chat_core::model::*;
/// use chat_core::ids::{ConversationId, MessageId, UserId};
///
/// let bob = UserId::try_from(2).unwrap();
/// let m = Message {
///     id: MessageId::try_from(7).unwrap(),
///     conversation_id: ConversationId::try_from(1).unwrap(),
///     seq: 3,
///     rev: 3,
///     sender_id: bob,
///     sender: MessageSender { id: bob, username: "bob".into(), display_name: None, avatar_url: None },
///     content: "hi".into(), message_type: MessageType::Text, file_url: None, attachment: None,
///     client_id: None, created_at: chrono::Utc::now(), edited_at: None, deleted_at: None,
///     reply_to: None, reply_count: 0, mentions: vec![], reactions: vec![], call: None,
///     my_reactions: None,
/// };
/// assert_eq!(serde_json::to_value(&m).unwrap()["message_type"], "text");
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// Message id.
    pub id: MessageId,
    /// Conversation id.
    pub conversation_id: ConversationId,
    /// Number within the conversation, contiguous, in commit order.
    pub seq: i64,
    /// The conversation's revision at this message's last change (its
    /// sending, so far): catch up with `after_rev`.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub rev: i64,
    /// Sender's user id.
    pub sender_id: UserId,
    /// Sender's public profile.
    pub sender: MessageSender,
    /// Text (trimmed).
    pub content: String,
    /// Kind.
    pub message_type: MessageType,
    /// The upload's URL for image, audio and file messages.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub file_url: Option<String>,
    /// The upload an image, audio or file message carries (`None` on text,
    /// system and deleted messages).
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub attachment: Option<Attachment>,
    /// Sender-chosen idempotency key.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub client_id: Option<String>,
    /// Commit time.
    pub created_at: DateTime<Utc>,
    /// `None`, or when the content was last edited.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    /// `None`, or when the message was deleted: a deleted message keeps its
    /// id, `seq`, sender and `created_at`; its content is `""` and its
    /// `file_url` `None`, erased from storage.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The message this one replies to, quoted.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub reply_to: Option<ReplyPreview>,
    /// How many messages reply to this one (its thread).
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub reply_count: i64,
    /// The members named as `@username` in the content when it was sent.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub mentions: Vec<UserId>,
    /// Its reactions, `{emoji, count}` in order of first use.
    #[cfg_attr(feature = "openapi", schema(required))]
    #[serde(default)]
    pub reactions: Vec<ReactionCount>,
    /// What a `call` message records of its call (`None` on other messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub call: Option<super::CallSummary>,
    /// The emoji the requesting user reacted with: in answers to one user
    /// (REST and acks), `None` (left out) in broadcasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub my_reactions: Option<Vec<String>>,
}
