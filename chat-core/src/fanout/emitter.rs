//! Type-erased access to the Socket.IO server ([`Emitter`], implemented by
//! [`SocketEmitter`]), so [`ChatHandle`](crate::ChatHandle) is the same type
//! whatever adapter (in-process or Redis) runs underneath.
use std::future::Future;
use std::pin::Pin;

use serde_json::value::RawValue;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use socketioxide::{BroadcastError, SendError, SocketError, SocketIo};

use super::target::Target;
use crate::SocketParser;
use crate::protocol as events;
use crate::tasks::Tasks;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// When a socket's credentials expire, kept in its extensions: a socket is
/// ended for expiry only if it still carries the deadline it was scheduled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketDeadline(pub(crate) tokio::time::Instant);

pub(crate) trait Emitter: Send + Sync + 'static {
    /// Emits an already serialized payload to every socket in `target`.
    fn emit<'a>(
        &'a self,
        target: Target,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()>;

    /// Emits an already serialized payload to the sockets of `room` on this
    /// instance only (each instance emits to its own sockets what it
    /// computed itself). By default, as [`emit`](Self::emit) to the room:
    /// the same for a single instance.
    fn emit_local<'a>(
        &'a self,
        room: String,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()> {
        self.emit(Target::room(room), event, payload)
    }

    /// Makes every socket in `rooms` (on every instance) join `join`.
    fn join(&self, rooms: Vec<String>, join: Vec<String>) -> BoxFuture<'_, ()>;

    /// Makes every socket in `rooms` (on every instance) leave `leave`.
    fn leave(&self, rooms: Vec<String>, leave: Vec<String>) -> BoxFuture<'_, ()>;

    /// Makes this instance's socket `sid` join `room`.
    fn join_socket(&self, sid: Sid, room: String);

    /// Whether this instance's socket `sid` is connected and in `room`.
    fn socket_in_room(&self, sid: &str, room: &str) -> bool;

    /// Disconnects this instance's sockets (clients then reconnect elsewhere).
    fn close(&self) -> BoxFuture<'_, ()>;

    /// Disconnects every socket in `target`, on every instance.
    fn disconnect(&self, target: Target) -> BoxFuture<'_, ()>;

    /// Ends this instance's socket `sid` with `session:ended {"reason":
    /// "expired"}` if its credentials still expire at `deadline` (they were
    /// not refreshed meanwhile).
    fn expire(&self, sid: Sid, deadline: SocketDeadline);
}

/// The operators of the namespace `/`; `None` once the server has closed it
/// (at shutdown, when there is nobody left to reach). `SocketIo`'s own
/// shortcuts for `/` panic then, and the presence writers still announce
/// their last changes while the server closes.
fn root<A: Adapter>(io: &SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// The broadcast operator selecting `target`'s sockets.
fn audience<A: Adapter>(io: &SocketIo<A>, target: &Target) -> Option<BroadcastOperators<A>> {
    let root = root(io)?;
    // Broadcasting "from" a socket is what excludes it; a socket id is not a
    // room in socketioxide, so `except(sid)` would exclude nothing.
    let mut op = match target.except_socket.and_then(|sid| root.get_socket(sid)) {
        Some(origin) => origin.to(target.rooms.clone()),
        None => root.to(target.rooms.clone()),
    };
    if !target.except_rooms.is_empty() {
        op = op.except(target.except_rooms.clone());
    }
    Some(op)
}

/// Marks a socket already being disconnected for a full queue.
#[derive(Clone)]
struct Overflowed;

/// `full` sockets of the audience had a full outgoing queue and lost the event
/// just broadcast; the broadcast does not say which ones. Unless sockets
/// already being disconnected account for them, each other socket of the
/// audience on this instance gets [`SYNC_CHECK`](events::SYNC_CHECK), which
/// fails exactly for the full ones. Those are disconnected as soon as their
/// queue has room for the disconnect packet: the client reconnects and catches
/// up with `after_seq` instead of silently missing a message.
fn disconnect_overflowing<A: Adapter>(
    sockets: Vec<SocketRef<A>>,
    full: usize,
    event: &'static str,
    tasks: &Tasks,
) {
    let (known, unknown): (Vec<_>, Vec<_>) = sockets
        .into_iter()
        .partition(|s| s.extensions.get::<Overflowed>().is_some());
    if known.len() >= full {
        return;
    }
    for socket in unknown {
        if !matches!(
            socket.emit(events::SYNC_CHECK, &()),
            Err(SendError::Socket(SocketError::InternalChannelFull))
        ) {
            continue;
        }
        socket.extensions.insert(Overflowed);
        metrics::counter!("chat_slow_consumers_disconnected_total").increment(1);
        tracing::info!(sid = %socket.id, event, "outgoing queue full: disconnecting the socket so it catches up");
        tasks.spawn(async move {
            // The queue drains as the client reads; a client that reads
            // nothing is closed by the engine's heartbeat meanwhile.
            for _ in 0..600 {
                if !socket.connected() || socket.clone().disconnect().is_ok() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        });
    }
}

/// The Socket.IO server of an engine, with the engine's tasks for the work
/// a broadcast leaves behind.
pub(crate) struct SocketEmitter<A: Adapter> {
    io: SocketIo<A>,
    tasks: Tasks,
    parser: SocketParser,
}

impl<A: Adapter> SocketEmitter<A> {
    pub(crate) fn new(io: SocketIo<A>, tasks: Tasks, parser: SocketParser) -> Self {
        SocketEmitter { io, tasks, parser }
    }
}

/// A broadcast's payload in the form the server's parser encodes. The JSON
/// parser copies already serialized JSON as it is; any other parser would
/// encode a [`RawValue`] as a wrapper object, so it gets the value itself,
/// parsed once per broadcast (not per recipient).
enum Encodable<'a> {
    Json(&'a RawValue),
    Value(serde_json::Value),
}

impl<'a> Encodable<'a> {
    fn new(parser: SocketParser, payload: &'a RawValue) -> Self {
        match parser {
            SocketParser::Json => Encodable::Json(payload),
            SocketParser::Msgpack => match serde_json::from_str(payload.get()) {
                Ok(value) => Encodable::Value(value),
                // Serialized by chat-core itself, so always valid JSON.
                Err(_) => Encodable::Json(payload),
            },
        }
    }
}

impl serde::Serialize for Encodable<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Encodable::Json(raw) => raw.serialize(serializer),
            Encodable::Value(value) => value.serialize(serializer),
        }
    }
}

impl<A: Adapter> Emitter for SocketEmitter<A> {
    fn emit<'a>(
        &'a self,
        target: Target,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let Some(audience_op) = audience(&self.io, &target) else {
                return;
            };
            let payload = Encodable::new(self.parser, payload);
            match audience_op.emit(event, &payload).await {
                Ok(()) => {}
                Err(BroadcastError::Socket(errors)) => {
                    let full = errors
                        .iter()
                        .filter(|e| matches!(e, SocketError::InternalChannelFull))
                        .count();
                    if let Some(audience_op) = audience(&self.io, &target).filter(|_| full > 0) {
                        disconnect_overflowing(audience_op.sockets(), full, event, &self.tasks);
                    }
                }
                Err(err) => tracing::warn!(event, %err, "broadcast failed"),
            }
        })
    }

    fn emit_local<'a>(
        &'a self,
        room: String,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // A full queue loses only this count: the next one replaces it.
            let Some(root) = root(&self.io) else {
                return;
            };
            let payload = Encodable::new(self.parser, payload);
            if let Err(err) = root.local().to(room).emit(event, &payload).await {
                tracing::debug!(event, %err, "local broadcast not delivered to every socket");
            }
        })
    }

    fn join(&self, rooms: Vec<String>, join: Vec<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let Some(root) = root(&self.io) else {
                return;
            };
            if let Err(err) = root.to(rooms).join(join).await {
                tracing::warn!(%err, "joining rooms failed");
            }
        })
    }

    fn leave(&self, rooms: Vec<String>, leave: Vec<String>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let Some(root) = root(&self.io) else {
                return;
            };
            if let Err(err) = root.to(rooms).leave(leave).await {
                tracing::warn!(%err, "leaving rooms failed");
            }
        })
    }

    fn join_socket(&self, sid: Sid, room: String) {
        if let Some(socket) = root(&self.io).and_then(|root| root.get_socket(sid)) {
            socket.join(room);
        }
    }

    fn socket_in_room(&self, sid: &str, room: &str) -> bool {
        let Ok(sid) = sid.parse::<Sid>() else {
            return false;
        };
        root(&self.io)
            .and_then(|root| root.get_socket(sid))
            .is_some_and(|socket| socket.connected() && socket.rooms().iter().any(|r| r == room))
    }

    fn disconnect(&self, target: Target) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let Some(audience_op) = audience(&self.io, &target) else {
                return;
            };
            if let Err(err) = audience_op.disconnect().await {
                tracing::warn!(%err, "disconnecting sockets failed");
            }
        })
    }

    fn expire(&self, sid: Sid, deadline: SocketDeadline) {
        let Some(socket) = root(&self.io).and_then(|root| root.get_socket(sid)) else {
            return;
        };
        if socket.extensions.get::<SocketDeadline>() != Some(deadline) {
            return;
        }
        tracing::debug!(%sid, "credentials expired: ending the socket");
        let _ = socket.emit(events::SESSION_ENDED, &events::SessionEnded::EXPIRED);
        if let Err(err) = socket.disconnect() {
            tracing::debug!(%err, "expired socket already gone");
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        // Closing the transports (rather than disconnecting the sockets, which
        // tells clients not to come back) makes clients reconnect, to another
        // instance behind a load balancer. Only this instance's sockets close.
        Box::pin(async move { self.io.close().await })
    }
}
