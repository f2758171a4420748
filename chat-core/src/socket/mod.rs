//! The Socket.IO side: authentication of the handshake, event handlers, and the
//! event names and payloads of the wire protocol.

pub mod auth;
pub(crate) mod emitter;
pub mod events;
pub(crate) mod handlers;
