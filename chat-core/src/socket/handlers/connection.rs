//! Handshake authentication, room subscription and per-socket event registration.
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use super::{AuthState, conversations, messages};
use crate::ChatHandle;
use crate::socket::auth::{AuthError, AuthRequest, find_token};
use crate::socket::emitter::{conversation_room, user_room};
use crate::socket::events::{self, AckError};

/// Refusal of a handshake; the client sees `connect_error` with this text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectRefused {
    #[error("unauthorized")]
    Unauthorized,
    #[error("internal_error")]
    Internal,
}

/// Connect middleware: runs before the connection is acknowledged, so by the
/// time the client sees `connect` its socket is in every room it belongs to.
pub(crate) async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<serde_json::Value>,
    State(chat): State<ChatHandle>,
    State(AuthState(authenticator)): State<AuthState>,
) -> Result<(), ConnectRefused> {
    let auth = auth.ok();
    let auth_token = auth
        .as_ref()
        .and_then(|v| v.get("token"))
        .and_then(|v| v.as_str());
    let headers = &socket.req_parts().headers;
    let request = AuthRequest {
        token: find_token(auth_token, headers),
        headers,
    };
    let identity = match authenticator.authenticate(request).await {
        Ok(identity) => identity,
        Err(AuthError::Unavailable(reason)) => {
            tracing::error!(%reason, "authenticator unavailable");
            return Err(ConnectRefused::Internal);
        }
        Err(reason) => {
            tracing::debug!(%reason, sid = %socket.id, "handshake refused");
            return Err(ConnectRefused::Unauthorized);
        }
    };
    let conversations = chat
        .conversation_ids_of(identity.user_id)
        .await
        .map_err(|err| {
            tracing::error!(%err, "loading conversations on connect failed");
            ConnectRefused::Internal
        })?;
    let mut rooms = Vec::with_capacity(conversations.len() + 1);
    rooms.push(user_room(identity.user_id));
    rooms.extend(conversations.into_iter().map(conversation_room));
    socket.join(rooms);
    socket.extensions.insert(identity);
    Ok(())
}

pub(crate) async fn on_connect<A: Adapter>(socket: SocketRef<A>) {
    socket.on(events::MESSAGE_SEND, messages::on_send::<A>);
    socket.on(events::CONVERSATION_JOIN, conversations::on_join::<A>);
    socket.on_fallback(on_unknown_event::<A>);
}

/// Unknown events never disconnect: they get a failed ack when one was asked for.
async fn on_unknown_event<A: Adapter>(socket: SocketRef<A>, ack: AckSender<A>) {
    tracing::debug!(sid = %socket.id, "unknown event");
    let _ = ack.send(&AckError::new("unknown_event", "unknown event"));
}
