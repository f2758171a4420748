//! Fan-out: how an event reaches its audience. Below both the services
//! (which broadcast after each commit) and the socket layer (which subscribes
//! sockets to rooms): [`target`] names audiences and rooms, [`emitter`] hands
//! one serialized payload to the Socket.IO server, whatever its adapter.

pub(crate) mod emitter;
pub(crate) mod target;

pub(crate) use emitter::{Emitter, SocketDeadline, SocketEmitter};
pub(crate) use target::{Target, conversation_room, session_room, user_room};
