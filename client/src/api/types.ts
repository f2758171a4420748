// Wire types of the chat server (REST bodies and Socket.IO payloads). Field names are the
// server's snake_case names; ids are integers and timestamps RFC 3339 strings.

export type UserStatus = 'online' | 'offline';

export interface User {
  id: number;
  username: string;
  /** The name to show instead of the username; null (or absent): show the username. */
  display_name?: string | null;
  /** A few words about the user, or null. */
  bio?: string | null;
  /** The 256 px square avatar; its 64 px variant is the same name with `_thumb`. */
  avatar_url: string | null;
  status: UserStatus;
  last_seen: string | null;
}

/** The signed-in user as returned by register, login and `me`. */
export interface CurrentUser extends User {
  email: string;
  created_at: string;
}

export type MessageType = 'text' | 'image' | 'audio' | 'file' | 'system';

/** What an upload is, as the server decided from its bytes; an upload is posted as a message of its kind. */
export type AttachmentKind = 'image' | 'audio' | 'file';

/** The upload an image, audio or file message carries (`url` equals the message's `file_url`). */
export interface MessageAttachment {
  url: string;
  kind: AttachmentKind;
  mime: string;
  /** Bytes. */
  size: number;
  /** The name it was uploaded under (sanitised by the server). */
  name: string;
  width?: number;
  height?: number;
  thumbnail_url?: string;
  /** Length of a voice message. */
  duration_ms?: number;
}

export interface MessageSender {
  id: number;
  username: string;
  display_name?: string | null;
  avatar_url: string | null;
}

export interface Message {
  id: number;
  conversation_id: number;
  /** Position within the conversation: 1, 2, 3, ... without gaps. */
  seq: number;
  /** The conversation's revision at the message's last change (catch up with `after_rev`). */
  rev?: number;
  sender_id: number;
  sender: MessageSender;
  content: string;
  message_type: MessageType;
  file_url: string | null;
  client_id: string | null;
  created_at: string;
  /** When the content was last edited, or null. */
  edited_at?: string | null;
  /** When the message was deleted (its content is then empty), or null. */
  deleted_at?: string | null;
  /** The message this one replies to, quoted. */
  reply_to?: ReplyPreview | null;
  /** How many messages reply to this one. */
  reply_count?: number;
  /** Ids of the members named as `@username` when it was sent. */
  mentions?: number[];
  /** `{emoji, count}` in order of first use. */
  reactions?: ReactionCount[];
  /** The emoji the user reacted with (in answers to the user; not in broadcasts). */
  my_reactions?: string[];
  /** The upload of an image, audio or file message; null on text, system and deleted messages
   * (and on images sent before attachments existed, which have only `file_url`). */
  attachment?: MessageAttachment | null;
}

export interface ReactionCount {
  emoji: string;
  count: number;
}

/** `message:reaction`: someone added or removed a reaction. */
export interface MessageReactionEvent {
  conversation_id: number;
  message_id: number;
  rev: number;
  user_id: number;
  emoji: string;
  action: 'add' | 'remove';
  count: number;
}

/** The ack of `reaction:add` / `reaction:remove`. */
export interface ReactionOutcome {
  message_id: number;
  rev: number;
  reactions: ReactionCount[];
  my_reactions: string[];
}

/** The quote of a replied-to message (`content` cut to 200 characters). */
export interface ReplyPreview {
  id: number;
  seq: number;
  sender_id: number;
  username: string;
  display_name?: string | null;
  content: string;
  message_type: MessageType;
  deleted: boolean;
}

export interface ReactionPayload {
  message_id: number;
  emoji: string;
}

/** `message:deleted`: a message became a tombstone. */
export interface MessageDeletedEvent {
  conversation_id: number;
  message_id: number;
  seq: number;
  rev: number;
  deleted_at: string;
}

export type ConversationType = 'direct' | 'group';

export interface Conversation {
  id: number;
  type: ConversationType;
  name: string | null;
  created_by: number;
  created_at: string;
  members: User[];
  member_count?: number;
  is_public?: boolean;
  last_message: Message | null;
  unread_count: number;
  /** Unread messages that mention the user. */
  mention_count?: number;
  /** The highest seq in the conversation (0 before the first message). */
  last_seq?: number;
  /** The conversation's highest revision: every change of one of its messages takes the next. */
  last_rev?: number;
  /** Until when the user muted the conversation (their own setting), or null. */
  muted_until?: string | null;
  /**
   * Groups and public rooms in `GET /api/conversations/:id` and `GET /api/rooms`: members with a
   * live socket; kept current by `conversation:online_count`.
   */
  online_count?: number;
}

/** An entry of `GET /api/rooms`: a public room, joined or not (`members` is empty there). */
export interface Room extends Conversation {
  is_member: boolean;
}

/** Answer of register, login and refresh. */
export interface AuthResponse {
  user: CurrentUser;
  /** The access token, a JWT with `exp`. */
  token: string;
  /** Also set as an HttpOnly cookie, which is what this client uses. */
  refresh_token?: string;
  /** Lifetime of `token` in seconds. */
  expires_in?: number;
}

/** Answer of `POST /api/upload` (field `file`): any file, its `kind` decided by the server. */
export interface UploadedFile {
  /** `/uploads/<hash>.<ext>`: what the message of this `kind` carries. */
  file_url: string;
  kind: AttachmentKind;
  mime: string;
  size: number;
  name: string;
  thumbnail_url?: string;
  width?: number;
  height?: number;
  /** Length of a voice message (`kind` audio). */
  duration_ms?: number;
}

/** Answer of `POST /api/upload` for an image. */
export interface UploadedImage {
  /** `/uploads/<hash>.<ext>`: what an image message carries. */
  file_url: string;
  /** `/uploads/<hash>_thumb.<ext>`: at most 320 pixels on its longest side. */
  thumbnail_url: string;
  width: number;
  height: number;
  size: number;
  mime: string;
  kind?: 'image';
  name?: string;
}

export interface MessagePage {
  messages: Message[];
  has_more: boolean;
  /** The conversation's revision when the page was read (read before its messages). */
  last_rev?: number;
}

/** Body of every REST error. */
export interface ApiErrorBody {
  error: string;
  code: string;
  details?: Record<string, string[]>;
}

// ---- Socket.IO ----

export interface SendMessagePayload {
  conversation_id: number;
  content: string;
  message_type?: Exclude<MessageType, 'system'>;
  file_url?: string;
  client_id?: string;
  /** The id of the message this one replies to (same conversation). */
  reply_to?: number;
}

export interface MessageReceiptPayload {
  conversation_id: number;
  message_id: number;
}

export interface ConversationRef {
  conversation_id: number;
}

export type AckFailure = { success: false; error: string; code: string };
export type Ack<T extends object = object> = ({ success: true } & T) | AckFailure;
export type Acknowledge<T extends object = object> = (ack: Ack<T>) => void;

export interface MessageReadEvent {
  conversation_id: number;
  message_id: number;
  user_id: number;
  read_at: string;
}

export interface MessageDeliveredEvent {
  conversation_id: number;
  message_id: number;
  user_id: number;
  delivered_at: string;
}

export interface TypingEvent {
  conversation_id: number;
  user_id: number;
  username: string;
}

export interface UserOnlineEvent {
  user_id: number;
  username: string;
}

export interface UserOfflineEvent {
  user_id: number;
  username: string;
  last_seen: string;
}

/** `user:blocked` / `user:unblocked`: whom the signed-in user blocked or unblocked. */
export interface BlockEvent {
  user_id: number;
}

/** `conversation:online_count`: a group's members online, at most once a second. */
export interface ConversationOnlineCountEvent {
  conversation_id: number;
  online_count: number;
}

export interface MemberChangeEvent {
  conversation_id: number;
  user: User;
}

/**
 * The server ended the session (`logged_out`, `logged_out_everywhere`, `password_reset`,
 * `refresh_token_reused`) or only this socket, whose token expired (`expired`).
 */
export interface SessionEndedEvent {
  reason: string;
}

export interface ServerToClientEvents {
  'message:new': (message: Message) => void;
  'message:updated': (message: Message) => void;
  'message:deleted': (event: MessageDeletedEvent) => void;
  'message:reaction': (event: MessageReactionEvent) => void;
  'message:read': (event: MessageReadEvent) => void;
  'message:delivered': (event: MessageDeliveredEvent) => void;
  'typing:start': (event: TypingEvent) => void;
  'typing:stop': (event: TypingEvent) => void;
  'user:online': (event: UserOnlineEvent) => void;
  'user:offline': (event: UserOfflineEvent) => void;
  'user:blocked': (event: BlockEvent) => void;
  'user:unblocked': (event: BlockEvent) => void;
  /** Someone sharing a conversation with the user (or the user) changed their profile. */
  'user:updated': (user: User) => void;
  'conversation:new': (conversation: Conversation) => void;
  'conversation:member_joined': (event: MemberChangeEvent) => void;
  'conversation:member_left': (event: MemberChangeEvent) => void;
  'conversation:online_count': (event: ConversationOnlineCountEvent) => void;
  'session:ended': (event: SessionEndedEvent) => void;
}

export interface ClientToServerEvents {
  'message:send': (payload: SendMessagePayload, ack: Acknowledge<{ message: Message }>) => void;
  'message:edit': (payload: { message_id: number; content: string }, ack: Acknowledge<{ message: Message }>) => void;
  'message:delete': (payload: { message_id: number }, ack: Acknowledge<{ message: Message }>) => void;
  'reaction:add': (payload: ReactionPayload, ack: Acknowledge<ReactionOutcome>) => void;
  'reaction:remove': (payload: ReactionPayload, ack: Acknowledge<ReactionOutcome>) => void;
  'message:read': (payload: MessageReceiptPayload, ack?: Acknowledge) => void;
  'message:delivered': (payload: MessageReceiptPayload, ack?: Acknowledge) => void;
  'typing:start': (payload: ConversationRef, ack?: Acknowledge) => void;
  'typing:stop': (payload: ConversationRef, ack?: Acknowledge) => void;
  'conversation:join': (payload: ConversationRef, ack?: Acknowledge) => void;
  /** A new access token for the open socket (same user and session); see `reauthenticate`. */
  'session:refresh': (payload: { token: string }, ack: Acknowledge<{ expires_at: number | null }>) => void;
}
