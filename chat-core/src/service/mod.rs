//! Business rules of the chat, written once and called by both the socket
//! handlers and the host (REST) through [`ChatHandle`](crate::ChatHandle).
//!
//! This module holds the request and result types of those methods; the
//! event payloads among them ([`Typing`], [`Presence`], [`Receipt`],
//! [`MemberEvent`]) are listed with their events in
//! [`socket::events`](crate::socket::events).
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, bob: chat_core::ids::UserId, carol: chat_core::ids::UserId)
//! #     -> Result<(), chat_core::ChatError> {
//! use chat_core::service::{CreateGroup, SendMessage};
//!
//! let group = CreateGroup { name: "Rustaceans".into(), member_ids: vec![bob, carol], is_public: false };
//! let group = chat.create_group(me, group).await?;
//! chat.send_message(me, SendMessage::text(group.id, "welcome!"), None).await?;
//! # Ok(()) }
//! ```

pub(crate) mod activity;
pub(crate) mod audience;
pub(crate) mod block_cache;
pub(crate) mod blocks;
pub(crate) mod bounded_cache;
pub(crate) mod budget;
pub(crate) mod calls;
pub(crate) mod conversations;
pub(crate) mod lifecycle;
pub(crate) mod membership;
pub(crate) mod messages;
pub(crate) mod online;
pub(crate) mod page;
pub(crate) mod presence;
pub(crate) mod profiles;
pub(crate) mod push;
pub(crate) mod reactions;
pub(crate) mod receipts;
pub(crate) mod rooms;
pub(crate) mod search;
pub(crate) mod session_cache;
pub(crate) mod sessions;
pub(crate) mod typing;
pub(crate) mod users;
pub(crate) mod writer;

pub use crate::model::RoomSummary;
pub use activity::{OnlineCount, Presence, Typing};
pub use blocks::BlockEvent;
pub use calls::{
    CallElsewhere, CallEnded, CallRef, CallSignal, CallSignalEvent, MAX_SIGNAL_BYTES, StartCall,
};
pub use conversations::create::CreateGroup;
pub use conversations::history::{HistoryQuery, MessagePage};
pub use conversations::listing::{
    CONVERSATION_PAGE_DEFAULT, CONVERSATION_PAGE_MAX, ConversationCursor, ConversationListQuery,
    ConversationPage,
};
pub use conversations::settings::ConversationSettings;
pub use lifecycle::{DeleteMessage, EditMessage, MessageDeleted, ReplyPage};
pub use messages::{SendMessage, SendOutcome};
pub use page::PageLimit;
pub use profiles::{MAX_BIO_CHARS, MAX_DISPLAY_NAME_CHARS, ProfileUpdate};
pub use reactions::{
    MAX_EMOJI_PER_MESSAGE, MessageReactors, REACTORS_LISTED, ReactionAction, ReactionEvent,
    ReactionOutcome, ReactionRequest,
};
pub use receipts::{Receipt, ReceiptKind, ReceiptRequest};
pub use rooms::MemberEvent;
pub use search::{MAX_QUERY_CHARS, MAX_SEARCH_OFFSET, SearchHit, SearchPage, SearchQuery};
pub use users::NewUser;
