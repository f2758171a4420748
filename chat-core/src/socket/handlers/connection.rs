//! Handshake authentication, room subscription and per-socket event registration.
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};

use super::activity::SocketTyping;
use super::{AuthState, activity, conversations, messages, rooms};
use crate::socket::auth::{AuthError, AuthRequest, Identity, find_token};
use crate::socket::events::{self, AckError};
use crate::{ChatError, ChatHandle};

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
    // The token may outlive its user (deleted account, reset database).
    match chat.user_row(identity.user_id).await {
        Ok(_) => {}
        Err(ChatError::NotFound(_)) => return Err(ConnectRefused::Unauthorized),
        Err(err) => {
            tracing::error!(%err, "loading the user on connect failed");
            return Err(ConnectRefused::Internal);
        }
    }
    rooms::join_rooms(&socket, &chat, &identity)
        .await
        .map_err(|err| {
            tracing::error!(%err, "loading conversations on connect failed");
            ConnectRefused::Internal
        })?;
    socket.extensions.insert(identity);
    // Handlers are registered here, before the client is told it is connected:
    // an event it emits in its `connect` callback must find them in place.
    register_handlers(&socket);
    Ok(())
}

fn register_handlers<A: Adapter>(socket: &SocketRef<A>) {
    socket.extensions.insert(SocketTyping::default());
    socket.on(events::MESSAGE_SEND, messages::on_send::<A>);
    socket.on(events::MESSAGE_READ, activity::on_read::<A>);
    socket.on(events::MESSAGE_DELIVERED, activity::on_delivered::<A>);
    socket.on(events::TYPING_START, activity::on_typing_start::<A>);
    socket.on(events::TYPING_STOP, activity::on_typing_stop::<A>);
    socket.on(events::CONVERSATION_JOIN, conversations::on_join::<A>);
    socket.on_fallback(on_unknown_event::<A>);
    socket.on_disconnect(on_disconnect::<A>);
}

pub(crate) async fn on_connect<A: Adapter>(socket: SocketRef<A>, State(chat): State<ChatHandle>) {
    if let Some(identity) = socket.extensions.get::<Identity>()
        && let Err(err) = chat.socket_presence(&identity, true).await
    {
        tracing::error!(%err, "presence update on connect failed");
    }
}

/// Stops this socket's typing indicators and, on the user's last socket,
/// announces them offline.
async fn on_disconnect<A: Adapter>(socket: SocketRef<A>, State(chat): State<ChatHandle>) {
    let Some(identity) = socket.extensions.get::<Identity>() else {
        return;
    };
    if let Some(typing) = socket.extensions.get::<SocketTyping>() {
        for conversation_id in typing.take() {
            chat.stop_typing(identity.user_id, &identity.username, conversation_id, None)
                .await;
        }
    }
    if let Err(err) = chat.socket_presence(&identity, false).await {
        tracing::error!(%err, "presence update on disconnect failed");
    }
}

/// Unknown events never disconnect: they get a failed ack when one was asked for.
async fn on_unknown_event<A: Adapter>(socket: SocketRef<A>, ack: AckSender<A>) {
    tracing::debug!(sid = %socket.id, "unknown event");
    let _ = ack.send(&AckError::new("unknown_event", "unknown event"));
}
