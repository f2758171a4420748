//! The client events the server handles, one line each: adding an event is
//! a handler function (see `handlers/event.rs` for its shape) plus its line
//! in [`client_events`]. Every event name and payload of the protocol is
//! defined in [`protocol`](crate::protocol) and re-exported here, so
//! `chat_core::socket::events::MESSAGE_NEW` names the same constant.
pub use crate::protocol::*;

use socketioxide::adapter::Adapter;

use super::handlers::{
    ClientEvents, EventTable, calls, conversations, messages, receipts, session, typing,
};

/// The engine's table of client events (built once, shared by its sockets).
pub(crate) fn table<A: Adapter>() -> EventTable<A> {
    let mut events = ClientEvents::new();
    client_events(&mut events);
    events.build()
}

/// Every client event of the protocol, each charged to the sender's budget
/// before its payload is decoded (unknown events too: see the dispatcher).
pub(crate) fn client_events<A: Adapter>(client: &mut ClientEvents<A>) {
    client.on(MESSAGE_SEND, messages::on_send::<A>);
    client.on(MESSAGE_EDIT, messages::on_edit::<A>);
    client.on(MESSAGE_DELETE, messages::on_delete::<A>);
    client.on(REACTION_ADD, messages::on_reaction_add::<A>);
    client.on(REACTION_REMOVE, messages::on_reaction_remove::<A>);
    client.on(MESSAGE_READ, receipts::on_read::<A>);
    client.on(MESSAGE_DELIVERED, receipts::on_delivered::<A>);
    client.on(TYPING_START, typing::on_typing_start::<A>);
    client.on(TYPING_STOP, typing::on_typing_stop::<A>);
    client.on(CONVERSATION_JOIN, conversations::on_join::<A>);
    client.on(SESSION_REFRESH, session::on_refresh::<A>);
    client.on(CALL_START, calls::on_start::<A>);
    client.on(CALL_ACCEPT, calls::on_accept::<A>);
    client.on(CALL_DECLINE, calls::on_decline::<A>);
    client.on(CALL_END, calls::on_end::<A>);
    client.on(CALL_SIGNAL, calls::on_signal::<A>);
    client.on(CALL_RESUME, calls::on_resume::<A>);
}
