//! Type-erased access to the Socket.IO server, so [`ChatHandle`](crate::ChatHandle)
//! is the same type whatever adapter (in-process or Redis) runs underneath.
use std::future::Future;
use std::pin::Pin;

use serde_json::value::RawValue;
use socketioxide::{SocketIo, adapter::Adapter, socket::Sid};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub(crate) trait Emitter: Send + Sync + 'static {
    /// Emits an already serialized payload to every socket in `rooms`, except `except`.
    fn emit<'a>(
        &'a self,
        rooms: Vec<String>,
        except: Option<Sid>,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()>;

    /// Makes every socket in `rooms` (on every instance) join `join`.
    fn join(&self, rooms: Vec<String>, join: Vec<String>) -> BoxFuture<'_, ()>;

    /// Makes every socket in `rooms` (on every instance) leave `leave`.
    fn leave(&self, rooms: Vec<String>, leave: Vec<String>) -> BoxFuture<'_, ()>;
}

impl<A: Adapter> Emitter for SocketIo<A> {
    fn emit<'a>(
        &'a self,
        rooms: Vec<String>,
        except: Option<Sid>,
        event: &'static str,
        payload: &'a RawValue,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut op = self.to(rooms);
            if let Some(sid) = except {
                op = op.except(sid);
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
}

/// Room of every socket of one user (all tabs and devices).
pub(crate) fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Room of every socket subscribed to one conversation.
pub(crate) fn conversation_room(conversation_id: i64) -> String {
    format!("conv:{conversation_id}")
}
