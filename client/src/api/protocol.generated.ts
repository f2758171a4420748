// Generated from chat-core's Rust types (chat_core::typescript::declarations);
// do not edit. `cargo test -p chat-core --test typescript` checks it is current;
// UPDATE_TYPESCRIPT=1 rewrites it.

export type UserId = number;
export type ConversationId = number;
export type MessageId = number;
export type User = { 
/**
 * User id.
 */
id: UserId, 
/**
 * Username.
 */
username: string, 
/**
 * Name to show instead of the username; `None`: show the username.
 */
display_name: string | null, 
/**
 * A few words about the user; `None` when they wrote none.
 */
bio: string | null, 
/**
 * Avatar image URL (see [`ProfileUpdate`](crate::service::ProfileUpdate)).
 */
avatar_url: string | null, 
/**
 * `online` or `offline`.
 */
status: "online" | "offline", 
/**
 * When the user was last connected.
 */
last_seen: string | null, };
export type OwnUser = { 
/**
 * E-mail address.
 */
email: string, 
/**
 * Registration time.
 */
created_at: string, 
/**
 * Whether the e-mail address has been verified.
 */
email_verified: boolean, 
/**
 * User id.
 */
id: UserId, 
/**
 * Username.
 */
username: string, 
/**
 * Name to show instead of the username; `None`: show the username.
 */
display_name: string | null, 
/**
 * A few words about the user; `None` when they wrote none.
 */
bio: string | null, 
/**
 * Avatar image URL (see [`ProfileUpdate`](crate::service::ProfileUpdate)).
 */
avatar_url: string | null, 
/**
 * `online` or `offline`.
 */
status: "online" | "offline", 
/**
 * When the user was last connected.
 */
last_seen: string | null, };
export type MessageType = "text" | "image" | "audio" | "file" | "system" | "call";
export type AttachmentKind = "image" | "audio" | "file";
export type Attachment = { 
/**
 * Where members download it (the message's `file_url`).
 */
url: string, 
/**
 * What it is.
 */
kind: AttachmentKind, 
/**
 * Its MIME type, decided from its bytes.
 */
mime: string, 
/**
 * Bytes stored.
 */
size: number, 
/**
 * The name it was uploaded under, sanitised (never a path).
 */
name: string, 
/**
 * Images: width in pixels.
 */
width?: number | null, 
/**
 * Images: height in pixels.
 */
height?: number | null, 
/**
 * Images: a smaller copy.
 */
thumbnail_url?: string | null, 
/**
 * Audio: its length, read from the container.
 */
duration_ms?: number | null, };
export type MessageSender = { 
/**
 * User id.
 */
id: UserId, 
/**
 * Username.
 */
username: string, 
/**
 * Name to show instead of the username; `None`: show the username.
 */
display_name: string | null, 
/**
 * Avatar image URL.
 */
avatar_url: string | null, };
export type ReplyPreview = { 
/**
 * The quoted message.
 */
id: MessageId, 
/**
 * Its `seq`.
 */
seq: number, 
/**
 * Its sender.
 */
sender_id: UserId, 
/**
 * Its sender's username.
 */
username: string, 
/**
 * Its sender's display name, if they set one.
 */
display_name: string | null, 
/**
 * Its text, at most 200 characters.
 */
content: string, 
/**
 * Its kind.
 */
message_type: MessageType, 
/**
 * Whether it was deleted.
 */
deleted: boolean, };
export type ReactionCount = { 
/**
 * One emoji (fully qualified).
 */
emoji: string, 
/**
 * How many users reacted with it.
 */
count: number, };
export type CallId = string;
export type CallMedia = "audio" | "video";
export type CallState = "ringing" | "active" | "ended";
export type CallEndReason = "hangup" | "declined" | "missed" | "busy" | "failed";
export type CallSummary = { 
/**
 * The call's id.
 */
call_id: CallId, 
/**
 * Voice or video.
 */
media: CallMedia, 
/**
 * How it ended.
 */
reason: CallEndReason, 
/**
 * How long it was answered, in milliseconds.
 */
duration_ms: number, 
/**
 * Who called.
 */
caller_id: UserId, 
/**
 * Who was called.
 */
callee_id: UserId, };
export type Message = { 
/**
 * Message id.
 */
id: MessageId, 
/**
 * Conversation id.
 */
conversation_id: ConversationId, 
/**
 * Number within the conversation, contiguous, in commit order.
 */
seq: number, 
/**
 * The conversation's revision at this message's last change (its
 * sending, so far): catch up with `after_rev`.
 */
rev: number, 
/**
 * Sender's user id.
 */
sender_id: UserId, 
/**
 * Sender's public profile.
 */
sender: MessageSender, 
/**
 * Text (trimmed).
 */
content: string, 
/**
 * Kind.
 */
message_type: MessageType, 
/**
 * The upload's URL for image, audio and file messages.
 */
file_url: string | null, 
/**
 * The upload an image, audio or file message carries (`None` on text,
 * system and deleted messages).
 */
attachment: Attachment | null, 
/**
 * Sender-chosen idempotency key.
 */
client_id: string | null, 
/**
 * Commit time.
 */
created_at: string, 
/**
 * `None`, or when the content was last edited.
 */
edited_at: string | null, 
/**
 * `None`, or when the message was deleted: a deleted message keeps its
 * id, `seq`, sender and `created_at`; its content is `""` and its
 * `file_url` `None`, erased from storage.
 */
deleted_at: string | null, 
/**
 * The message this one replies to, quoted.
 */
reply_to: ReplyPreview | null, 
/**
 * How many messages reply to this one (its thread).
 */
reply_count: number, 
/**
 * The members named as `@username` in the content when it was sent.
 */
mentions: Array<UserId>, 
/**
 * Its reactions, `{emoji, count}` in order of first use.
 */
reactions: Array<ReactionCount>, 
/**
 * What a `call` message records of its call (`None` on other messages).
 */
call?: CallSummary | null, 
/**
 * The emoji the requesting user reacted with: in answers to one user
 * (REST and acks), `None` (left out) in broadcasts.
 */
my_reactions?: Array<string> | null, };
export type ConversationKind = "direct" | "group";
export type Conversation = { 
/**
 * Conversation id.
 */
id: ConversationId, 
/**
 * `direct` or `group`.
 */
type: ConversationKind, 
/**
 * Group name (`None` for direct conversations).
 */
name: string | null, 
/**
 * Whether anyone can find and join it.
 */
is_public: boolean, 
/**
 * Creator.
 */
created_by: UserId | null, 
/**
 * Creation time.
 */
created_at: string, 
/**
 * Up to 50 members; page through all with the members endpoint.
 */
members: Array<User>, 
/**
 * Number of members.
 */
member_count: number, 
/**
 * Newest message.
 */
last_message: Message | null, 
/**
 * Messages from others after the caller's read pointer.
 */
unread_count: number, 
/**
 * Messages after the caller's read pointer that mention the caller.
 */
mention_count: number, 
/**
 * Highest `seq` so far.
 */
last_seq: number, 
/**
 * Highest revision so far: every change of one of its messages (sent,
 * edited, deleted, reacted to) takes the next one.
 */
last_rev: number, 
/**
 * Until when the caller muted the conversation (their own setting;
 * `None` when not muted, and in the public room list). Muted
 * conversations still deliver everything.
 */
muted_until: string | null, 
/**
 * While muted, the caller's mentions are silenced too (their own
 * setting; `false` in the public room list). A muted group still
 * notifies its mentions unless this is set.
 */
mute_mentions: boolean, 
/**
 * Groups and public rooms: members with a live socket on any instance
 * (in `GET /api/conversations/:id` and the room list; absent elsewhere
 * and for direct conversations). Kept current by
 * `conversation:online_count`.
 */
online_count?: number | null, };
export type SendMessage = { 
/**
 * Target conversation.
 */
conversation_id: ConversationId, 
/**
 * Text; trimmed, 1..=max_message_chars characters (may be empty with an attachment).
 */
content: string, 
/**
 * `text` (default), `image`, `audio` or `file`; `system` is refused.
 */
message_type?: MessageType, 
/**
 * URL of the sender's upload, for image, audio and file messages.
 */
file_url?: string, 
/**
 * Idempotency key chosen by the sender (1..=64 characters).
 */
client_id?: string, 
/**
 * The message this one replies to: one of the same conversation, not
 * deleted (`unprocessable` otherwise).
 */
reply_to?: MessageId, };
export type EditMessage = { 
/**
 * The message to edit.
 */
message_id: MessageId, 
/**
 * Its new text.
 */
content: string, };
export type DeleteMessage = { 
/**
 * The message to delete.
 */
message_id: MessageId, };
export type MessageDeleted = { 
/**
 * The conversation.
 */
conversation_id: ConversationId, 
/**
 * The deleted message.
 */
message_id: MessageId, 
/**
 * Its `seq` (unchanged).
 */
seq: number, 
/**
 * The revision the deletion took.
 */
rev: number, 
/**
 * When it was deleted.
 */
deleted_at: string, };
export type ReactionRequest = { 
/**
 * The message reacted to.
 */
message_id: MessageId, 
/**
 * One emoji: a single emoji sequence (skin tones and ZWJ sequences
 * included), at most 32 bytes.
 */
emoji: string, };
export type ReactionOutcome = { 
/**
 * The message.
 */
message_id: MessageId, 
/**
 * The message's revision with these reactions (a client applies what
 * it hears about the message in revision order).
 */
rev: number, 
/**
 * `{emoji, count}` in order of first use.
 */
reactions: Array<ReactionCount>, 
/**
 * The emoji the caller reacted with.
 */
my_reactions: Array<string>, };
export type ReactionAction = "add" | "remove";
export type ReactionEvent = { 
/**
 * The conversation.
 */
conversation_id: ConversationId, 
/**
 * The message.
 */
message_id: MessageId, 
/**
 * The revision the change took.
 */
rev: number, 
/**
 * Who reacted.
 */
user_id: UserId, 
/**
 * With what.
 */
emoji: string, 
/**
 * Added or removed.
 */
action: ReactionAction, 
/**
 * How many users now react with this emoji.
 */
count: number, };
export type ReceiptRequest = { 
/**
 * Conversation.
 */
conversation_id: ConversationId, 
/**
 * The newest message covered.
 */
message_id: MessageId, };
export type Receipt = { 
/**
 * Conversation.
 */
conversation_id: ConversationId, 
/**
 * Newest message covered.
 */
message_id: MessageId, 
/**
 * `seq` of that message: every message with a `seq` up to it is covered.
 */
seq: number, 
/**
 * Who read / received it.
 */
user_id: UserId, 
/**
 * When (`read_at` for reads).
 */
read_at?: string, 
/**
 * When (`delivered_at` for deliveries).
 */
delivered_at?: string, };
export type Typing = { 
/**
 * Conversation.
 */
conversation_id: ConversationId, 
/**
 * Who is typing.
 */
user_id: UserId, 
/**
 * Their username.
 */
username: string, };
export type Presence = { 
/**
 * User.
 */
user_id: UserId, 
/**
 * Username.
 */
username: string, 
/**
 * When the last connection closed (`user:offline` only).
 */
last_seen?: string, };
export type MemberEvent = { 
/**
 * Conversation.
 */
conversation_id: ConversationId, 
/**
 * Who joined or left.
 */
user: User, };
export type OnlineCount = { 
/**
 * The group.
 */
conversation_id: ConversationId, 
/**
 * Members with a live socket on any instance.
 */
online_count: number, };
export type BlockEvent = { 
/**
 * The user blocked or unblocked.
 */
user_id: UserId, };
export type SessionEnded = { 
/**
 * Why: `"expired"`, or the host's reason (`"logged_out"`, ...).
 */
reason: string, };
export type ConversationRef = { 
/**
 * Conversation id.
 */
conversation_id: ConversationId, };
export type PushPayload = { 
/**
 * Always `message`.
 */
type: string, 
/**
 * The conversation to open on click.
 */
conversation_id: ConversationId, 
/**
 * The group's name; `null` for a direct conversation.
 */
conversation_name: string | null, 
/**
 * Who wrote the latest message (display name, else username).
 */
sender_name: string, 
/**
 * The notification's title: the sender in a direct conversation, the
 * group's name otherwise.
 */
title: string, 
/**
 * "New message", "3 new messages", or with previews on the text of
 * the latest message (a group's prefixed with its sender).
 */
body: string, 
/**
 * Messages this notification stands for.
 */
count: number, 
/**
 * One of them mentions the recipient.
 */
mentioned: boolean, 
/**
 * The latest message.
 */
message_id: MessageId, 
/**
 * Its `seq` in the conversation.
 */
seq: number, 
/**
 * Where the app shows the conversation.
 */
url: string, };
export type Call = { 
/**
 * Random id.
 */
id: CallId, 
/**
 * The direct conversation it belongs to.
 */
conversation_id: ConversationId, 
/**
 * Who started it.
 */
caller_id: UserId, 
/**
 * Who was called.
 */
callee_id: UserId, 
/**
 * Voice or video.
 */
media: CallMedia, 
/**
 * Ringing, active or ended.
 */
state: CallState, 
/**
 * When it was started.
 */
started_at: string, 
/**
 * When the callee answered.
 */
answered_at: string | null, 
/**
 * When it ended.
 */
ended_at: string | null, 
/**
 * Why it ended (once ended).
 */
end_reason: CallEndReason | null, 
/**
 * From `answered_at` to `ended_at`; 0 for a call never answered or
 * still going.
 */
duration_ms: number, };
export type StartCall = { 
/**
 * A direct conversation of the caller.
 */
conversation_id: ConversationId, 
/**
 * Voice or video.
 */
media: CallMedia, };
export type CallRef = { 
/**
 * The call's id.
 */
call_id: string, };
export type CallSignal = { 
/**
 * The call's id.
 */
call_id: string, 
/**
 * Any JSON but `null`, at most [`MAX_SIGNAL_BYTES`] serialized.
 */
data: unknown, };
export type CallSignalEvent = { 
/**
 * The call's id.
 */
call_id: CallId, 
/**
 * Who sent it (the other side).
 */
from_user_id: UserId, 
/**
 * As sent.
 */
data: unknown, };
export type CallEnded = { 
/**
 * The call's id.
 */
call_id: CallId, 
/**
 * Why it ended.
 */
reason: CallEndReason, 
/**
 * How long it was answered.
 */
duration_ms: number, 
/**
 * The ended call.
 */
call: Call, };
export type CallElsewhere = { 
/**
 * The call's id.
 */
call_id: CallId, };

/** A failed ack: `code` is one of docs/protocol.md's error codes. */
export type AckError = { success: false; error: string; code: string; details?: Record<string, string> };
/** What every client event is acknowledged with. */
export type Ack<T extends object = object> = ({ success: true } & T) | AckError;

/** The events the server emits, for socket.io-client's `Socket<ServerToClientEvents, ...>`. */
export interface ServerToClientEvents {
  "message:new": (payload: Message) => void;
  "message:updated": (payload: Message) => void;
  "message:deleted": (payload: MessageDeleted) => void;
  "message:reaction": (payload: ReactionEvent) => void;
  "message:read": (payload: Receipt) => void;
  "message:delivered": (payload: Receipt) => void;
  "typing:start": (payload: Typing) => void;
  "typing:stop": (payload: Typing) => void;
  "conversation:new": (payload: Conversation) => void;
  "conversation:member_joined": (payload: MemberEvent) => void;
  "conversation:member_left": (payload: MemberEvent) => void;
  "conversation:online_count": (payload: OnlineCount) => void;
  "session:ended": (payload: SessionEnded) => void;
  "sync:check": () => void;
  "user:online": (payload: Presence) => void;
  "user:offline": (payload: Presence) => void;
  "user:blocked": (payload: BlockEvent) => void;
  "user:unblocked": (payload: BlockEvent) => void;
  "user:updated": (payload: User) => void;
  "call:incoming": (payload: Call) => void;
  "call:accepted": (payload: Call) => void;
  "call:answered_elsewhere": (payload: CallElsewhere) => void;
  "call:signal": (payload: CallSignalEvent) => void;
  "call:ended": (payload: CallEnded) => void;
}

/** The events a client emits; the server acknowledges each (a client may leave the ack out). */
export interface ClientToServerEvents {
  "message:send": (payload: SendMessage, ack?: (ack: Ack<{ message: Message }>) => void) => void;
  "message:edit": (payload: EditMessage, ack?: (ack: Ack<{ message: Message }>) => void) => void;
  "message:delete": (payload: DeleteMessage, ack?: (ack: Ack<{ message: Message }>) => void) => void;
  "reaction:add": (payload: ReactionRequest, ack?: (ack: Ack<ReactionOutcome>) => void) => void;
  "reaction:remove": (payload: ReactionRequest, ack?: (ack: Ack<ReactionOutcome>) => void) => void;
  "message:read": (payload: ReceiptRequest, ack?: (ack: Ack<{ receipt: Receipt }>) => void) => void;
  "message:delivered": (payload: ReceiptRequest, ack?: (ack: Ack<{ receipt: Receipt }>) => void) => void;
  "typing:start": (payload: ConversationRef, ack?: (ack: Ack<ConversationRef>) => void) => void;
  "typing:stop": (payload: ConversationRef, ack?: (ack: Ack<ConversationRef>) => void) => void;
  "conversation:join": (payload: ConversationRef, ack?: (ack: Ack<ConversationRef>) => void) => void;
  "session:refresh": (payload: { token: string }, ack?: (ack: Ack<{ expires_at: number | null }>) => void) => void;
  "call:start": (payload: StartCall, ack?: (ack: Ack<{ call: Call }>) => void) => void;
  "call:accept": (payload: CallRef, ack?: (ack: Ack<{ call: Call }>) => void) => void;
  "call:decline": (payload: CallRef, ack?: (ack: Ack<{ call: Call }>) => void) => void;
  "call:end": (payload: CallRef, ack?: (ack: Ack<{ call: Call }>) => void) => void;
  "call:signal": (payload: CallSignal, ack?: (ack: Ack<object>) => void) => void;
  "call:resume": (payload: CallRef, ack?: (ack: Ack<{ call: Call }>) => void) => void;
}
