// Wire types of the chat server (REST bodies and Socket.IO payloads). Field names are the
// server's snake_case names; ids are integers and timestamps RFC 3339 strings.
//
// The socket protocol's types come from `protocol.generated.ts`, generated from the server's Rust
// types (a test fails when it is out of date). The few defined here only loosen a generated type
// where the client also meets older shapes (fields a message gained later) or REST-only bodies.
import type * as Wire from './protocol.generated';
import type { AttachmentKind, MessageType } from './protocol.generated';

export type {
  Ack,
  AckError as AckFailure,
  AttachmentKind,
  Call,
  CallElsewhere,
  CallEnded,
  CallEndReason,
  CallMedia,
  CallSignalEvent,
  CallSummary,
  ClientToServerEvents,
  ConversationRef,
  MessageType,
  ReactionCount,
  ReactionOutcome,
  ServerToClientEvents,
} from './protocol.generated';

/** Fields made optional: what `Wire` types carry that older messages or fixtures may lack. */
type Loosen<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export type UserStatus = Wire.User['status'];

export type User = Loosen<Wire.User, 'display_name' | 'bio'>;

/** The signed-in user as returned by register, login and `me`. */
export interface CurrentUser extends User {
  email: string;
  created_at: string;
}

/** The upload an image, audio or file message carries (`url` equals the message's `file_url`). */
export type MessageAttachment = Wire.Attachment;

export type MessageSender = Loosen<Wire.MessageSender, 'display_name'>;

export type Message = Loosen<
  Omit<Wire.Message, 'sender' | 'reply_to'> & { sender: MessageSender; reply_to?: ReplyPreview | null },
  'rev' | 'edited_at' | 'deleted_at' | 'reply_count' | 'mentions' | 'reactions' | 'attachment'
>;


/** `message:reaction`: someone added or removed a reaction. */
export type MessageReactionEvent = Wire.ReactionEvent;

/** The ack of `reaction:add` / `reaction:remove`. */

/** The quote of a replied-to message (`content` cut to 200 characters). */
export type ReplyPreview = Loosen<Wire.ReplyPreview, 'display_name'>;

export type ReactionPayload = Wire.ReactionRequest;

/** `message:deleted`: a message became a tombstone. */
export type MessageDeletedEvent = Wire.MessageDeleted;

export type ConversationType = Wire.ConversationKind;

export type Conversation = Loosen<
  Omit<Wire.Conversation, 'members' | 'last_message'> & { members: User[]; last_message: Message | null },
  'member_count' | 'is_public' | 'mention_count' | 'last_seq' | 'last_rev' | 'muted_until' | 'mute_mentions'
>;

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

/** Clients cannot send system notices nor call messages (the server writes those). */
export type SendMessagePayload = Omit<Wire.SendMessage, 'message_type'> & {
  message_type?: Exclude<MessageType, 'system' | 'call'>;
};

export type MessageReceiptPayload = Wire.ReceiptRequest;


export type Acknowledge<T extends object = object> = (ack: Wire.Ack<T>) => void;

export type MessageReadEvent = Wire.Receipt;

export type MessageDeliveredEvent = Wire.Receipt;

export type TypingEvent = Wire.Typing;

export type UserOnlineEvent = Wire.Presence;

export type UserOfflineEvent = Wire.Presence;

/** `user:blocked` / `user:unblocked`: whom the signed-in user blocked or unblocked. */
export type BlockEvent = Wire.BlockEvent;

/** `conversation:online_count`: a group's members online, at most once a second. */
export type ConversationOnlineCountEvent = Wire.OnlineCount;

export type MemberChangeEvent = Omit<Wire.MemberEvent, 'user'> & { user: User };

/**
 * The server ended the session (`logged_out`, `logged_out_everywhere`, `password_reset`,
 * `refresh_token_reused`) or only this socket, whose token expired (`expired`).
 */
export type SessionEndedEvent = Wire.SessionEnded;
