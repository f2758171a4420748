//! Handshake authentication, room subscription and per-socket event registration.
use serde::Deserialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};

use super::event::{Dispatcher, Object};
use super::typing::SocketTyping;
use super::{AuthState, rooms};
use crate::ChatHandle;
use crate::socket::auth::{AuthError, AuthRequest, Identity, find_token, token_from_cookie};
use crate::socket::expiry;

/// Refusal of a handshake; the client sees `connect_error` with this text.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectRefused {
    #[error("unauthorized")]
    Unauthorized,
    #[error("internal_error")]
    Internal,
    #[error("rate_limited")]
    RateLimited,
    #[error("too_many_sockets")]
    TooManySockets,
}

/// What chat-core reads of the CONNECT packet's `auth` object: the token
/// alone, decoded straight from the packet (other fields are skipped unread,
/// never built into a tree: the packet comes before any authentication).
#[derive(Deserialize)]
pub(crate) struct ConnectAuth {
    #[serde(default)]
    token: Option<String>,
}

/// Connect middleware: runs before the connection is acknowledged, so by the
/// time the client sees `connect` its socket is in every room it belongs to.
pub(crate) async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<Object<ConnectAuth>>,
    State(chat): State<ChatHandle>,
    State(AuthState(authenticator)): State<AuthState>,
) -> Result<(), ConnectRefused> {
    let attempt = chat.inner.limits.handshake_attempt(socket.req_parts())?;
    // Any other shape (or a non-string token) is as good as no token.
    // socket.io-client v2 has no `auth`: it passes the token in the query.
    let auth_token = auth
        .ok()
        .and_then(|Object(auth)| auth.token)
        .filter(|t| !t.is_empty())
        .or_else(|| query_token(socket.req_parts().uri.query()));
    let auth_token = auth_token.as_deref();
    let headers = &socket.req_parts().headers;
    let request = AuthRequest {
        token: find_token(auth_token, headers),
        headers,
        from_cookie: token_from_cookie(auth_token, headers),
    };
    let identity = match authenticator.authenticate(request).await {
        Ok(identity) => identity,
        Err(AuthError::Unavailable(reason)) => {
            tracing::error!(%reason, "authenticator unavailable");
            return Err(ConnectRefused::Internal);
        }
        Err(reason) => {
            tracing::debug!(%reason, sid = %socket.id, "handshake refused");
            return Err(attempt.refused());
        }
    };
    // The token may outlive its user (deleted account, reset database) or its
    // session (logged out); such a refusal counts toward the address's limit.
    match chat.session_active(&identity).await {
        Ok(true) => {}
        Ok(false) => return Err(attempt.refused()),
        Err(err) => {
            tracing::error!(%err, "checking the session on connect failed");
            return Err(ConnectRefused::Internal);
        }
    }
    socket
        .extensions
        .insert(chat.inner.limits.socket_slot(identity.user_id)?);
    rooms::join_rooms(&socket, &chat, &identity)
        .await
        .map_err(|err| {
            tracing::error!(%err, "loading conversations on connect failed");
            ConnectRefused::Internal
        })?;
    // A session ended between the check and the join missed this socket:
    // asked again (from the cache unless it changed meanwhile).
    check_session(&chat, &identity).await?;
    expiry::track(&chat, &socket, identity.expires_at);
    socket.extensions.insert(identity);
    // Handlers are registered here, before the client is told it is connected:
    // an event it emits in its `connect` callback must find them in place.
    register_handlers(&socket);
    Ok(())
}

/// The `token` parameter of the handshake's query string
/// (`io(url, {query: {token}})`), percent-decoded.
fn query_token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, token)| token.into_owned())
        .filter(|token| !token.is_empty())
}

async fn check_session(chat: &ChatHandle, identity: &Identity) -> Result<(), ConnectRefused> {
    match chat.session_active(identity).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ConnectRefused::Unauthorized),
        Err(err) => {
            tracing::error!(%err, "checking the session on connect failed");
            Err(ConnectRefused::Internal)
        }
    }
}

fn register_handlers<A: Adapter>(socket: &SocketRef<A>) {
    socket.extensions.insert(SocketTyping::default());
    socket.on_disconnect(on_disconnect::<A>);
    // Unknown events cost the same as known ones: a flood of made-up names
    // is refused like any other.
    socket.on_fallback(Dispatcher);
}

pub(crate) async fn on_connect<A: Adapter>(socket: SocketRef<A>, State(chat): State<ChatHandle>) {
    if let Some(identity) = socket.extensions.get::<Identity>()
        && let Err(err) = chat.socket_opened(&identity).await
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
    expiry::untrack(&chat, &socket);
    chat.call_socket_closed(socket.id).await;
    if let Some(typing) = socket.extensions.get::<SocketTyping>() {
        for conversation_id in typing.take() {
            chat.stop_typing(identity.user_id, &identity.username, conversation_id, None)
                .await;
        }
    }
    if let Err(err) = chat.socket_closed(&identity).await {
        tracing::error!(%err, "presence update on disconnect failed");
    }
}

#[cfg(test)]
mod tests {
    use super::query_token;

    #[test]
    fn the_query_token_is_read_percent_decoded() {
        assert_eq!(
            query_token(Some("EIO=3&transport=polling&token=a.b%2Bc&t=N1")),
            Some("a.b+c".to_owned())
        );
        assert_eq!(query_token(Some("EIO=4&transport=websocket")), None);
        assert_eq!(query_token(Some("token=")), None);
        assert_eq!(query_token(None), None);
    }
}
