//! Conversations: who may see and change them. One file per concern:
//! [`create`] (direct and group conversations), [`listing`] (one conversation
//! or the caller's list, page by page), [`history`] (pages of messages and
//! catch-up), [`members`] (membership checks, member lists, what outsiders
//! are told). Their SQL lives in [`store`](crate::store).

pub(crate) mod create;
pub(crate) mod history;
pub(crate) mod listing;
pub(crate) mod members;
pub(crate) mod settings;
