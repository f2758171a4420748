//! The protocol as TypeScript: every wire type of the socket events (and the
//! REST bodies that share them) declared from the Rust types with `ts-rs`,
//! and the typed event maps socket.io-client takes as generics:
//!
//! ```ts
//! import { io, Socket } from "socket.io-client";
//! import type { ClientToServerEvents, ServerToClientEvents } from "./protocol.generated";
//!
//! const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } });
//! socket.emit("message:send", { conversation_id: 7, content: "hi" }, (ack) => {
//!   if (ack.success) console.log(ack.message.seq); else console.log(ack.code);
//! });
//! ```
//!
//! The React client imports the generated file (`client/src/api/protocol.generated.ts`);
//! a test compares it with [`declarations`] so it never drifts from the Rust
//! types.
//!
//! ```
//! let ts = chat_core::typescript::declarations();
//! assert!(ts.contains("export type Message = {"));
//! assert!(ts.contains("\"message:new\": (payload: Message) => void;"));
//! ```
use ts_rs::{Config, TS};

use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Attachment, AttachmentKind, Conversation, ConversationKind, Message};
use crate::model::{Call, CallEndReason, CallId, CallMedia, CallState, CallSummary};
use crate::model::{MessageSender, MessageType, OwnUser, ReactionCount, ReplyPreview, User};
use crate::protocol as events;
use crate::protocol::{ConversationRef, SessionEnded};
use crate::service::{
    BlockEvent, CallElsewhere, CallEnded, CallRef, CallSignal, CallSignalEvent, DeleteMessage,
    EditMessage, MemberEvent, MessageDeleted, OnlineCount, Presence, ReactionAction, ReactionEvent,
    ReactionOutcome, ReactionRequest, Receipt, ReceiptRequest, SendMessage, StartCall, Typing,
};

/// How the declarations are written: ids and counts (`i64` in Rust) are
/// JavaScript numbers, which hold them exactly up to 2^53.
fn config() -> Config {
    Config::new().with_large_int("number")
}

/// One `export type` declaration.
fn declare<T: TS>(cfg: &Config) -> String {
    format!("export {}\n", T::decl(cfg))
}

/// A client event: its payload type and what a successful ack carries
/// besides `success: true` (TypeScript).
struct ClientEvent {
    name: &'static str,
    payload: String,
    ack: &'static str,
}

/// A server event and its payload type (`None`: no payload).
struct ServerEvent {
    name: &'static str,
    payload: Option<String>,
}

fn client_events(cfg: &Config) -> Vec<ClientEvent> {
    let event = |name, payload: String, ack| ClientEvent { name, payload, ack };
    vec![
        event(
            events::MESSAGE_SEND,
            SendMessage::name(cfg),
            "{ message: Message }",
        ),
        event(
            events::MESSAGE_EDIT,
            EditMessage::name(cfg),
            "{ message: Message }",
        ),
        event(
            events::MESSAGE_DELETE,
            DeleteMessage::name(cfg),
            "{ message: Message }",
        ),
        event(
            events::REACTION_ADD,
            ReactionRequest::name(cfg),
            "ReactionOutcome",
        ),
        event(
            events::REACTION_REMOVE,
            ReactionRequest::name(cfg),
            "ReactionOutcome",
        ),
        event(
            events::MESSAGE_READ,
            ReceiptRequest::name(cfg),
            "{ receipt: Receipt }",
        ),
        event(
            events::MESSAGE_DELIVERED,
            ReceiptRequest::name(cfg),
            "{ receipt: Receipt }",
        ),
        event(
            events::TYPING_START,
            ConversationRef::name(cfg),
            "ConversationRef",
        ),
        event(
            events::TYPING_STOP,
            ConversationRef::name(cfg),
            "ConversationRef",
        ),
        event(
            events::CONVERSATION_JOIN,
            ConversationRef::name(cfg),
            "ConversationRef",
        ),
        event(
            events::SESSION_REFRESH,
            "{ token: string }".to_owned(),
            "{ expires_at: number | null }",
        ),
        event(events::CALL_START, StartCall::name(cfg), "{ call: Call }"),
        event(events::CALL_ACCEPT, CallRef::name(cfg), "{ call: Call }"),
        event(events::CALL_DECLINE, CallRef::name(cfg), "{ call: Call }"),
        event(events::CALL_END, CallRef::name(cfg), "{ call: Call }"),
        event(events::CALL_SIGNAL, CallSignal::name(cfg), "object"),
        event(events::CALL_RESUME, CallRef::name(cfg), "{ call: Call }"),
    ]
}

fn server_events(cfg: &Config) -> Vec<ServerEvent> {
    let event = |name, payload: String| ServerEvent {
        name,
        payload: Some(payload),
    };
    vec![
        event(events::MESSAGE_NEW, Message::name(cfg)),
        event(events::MESSAGE_UPDATED, Message::name(cfg)),
        event(events::MESSAGE_DELETED, MessageDeleted::name(cfg)),
        event(events::MESSAGE_REACTION, ReactionEvent::name(cfg)),
        event(events::MESSAGE_READ, Receipt::name(cfg)),
        event(events::MESSAGE_DELIVERED, Receipt::name(cfg)),
        event(events::TYPING_START, Typing::name(cfg)),
        event(events::TYPING_STOP, Typing::name(cfg)),
        event(events::CONVERSATION_NEW, Conversation::name(cfg)),
        event(events::CONVERSATION_MEMBER_JOINED, MemberEvent::name(cfg)),
        event(events::CONVERSATION_MEMBER_LEFT, MemberEvent::name(cfg)),
        event(events::CONVERSATION_ONLINE_COUNT, OnlineCount::name(cfg)),
        event(events::SESSION_ENDED, SessionEnded::name(cfg)),
        ServerEvent {
            name: events::SYNC_CHECK,
            payload: None,
        },
        event(events::USER_ONLINE, Presence::name(cfg)),
        event(events::USER_OFFLINE, Presence::name(cfg)),
        event(events::USER_BLOCKED, BlockEvent::name(cfg)),
        event(events::USER_UNBLOCKED, BlockEvent::name(cfg)),
        event(events::USER_UPDATED, User::name(cfg)),
        event(events::CALL_INCOMING, Call::name(cfg)),
        event(events::CALL_ACCEPTED, Call::name(cfg)),
        event(events::CALL_ANSWERED_ELSEWHERE, CallElsewhere::name(cfg)),
        event(events::CALL_SIGNAL, CallSignalEvent::name(cfg)),
        event(events::CALL_ENDED, CallEnded::name(cfg)),
    ]
}

/// The TypeScript file of the protocol: a declaration per wire type, the ack
/// envelope, and `ServerToClientEvents` / `ClientToServerEvents`.
pub fn declarations() -> String {
    let cfg = config();
    let mut out = String::from(
        "// Generated from chat-core's Rust types (chat_core::typescript::declarations);\n\
         // do not edit. `cargo test -p chat-core --test typescript` checks it is current;\n\
         // UPDATE_TYPESCRIPT=1 rewrites it.\n\n",
    );
    for decl in [
        declare::<UserId>(&cfg),
        declare::<ConversationId>(&cfg),
        declare::<MessageId>(&cfg),
        declare::<User>(&cfg),
        declare::<OwnUser>(&cfg),
        declare::<MessageType>(&cfg),
        declare::<AttachmentKind>(&cfg),
        declare::<Attachment>(&cfg),
        declare::<MessageSender>(&cfg),
        declare::<ReplyPreview>(&cfg),
        declare::<ReactionCount>(&cfg),
        declare::<CallId>(&cfg),
        declare::<CallMedia>(&cfg),
        declare::<CallState>(&cfg),
        declare::<CallEndReason>(&cfg),
        declare::<CallSummary>(&cfg),
        declare::<Message>(&cfg),
        declare::<ConversationKind>(&cfg),
        declare::<Conversation>(&cfg),
        declare::<SendMessage>(&cfg),
        declare::<EditMessage>(&cfg),
        declare::<DeleteMessage>(&cfg),
        declare::<MessageDeleted>(&cfg),
        declare::<ReactionRequest>(&cfg),
        declare::<ReactionOutcome>(&cfg),
        declare::<ReactionAction>(&cfg),
        declare::<ReactionEvent>(&cfg),
        declare::<ReceiptRequest>(&cfg),
        declare::<Receipt>(&cfg),
        declare::<Typing>(&cfg),
        declare::<Presence>(&cfg),
        declare::<MemberEvent>(&cfg),
        declare::<OnlineCount>(&cfg),
        declare::<BlockEvent>(&cfg),
        declare::<SessionEnded>(&cfg),
        declare::<ConversationRef>(&cfg),
        declare::<crate::push::PushPayload>(&cfg),
        declare::<Call>(&cfg),
        declare::<StartCall>(&cfg),
        declare::<CallRef>(&cfg),
        declare::<CallSignal>(&cfg),
        declare::<CallSignalEvent>(&cfg),
        declare::<CallEnded>(&cfg),
        declare::<CallElsewhere>(&cfg),
    ] {
        out.push_str(&decl);
    }
    out.push_str(
        "\n/** A failed ack: `code` is one of docs/protocol.md's error codes. */\n\
         export type AckError = { success: false; error: string; code: string; details?: Record<string, string> };\n\
         /** What every client event is acknowledged with. */\n\
         export type Ack<T extends object = object> = ({ success: true } & T) | AckError;\n\
         \n/** The events the server emits, for socket.io-client's `Socket<ServerToClientEvents, ...>`. */\n\
         export interface ServerToClientEvents {\n",
    );
    for event in server_events(&cfg) {
        match event.payload {
            Some(payload) => out.push_str(&format!(
                "  \"{}\": (payload: {payload}) => void;\n",
                event.name
            )),
            None => out.push_str(&format!("  \"{}\": () => void;\n", event.name)),
        }
    }
    out.push_str(
        "}\n\n/** The events a client emits; the server acknowledges each (a client may leave the ack out). */\nexport interface ClientToServerEvents {\n",
    );
    for event in client_events(&cfg) {
        out.push_str(&format!(
            "  \"{}\": (payload: {}, ack?: (ack: Ack<{}>) => void) => void;\n",
            event.name, event.payload, event.ack
        ));
    }
    out.push_str("}\n");
    out
}
