//! `session:refresh`: newer credentials for an open socket, so a long-lived
//! socket outlives the access token it connected with.
use serde::{Deserialize, Serialize};
use socketioxide::adapter::Adapter;

use super::AuthState;
use super::event::Caller;
use crate::error::{ChatError, ChatResult};
use crate::socket::auth::{AuthError, AuthRequest};
use crate::socket::expiry;

#[derive(Deserialize)]
pub(crate) struct RefreshRequest {
    token: String,
}

#[derive(Serialize)]
pub(crate) struct Refreshed {
    /// When the new credentials expire (seconds since the Unix epoch), if they do.
    expires_at: Option<u64>,
}

const UNAUTHORIZED: ChatError = ChatError::Credentials {
    code: "unauthorized",
    message: "the token is invalid, expired or ended",
};

/// Checks the new token with the host's authenticator, requires the same user
/// and the same login session as the socket's (a socket never changes hands:
/// a client with another session reconnects), then moves the socket's expiry.
/// A refusal leaves the socket with the credentials it has (it still ends
/// when those expire).
pub(crate) async fn on_refresh<A: Adapter>(
    caller: Caller<A>,
    RefreshRequest { token }: RefreshRequest,
) -> ChatResult<Refreshed> {
    let AuthState(authenticator) = caller.state::<AuthState>()?;
    let Caller {
        socket,
        chat,
        identity: current,
        ..
    } = caller;
    let headers = &socket.req_parts().headers;
    let request = AuthRequest {
        token: Some(token.as_str()).filter(|t| !t.is_empty()),
        headers,
        from_cookie: false,
    };
    let identity = match authenticator.authenticate(request).await {
        Ok(identity) => identity,
        Err(AuthError::Unavailable(reason)) => return Err(ChatError::Adapter(reason)),
        Err(reason) => {
            tracing::debug!(%reason, sid = %socket.id, "session refresh refused");
            return Err(UNAUTHORIZED);
        }
    };
    if identity.user_id != current.user_id || identity.session_id != current.session_id {
        return Err(ChatError::Credentials {
            code: "session_mismatch",
            message: "the token belongs to another user or login session",
        });
    }
    if !chat.session_active(&identity).await? {
        return Err(UNAUTHORIZED);
    }
    expiry::track(&chat, &socket, identity.expires_at);
    let expires_at = identity.expires_at;
    socket.extensions.insert(identity);
    Ok(Refreshed { expires_at })
}
