//! Every Socket.IO event name of the protocol, and the ack format. Event
//! strings appear nowhere else.
//!
//! Each constant's example shows its payload. Rust clients (bots, tests) can
//! match on the names:
//!
//! ```
//! use chat_core::model::Message;
//! use chat_core::service::{Presence, Typing};
//! use chat_core::socket::events;
//!
//! fn on_event(event: &str, payload: serde_json::Value) -> serde_json::Result<()> {
//!     match event {
//!         events::MESSAGE_NEW => {
//!             let message: Message = serde_json::from_value(payload)?;
//!             println!("{}: {}", message.sender.username, message.content);
//!         }
//!         events::TYPING_START => {
//!             let typing: Typing = serde_json::from_value(payload)?;
//!             println!("{} is typing", typing.username);
//!         }
//!         events::USER_ONLINE | events::USER_OFFLINE => {
//!             let presence: Presence = serde_json::from_value(payload)?;
//!             println!("{} {event}", presence.username);
//!         }
//!         _ => {}
//!     }
//!     Ok(())
//! }
//! # on_event(events::USER_ONLINE, serde_json::json!({"user_id": 2, "username": "bob"})).unwrap();
//! ```
use serde::{Deserialize, Serialize};

use crate::error::{ChatError, FieldErrors};
use crate::ids::ConversationId;

/// Client -> server: edit one of one's own text messages. Payload: an
/// [`EditMessage`](crate::service::EditMessage) `{message_id, content}`; ack
/// `{success: true, message}` with `edited_at` and the new `rev`, after the
/// commit. The conversation's other sockets get [`MESSAGE_UPDATED`].
///
/// ```
/// use chat_core::service::EditMessage;
/// use chat_core::socket::events::MESSAGE_EDIT;
///
/// let edit: EditMessage = serde_json::from_str(r#"{"message_id": 1001, "content": "fixed"}"#)?;
/// assert_eq!((MESSAGE_EDIT, edit.content.as_str()), ("message:edit", "fixed"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_EDIT: &str = "message:edit";
/// Server -> client: a message of the conversation was edited; payload: the
/// whole [`Message`](crate::model::Message) as it is now.
pub const MESSAGE_UPDATED: &str = "message:updated";
/// Client -> server: delete a message (one's own, or any in a group one
/// created). Payload: a [`DeleteMessage`](crate::service::DeleteMessage)
/// `{message_id}`; ack `{success: true, message}` with the tombstone. The
/// conversation's other sockets get [`MESSAGE_DELETED`].
///
/// ```
/// use chat_core::service::DeleteMessage;
/// use chat_core::socket::events::MESSAGE_DELETE;
///
/// let delete: DeleteMessage = serde_json::from_str(r#"{"message_id": 1001}"#)?;
/// assert_eq!((MESSAGE_DELETE, delete.message_id.get()), ("message:delete", 1001));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_DELETE: &str = "message:delete";
/// Server -> client: a message was deleted; payload: a
/// [`MessageDeleted`](crate::service::MessageDeleted)
/// `{conversation_id, message_id, seq, rev, deleted_at}`.
pub const MESSAGE_DELETED: &str = "message:deleted";
/// Client -> server: react to a message with one emoji. Payload: a
/// [`ReactionRequest`](crate::service::ReactionRequest) `{message_id, emoji}`;
/// ack `{success: true, message_id, reactions, my_reactions}` after the
/// commit. The conversation's other sockets get [`MESSAGE_REACTION`].
///
/// ```
/// use chat_core::service::ReactionRequest;
/// use chat_core::socket::events::REACTION_ADD;
///
/// let add: ReactionRequest = serde_json::from_str(r#"{"message_id": 1001, "emoji": "👍"}"#)?;
/// assert_eq!((REACTION_ADD, add.emoji.as_str()), ("reaction:add", "👍"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const REACTION_ADD: &str = "reaction:add";
/// Client -> server: take one's reaction back; as [`REACTION_ADD`].
pub const REACTION_REMOVE: &str = "reaction:remove";
/// Server -> client: a reaction was added or removed; payload: a
/// [`ReactionEvent`](crate::service::ReactionEvent)
/// `{conversation_id, message_id, rev, user_id, emoji, action, count}`.
pub const MESSAGE_REACTION: &str = "message:reaction";
/// Client -> server: send a message. Payload: a
/// [`SendMessage`](crate::service::SendMessage); the ack
/// `{success: true, message}` carries the stored
/// [`Message`](crate::model::Message) and comes only after it is committed.
///
/// ```
/// use chat_core::service::SendMessage;
/// use chat_core::socket::events::MESSAGE_SEND;
///
/// let payload = r#"{"conversation_id": 42, "content": "hi", "client_id": "c-1f3a"}"#;
/// let request: SendMessage = serde_json::from_str(payload)?;
/// assert_eq!((MESSAGE_SEND, request.conversation_id.get()), ("message:send", 42));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_SEND: &str = "message:send";
/// Server -> client: a new message in one of the user's conversations.
/// Payload: a [`Message`](crate::model::Message). Not sent back to the socket
/// that sent it (that one got the ack).
///
/// ```
/// use chat_core::model::Message;
/// use chat_core::socket::events::MESSAGE_NEW;
///
/// let payload = serde_json::json!({
///     "id": 1001, "conversation_id": 42, "seq": 17, "sender_id": 7,
///     "sender": {"id": 7, "username": "alice", "avatar_url": null},
///     "content": "hi", "message_type": "text", "file_url": null,
///     "client_id": "c-1f3a", "created_at": "2026-11-26T01:52:43.443498Z",
/// });
/// let message: Message = serde_json::from_value(payload)?;
/// assert_eq!((MESSAGE_NEW, message.seq), ("message:new", 17));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_NEW: &str = "message:new";
/// Both ways: read receipt. The client sends a
/// [`ReceiptRequest`](crate::service::ReceiptRequest) (ack `{success: true,
/// receipt}`, `receipt` `null` when nothing moved); the conversation receives
/// the [`Receipt`](crate::service::Receipt), with `read_at`.
///
/// ```
/// use chat_core::service::{Receipt, ReceiptRequest};
/// use chat_core::socket::events::MESSAGE_READ;
///
/// let sent: ReceiptRequest = serde_json::from_str(r#"{"conversation_id": 42, "message_id": 1001}"#)?;
/// let heard: Receipt = serde_json::from_str(
///     r#"{"conversation_id": 42, "message_id": 1001, "seq": 17, "user_id": 7,
///         "read_at": "2026-11-26T01:52:50Z"}"#,
/// )?;
/// assert_eq!(MESSAGE_READ, "message:read");
/// assert_eq!((sent.message_id.get(), heard.seq), (1001, 17)); // read up to seq 17
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_READ: &str = "message:read";
/// Both ways: delivery receipt, like [`MESSAGE_READ`] but with
/// `delivered_at`. A read also moves the delivery pointer.
///
/// ```
/// use chat_core::service::Receipt;
/// use chat_core::socket::events::MESSAGE_DELIVERED;
///
/// let heard: Receipt = serde_json::from_str(
///     r#"{"conversation_id": 42, "message_id": 1001, "seq": 17, "user_id": 7,
///         "delivered_at": "2026-11-26T01:52:44Z"}"#,
/// )?;
/// assert_eq!(MESSAGE_DELIVERED, "message:delivered");
/// assert!(heard.read_at.is_none() && heard.delivered_at.is_some());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const MESSAGE_DELIVERED: &str = "message:delivered";
/// Both ways: a user started typing. The client sends a [`ConversationRef`]
/// (repeat it while typing); the other members receive a
/// [`Typing`](crate::service::Typing). It stops by itself after
/// [`typing_timeout`](crate::ChatConfig::typing_timeout).
///
/// ```
/// use chat_core::service::Typing;
/// use chat_core::socket::events::{ConversationRef, TYPING_START};
///
/// let sent: ConversationRef = serde_json::from_str(r#"{"conversation_id": 42}"#)?;
/// let heard: Typing = serde_json::from_str(r#"{"conversation_id": 42, "user_id": 7, "username": "alice"}"#)?;
/// assert_eq!(TYPING_START, "typing:start");
/// assert_eq!(sent.conversation_id, heard.conversation_id);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const TYPING_START: &str = "typing:start";
/// Both ways: a user stopped typing. Same payloads as [`TYPING_START`]; also
/// sent by the server when the typist sends a message, disconnects or times out.
///
/// ```
/// use chat_core::service::Typing;
/// use chat_core::socket::events::TYPING_STOP;
///
/// let heard: Typing = serde_json::from_str(r#"{"conversation_id": 42, "user_id": 7, "username": "alice"}"#)?;
/// assert_eq!((TYPING_STOP, heard.user_id.get()), ("typing:stop", 7));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const TYPING_STOP: &str = "typing:stop";
/// Client -> server: subscribe this socket to a conversation. Payload: a
/// [`ConversationRef`]; ack `{success: true, conversation_id}`. A non-member
/// joins the conversation if it is a public room, else gets `not_found` (the
/// answer to an id that does not exist).
///
/// ```
/// use chat_core::ids::ConversationId;
/// use chat_core::socket::events::{CONVERSATION_JOIN, ConversationRef};
///
/// let conversation_id: ConversationId = serde_json::from_str("42")?;
/// let payload = serde_json::to_value(ConversationRef { conversation_id })?;
/// assert_eq!(CONVERSATION_JOIN, "conversation:join");
/// assert_eq!(payload, serde_json::json!({"conversation_id": 42}));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CONVERSATION_JOIN: &str = "conversation:join";
/// Server -> client: the user was added to a conversation (created with
/// them, added by a member, or joined). Payload: the [`Conversation`](crate::model::Conversation)
/// as that user sees it; their sockets are already subscribed to it.
///
/// ```
/// use chat_core::model::Conversation;
/// use chat_core::socket::events::CONVERSATION_NEW;
///
/// let heard: Conversation = serde_json::from_str(
///     r#"{"id": 42, "type": "group", "name": "Rustaceans", "is_public": true,
///         "created_by": 7, "created_at": "2026-11-26T01:52:42Z", "members": [],
///         "member_count": 3, "last_message": null, "unread_count": 0, "last_seq": 0}"#,
/// )?;
/// assert_eq!((CONVERSATION_NEW, heard.name.as_deref()), ("conversation:new", Some("Rustaceans")));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CONVERSATION_NEW: &str = "conversation:new";
/// Server -> client: someone joined a conversation. Payload: a
/// [`MemberEvent`](crate::service::MemberEvent), after a `system` message
/// (`"<username> joined"` or `"<username> was added"`) sent as [`MESSAGE_NEW`].
///
/// ```
/// use chat_core::model::User;
/// use chat_core::service::MemberEvent;
/// use chat_core::socket::events::CONVERSATION_MEMBER_JOINED;
///
/// let id = serde_json::from_str("9")?;
/// let user = User { id, username: "carol".into(), display_name: None, bio: None, avatar_url: None, status: "online".into(), last_seen: None };
/// let payload = serde_json::to_value(MemberEvent { conversation_id: serde_json::from_str("42")?, user })?;
/// assert_eq!(CONVERSATION_MEMBER_JOINED, "conversation:member_joined");
/// assert_eq!(payload["user"]["username"], "carol");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CONVERSATION_MEMBER_JOINED: &str = "conversation:member_joined";
/// Server -> client: someone left a conversation. Payload: a
/// [`MemberEvent`](crate::service::MemberEvent), also sent to the leaver's own
/// sockets, which are then unsubscribed.
///
/// ```
/// use chat_core::socket::events::CONVERSATION_MEMBER_LEFT;
///
/// let heard: serde_json::Value = serde_json::from_str(
///     r#"{"conversation_id": 42, "user": {"id": 9, "username": "carol", "avatar_url": null,
///         "status": "online", "last_seen": null}}"#,
/// )?;
/// assert_eq!(CONVERSATION_MEMBER_LEFT, "conversation:member_left");
/// assert_eq!(heard["conversation_id"], 42);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CONVERSATION_MEMBER_LEFT: &str = "conversation:member_left";
/// Server -> client: the session was ended by the server (`{reason}`); the
/// socket is disconnected right after. Sent by
/// [`ChatHandle::disconnect_user`](crate::ChatHandle::disconnect_user) and
/// [`disconnect_session`](crate::ChatHandle::disconnect_session) (with the
/// host's reason; clients should go back to their login screen), and with
/// `"expired"` when the socket's credentials expired without a
/// [`SESSION_REFRESH`] (clients should refresh their token and reconnect).
///
/// ```
/// use chat_core::socket::events::SESSION_ENDED;
///
/// let heard: serde_json::Value = serde_json::from_str(r#"{"reason": "logout"}"#)?;
/// assert_eq!(SESSION_ENDED, "session:ended");
/// assert_eq!(heard["reason"], "logout");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const SESSION_ENDED: &str = "session:ended";
/// Client -> server, `{token}`: newer credentials for the open socket, so it
/// is not ended when the ones it connected with expire. They must be valid
/// and belong to the same user and login session; the ack is
/// `{success: true, expires_at}` or fails with `unauthorized` (invalid,
/// expired or ended) or `session_mismatch` (another user or session), and the
/// socket stays connected either way.
///
/// ```
/// use chat_core::socket::events::SESSION_REFRESH;
///
/// let payload = serde_json::json!({ "token": "eyJhbGciOi..." });
/// assert_eq!(SESSION_REFRESH, "session:refresh");
/// assert!(payload["token"].is_string());
/// ```
pub const SESSION_REFRESH: &str = "session:refresh";

/// Payload of [`SESSION_ENDED`].
///
/// ```
/// use chat_core::socket::events::SessionEnded;
///
/// let json = serde_json::to_value(SessionEnded::EXPIRED)?;
/// assert_eq!(json, serde_json::json!({ "reason": "expired" }));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Serialize)]
pub struct SessionEnded {
    /// Why: `"expired"`, or the host's reason (`"logged_out"`, ...).
    pub reason: &'static str,
}

impl SessionEnded {
    /// The socket's credentials expired.
    pub const EXPIRED: SessionEnded = SessionEnded { reason: "expired" };
}
/// Client -> server: call the other member of a direct conversation.
/// Payload: a [`StartCall`](crate::service::StartCall)
/// `{conversation_id, media}`; ack `{success: true, call}` (see
/// [`ChatHandle::start_call`](crate::ChatHandle::start_call)).
///
/// ```
/// use chat_core::service::StartCall;
/// use chat_core::socket::events::CALL_START;
///
/// let start: StartCall = serde_json::from_str(r#"{"conversation_id": 12, "media": "audio"}"#)?;
/// assert_eq!((CALL_START, start.conversation_id.get()), ("call:start", 12));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CALL_START: &str = "call:start";
/// Client -> server: the callee answers, `{call_id}`; ack `{success: true, call}`.
pub const CALL_ACCEPT: &str = "call:accept";
/// Client -> server: the callee refuses a ringing call, `{call_id}`; ack
/// `{success: true, call}` (ended, `declined`).
pub const CALL_DECLINE: &str = "call:decline";
/// Client -> server: either side ends the call, `{call_id}`; ack
/// `{success: true, call}` (ended).
pub const CALL_END: &str = "call:end";
/// Both ways. Client -> server: a [`CallSignal`](crate::service::CallSignal)
/// `{call_id, data}` for the other side, ack `{success: true}`. Server ->
/// client: a [`CallSignalEvent`](crate::service::CallSignalEvent)
/// `{call_id, from_user_id, data}`, only to the other side's socket in the call.
///
/// ```
/// use chat_core::service::CallSignalEvent;
/// use chat_core::socket::events::CALL_SIGNAL;
///
/// let heard: CallSignalEvent = serde_json::from_str(r#"{"call_id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a",
///     "from_user_id": 7, "data": {"candidate": "candidate:1 1 udp 2122260223 10.0.0.2 54400 typ host"}}"#)?;
/// assert_eq!((CALL_SIGNAL, heard.from_user_id.get()), ("call:signal", 7));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CALL_SIGNAL: &str = "call:signal";
/// Client -> server: make this socket the user's socket in the call (after a
/// reconnect), `{call_id}`; ack `{success: true, call}`.
pub const CALL_RESUME: &str = "call:resume";
/// Server -> client: a call rings; payload: the [`Call`](crate::model::Call),
/// to every socket of the callee.
pub const CALL_INCOMING: &str = "call:incoming";
/// Server -> client: the callee answered; payload: the active
/// [`Call`](crate::model::Call), to the caller's socket in the call.
pub const CALL_ACCEPTED: &str = "call:accepted";
/// Server -> client: another socket of the user took the call (the callee's
/// other sockets stop ringing); payload: a
/// [`CallElsewhere`](crate::service::CallElsewhere) `{call_id}`.
pub const CALL_ANSWERED_ELSEWHERE: &str = "call:answered_elsewhere";
/// Server -> client: a call ended; payload: a
/// [`CallEnded`](crate::service::CallEnded) `{call_id, reason, duration_ms,
/// call}`, to every socket of both users.
///
/// ```
/// use chat_core::model::CallEndReason;
/// use chat_core::service::CallEnded;
/// use chat_core::socket::events::CALL_ENDED;
///
/// let heard: CallEnded = serde_json::from_value(serde_json::json!({
///     "call_id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a", "reason": "missed", "duration_ms": 0,
///     "call": {"id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a", "conversation_id": 12, "caller_id": 1,
///              "callee_id": 2, "media": "audio", "state": "ended",
///              "started_at": "2026-12-03T10:00:00Z", "answered_at": null,
///              "ended_at": "2026-12-03T10:00:30Z", "end_reason": "missed", "duration_ms": 0}}))?;
/// assert_eq!((CALL_ENDED, heard.reason), ("call:ended", CallEndReason::Missed));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CALL_ENDED: &str = "call:ended";
/// Server -> client, payload none: sent to the sockets that were to receive an
/// event which some socket's full outgoing queue could not take, to find that
/// socket (which is then disconnected, so its client reconnects and catches
/// up with `after_seq`). Clients ignore it.
///
/// ```
/// assert_eq!(chat_core::socket::events::SYNC_CHECK, "sync:check");
/// ```
pub const SYNC_CHECK: &str = "sync:check";
/// Server -> client: a user's first connection opened (over all instances).
/// Payload: a [`Presence`](crate::service::Presence), sent to the members of
/// their direct conversations and of groups up to
/// [`presence_fanout_limit`](crate::ChatConfig::presence_fanout_limit) members.
///
/// ```
/// use chat_core::service::Presence;
/// use chat_core::socket::events::USER_ONLINE;
///
/// let heard: Presence = serde_json::from_str(r#"{"user_id": 7, "username": "alice"}"#)?;
/// assert_eq!(USER_ONLINE, "user:online");
/// assert!(heard.last_seen.is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const USER_ONLINE: &str = "user:online";
/// Server -> client: a user's last connection closed. Like [`USER_ONLINE`],
/// with `last_seen`.
///
/// ```
/// use chat_core::service::Presence;
/// use chat_core::socket::events::USER_OFFLINE;
///
/// let heard: Presence = serde_json::from_str(
///     r#"{"user_id": 7, "username": "alice", "last_seen": "2026-11-26T02:10:00Z"}"#,
/// )?;
/// assert_eq!(USER_OFFLINE, "user:offline");
/// assert!(heard.last_seen.is_some());
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const USER_OFFLINE: &str = "user:offline";
/// Server -> client: the number of members of a group or public room with a
/// live socket on any instance changed. Payload: an
/// [`OnlineCount`](crate::service::OnlineCount)
/// `{conversation_id, online_count}`, to the members' sockets, at most once a
/// second per conversation (changes within the second are coalesced; the
/// last value always follows).
///
/// ```
/// use chat_core::service::OnlineCount;
/// use chat_core::socket::events::CONVERSATION_ONLINE_COUNT;
///
/// let event: OnlineCount = serde_json::from_str(r#"{"conversation_id": 42, "online_count": 3}"#)?;
/// assert_eq!((CONVERSATION_ONLINE_COUNT, event.online_count), ("conversation:online_count", 3));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const CONVERSATION_ONLINE_COUNT: &str = "conversation:online_count";
/// Server -> client: the receiving user blocked someone, from any of their
/// devices. Payload: a [`BlockEvent`](crate::service::BlockEvent), sent to
/// the blocker's own sockets only (the blocked user is not told), once per
/// change (blocking again sends nothing).
///
/// ```
/// use chat_core::service::BlockEvent;
/// use chat_core::socket::events::USER_BLOCKED;
///
/// let heard: BlockEvent = serde_json::from_str(r#"{"user_id": 13}"#)?;
/// assert_eq!(USER_BLOCKED, "user:blocked");
/// assert_eq!(heard.user_id.get(), 13);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const USER_BLOCKED: &str = "user:blocked";
/// Server -> client: the receiving user unblocked someone. Like
/// [`USER_BLOCKED`].
///
/// ```
/// assert_eq!(chat_core::socket::events::USER_UNBLOCKED, "user:unblocked");
/// ```
pub const USER_UNBLOCKED: &str = "user:unblocked";
/// Server -> client: a user changed their profile (display name, bio or
/// avatar). Payload: the public [`User`](crate::model::User) as it is now,
/// sent once to every socket of everyone who shares a conversation with
/// them and to their own sockets, on every instance. `status` and
/// `last_seen` follow the presence rules (shown only to those who share a
/// direct conversation or a small group with the user, and not to users
/// they blocked): clients take the profile fields from it.
///
/// ```
/// use chat_core::model::User;
/// use chat_core::socket::events::USER_UPDATED;
///
/// let heard: User = serde_json::from_str(
///     r#"{"id": 13, "username": "carol", "display_name": "Carol K.", "bio": null,
///         "avatar_url": null, "status": "offline", "last_seen": null}"#,
/// )?;
/// assert_eq!(USER_UPDATED, "user:updated");
/// assert_eq!(heard.display_name.as_deref(), Some("Carol K."));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub const USER_UPDATED: &str = "user:updated";

/// Payload naming a conversation (`conversation:join`, `typing:*`).
///
/// ```
/// use chat_core::socket::events::ConversationRef;
/// let r: ConversationRef = serde_json::from_str(r#"{"conversation_id": 42}"#)?;
/// assert_eq!(r.conversation_id.get(), 42);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize)]
pub struct ConversationRef {
    /// Conversation id.
    pub conversation_id: ConversationId,
}

/// The body of a failed ack: `{success: false, error, code, details?}`.
///
/// ```
/// use chat_core::socket::events::AckError;
/// let ack = AckError::from(&chat_core::ChatError::NotAMember);
/// assert_eq!(serde_json::to_value(&ack).unwrap()["code"], "not_a_member");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AckError {
    /// Always `false`.
    pub success: bool,
    /// Human readable sentence.
    pub error: String,
    /// Stable code.
    pub code: String,
    /// Per-field problems, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<FieldErrors>,
}

impl From<&ChatError> for AckError {
    fn from(err: &ChatError) -> Self {
        AckError {
            success: false,
            error: err.public_message(),
            code: err.code().to_owned(),
            details: err.details().cloned(),
        }
    }
}

impl AckError {
    /// A failed ack with a code and sentence, for failures that are not a
    /// [`ChatError`] (convert those with `From`).
    ///
    /// ```
    /// use chat_core::socket::events::AckError;
    /// let ack = AckError::new("unknown_event", "unknown event");
    /// let json = serde_json::to_value(&ack).unwrap();
    /// assert_eq!(json, serde_json::json!({
    ///     "success": false, "error": "unknown event", "code": "unknown_event",
    /// }));
    /// ```
    pub fn new(code: &str, error: impl Into<String>) -> Self {
        AckError {
            success: false,
            error: error.into(),
            code: code.to_owned(),
            details: None,
        }
    }
}
