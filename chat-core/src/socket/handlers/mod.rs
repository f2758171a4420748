//! Socket.IO handlers, one module per event group. Each one gets its caller
//! and typed payload from [`event`] (which charged the event to the caller's
//! budget first), calls the [`ChatHandle`](crate::ChatHandle) service and
//! returns the ack's body. See [`event`] for how to add an event.

pub(crate) mod calls;
mod connection;
pub(crate) mod conversations;
mod event;
pub(crate) mod messages;
pub(crate) mod receipts;
mod rooms;
pub(crate) mod session;
pub(crate) mod typing;

use std::sync::Arc;

use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;

use crate::error::ChatError;
use crate::protocol::AckError;
use crate::socket::auth::Authenticator;

/// The host's authenticator, kept in the socket.io state.
#[derive(Clone)]
pub(crate) struct AuthState(pub(crate) Arc<dyn Authenticator>);

pub(crate) use connection::ConnectRefused;
pub(crate) use connection::{authenticate, on_connect};
pub(crate) use event::{ClientEvents, EventTable};

/// Answers an ack with `{success: true, ..body}` or the error. A client that
/// asked for no ack gets nothing; that is not an error.
pub(crate) fn reply<A: Adapter, T: Serialize>(ack: AckSender<A>, result: Result<T, ChatError>) {
    let sent = match result {
        Ok(body) => ack.send(&Success {
            success: true,
            body,
        }),
        Err(err) => {
            if err.is_unavailable() {
                tracing::warn!(%err, "socket event failed: database unavailable");
            } else if err.is_internal() {
                tracing::error!(%err, "socket event failed");
            }
            ack.send(&AckError::from(&err))
        }
    };
    if let Err(err) = sent {
        tracing::debug!(%err, "ack not sent");
    }
}

#[derive(Serialize)]
struct Success<T> {
    success: bool,
    #[serde(flatten)]
    body: T,
}
