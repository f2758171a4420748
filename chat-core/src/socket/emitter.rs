//! Type-erased access to the Socket.IO server, so [`ChatHandle`](crate::ChatHandle)
//! is the same type whatever adapter (in-process or Redis) runs underneath.
use std::future::Future;
use std::pin::Pin;

use serde_json::value::RawValue;
use socketioxide::{SocketIo, adapter::Adapter, socket::Sid};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who receives a broadcast.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// Every socket in any of these rooms (each socket once)...
    pub(crate) rooms: Vec<String>,
    /// ...except this one (the sender, which gets an ack instead)...
    pub(crate) except_socket: Option<Sid>,
    /// ...and except sockets in these rooms.
    pub(crate) except_rooms: Vec<String>,
}

impl Target {
    pub(crate) fn rooms(rooms: Vec<String>) -> Self {
        Target {
            rooms,
            ..Default::default()
        }
    }

    pub(crate) fn room(room: String) -> Self {
        Target::rooms(vec![room])
    }

    pub(crate) fn except_socket(mut self, sid: Option<Sid>) -> Self {
        self.except_socket = sid;
        self
    }
}

pub(crate) trait Emitter: Send + Sync + 'static {
    /// Emits an already serialized payload to every socket in `target`.
    fn emit<'a>(
        &'a self,
        target: Target,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()>;

    /// Makes every socket in `rooms` (on every instance) join `join`.
    fn join(&self, rooms: Vec<String>, join: Vec<String>) -> BoxFuture<'_, ()>;

    /// Makes every socket in `rooms` (on every instance) leave `leave`.
    fn leave(&self, rooms: Vec<String>, leave: Vec<String>) -> BoxFuture<'_, ()>;

    /// Disconnects this instance's sockets (clients then reconnect elsewhere).
    fn close(&self) -> BoxFuture<'_, ()>;

    /// Disconnects every socket in `rooms`, on every instance.
    fn disconnect(&self, rooms: Vec<String>) -> BoxFuture<'_, ()>;
}

impl<A: Adapter> Emitter for SocketIo<A> {
    fn emit<'a>(
        &'a self,
        target: Target,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // Broadcasting "from" a socket is what excludes it; a socket id is
            // not a room in socketioxide, so `except(sid)` would exclude nothing.
            let mut op = match target.except_socket.and_then(|sid| self.get_socket(sid)) {
                Some(origin) => origin.to(target.rooms),
                None => self.to(target.rooms),
            };
            if !target.except_rooms.is_empty() {
                op = op.except(target.except_rooms);
            }
            if let Err(err) = op.emit(event, payload).await {
                tracing::warn!(event, %err, "broadcast failed");
            }
        })
    }

    fn join(&self, rooms: Vec<String>, join: Vec<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(err) = self.to(rooms).join(join).await {
                tracing::warn!(%err, "joining rooms failed");
            }
        })
    }

    fn leave(&self, rooms: Vec<String>, leave: Vec<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(err) = self.to(rooms).leave(leave).await {
                tracing::warn!(%err, "leaving rooms failed");
            }
        })
    }

    fn disconnect(&self, rooms: Vec<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(err) = self.to(rooms).disconnect().await {
                tracing::warn!(%err, "disconnecting sockets failed");
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // Closing the transports (rather than disconnecting the sockets, which
        // tells clients not to come back) makes clients reconnect, to another
        // instance behind a load balancer. Only this instance's sockets close.
        Box::pin(async move { SocketIo::close(self).await })
    }
}

/// Room of every socket of one user (all tabs and devices).
pub(crate) fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Room of every socket opened with the credentials of one login session.
pub(crate) fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Room of every socket subscribed to one conversation.
pub(crate) fn conversation_room(conversation_id: i64) -> String {
    format!("conv:{conversation_id}")
}
