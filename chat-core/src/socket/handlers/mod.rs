//! Socket.IO handlers, one module per event group. Each one parses its payload,
//! calls the [`ChatHandle`](crate::ChatHandle) service and answers the ack.

mod activity;
mod connection;
mod conversations;
mod messages;
mod rooms;

use std::sync::Arc;

use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;

use crate::error::ChatError;
use crate::socket::auth::Authenticator;
use crate::socket::events::AckError;

/// The host's authenticator, kept in the socket.io state.
#[derive(Clone)]
pub(crate) struct AuthState(pub(crate) Arc<dyn Authenticator>);

pub(crate) use connection::{authenticate, on_connect};

/// Answers an ack with `{success: true, ..body}` or the error. A client that
/// asked for no ack gets nothing; that is not an error.
pub(crate) fn reply<A: Adapter, T: Serialize>(ack: AckSender<A>, result: Result<T, ChatError>) {
    let sent = match result {
        Ok(body) => ack.send(&Success {
            success: true,
            body,
        }),
        Err(err) => {
            if err.is_internal() {
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

/// Parses an event payload, mapping shape errors to `invalid_payload`.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    payload: Result<serde_json::Value, impl std::fmt::Display>,
) -> Result<T, ChatError> {
    let value = payload.map_err(|e| ChatError::InvalidPayload(e.to_string()))?;
    if !value.is_object() {
        return Err(ChatError::InvalidPayload("expected an object".to_owned()));
    }
    serde_json::from_value(value).map_err(|e| ChatError::InvalidPayload(e.to_string()))
}
