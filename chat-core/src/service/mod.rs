//! Business rules of the chat, written once and called by both the socket
//! handlers and the host (REST) through [`ChatHandle`](crate::ChatHandle).

pub(crate) mod activity;
pub(crate) mod conversations;
pub(crate) mod db;
pub(crate) mod membership;
pub(crate) mod messages;
pub(crate) mod presence;
pub(crate) mod receipts;
pub(crate) mod rooms;
pub(crate) mod typing;
pub(crate) mod users;

pub use activity::{Presence, Typing};
pub use conversations::{CreateGroup, HistoryQuery, MessagePage};
pub use messages::{SendMessage, SendOutcome};
pub use receipts::{Receipt, ReceiptKind, ReceiptRequest};
pub use rooms::{MemberEvent, RoomSummary};
pub use users::NewUser;
