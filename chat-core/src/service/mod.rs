//! Business rules of the chat, written once and called by both the socket
//! handlers and the host (REST) through [`ChatHandle`](crate::ChatHandle).

pub(crate) mod conversations;
pub(crate) mod db;
pub(crate) mod membership;
pub(crate) mod messages;
pub(crate) mod users;

pub use conversations::{CreateGroup, HistoryQuery, MessagePage};
pub use messages::{SendMessage, SendOutcome};
pub use users::NewUser;
