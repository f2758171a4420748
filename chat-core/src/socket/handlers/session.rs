//! `session:refresh`: newer credentials for an open socket, so a long-lived
//! socket outlives the access token it connected with.
use serde::{Deserialize, Serialize};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};

use super::{AuthState, parse};
use crate::ChatHandle;
use crate::socket::auth::{AuthError, AuthRequest, Identity};
use crate::socket::events::AckError;
use crate::socket::expiry;

#[derive(Deserialize)]
struct RefreshRequest {
    token: String,
}

#[derive(Serialize)]
struct Refreshed {
    success: bool,
    /// When the new credentials expire (seconds since the Unix epoch), if they do.
    expires_at: Option<u64>,
}

/// Why new credentials were not taken. The socket stays connected with the
/// credentials it has (and still ends when those expire).
enum Refused {
    Payload(crate::ChatError),
    Unauthorized,
    Mismatch,
    Internal,
}

impl Refused {
    fn ack(&self) -> AckError {
        match self {
            Refused::Payload(err) => AckError::from(err),
            Refused::Unauthorized => {
                AckError::new("unauthorized", "the token is invalid, expired or ended")
            }
            Refused::Mismatch => AckError::new(
                "session_mismatch",
                "the token belongs to another user or login session",
            ),
            Refused::Internal => AckError::new("internal_error", "internal server error"),
        }
    }
}

/// Checks the new token with the host's authenticator, requires the same user
/// and the same login session as the socket's (a socket never changes hands:
/// a client with another session reconnects), then moves the socket's expiry.
pub(crate) async fn on_refresh<A: Adapter>(
    socket: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    ack: AckSender<A>,
    State(chat): State<ChatHandle>,
    State(AuthState(authenticator)): State<AuthState>,
    Extension(current): Extension<Identity>,
) {
    let result = async {
        let RefreshRequest { token } = parse(payload).map_err(Refused::Payload)?;
        let headers = &socket.req_parts().headers;
        let request = AuthRequest {
            token: Some(token.as_str()).filter(|t| !t.is_empty()),
            headers,
            from_cookie: false,
        };
        let identity = match authenticator.authenticate(request).await {
            Ok(identity) => identity,
            Err(AuthError::Unavailable(reason)) => {
                tracing::error!(%reason, "authenticator unavailable");
                return Err(Refused::Internal);
            }
            Err(reason) => {
                tracing::debug!(%reason, sid = %socket.id, "session refresh refused");
                return Err(Refused::Unauthorized);
            }
        };
        if identity.user_id != current.user_id || identity.session_id != current.session_id {
            return Err(Refused::Mismatch);
        }
        match chat.session_active(&identity).await {
            Ok(true) => {}
            Ok(false) => return Err(Refused::Unauthorized),
            Err(err) => {
                tracing::error!(%err, "session check on refresh failed");
                return Err(Refused::Internal);
            }
        }
        expiry::track(&chat, &socket, identity.expires_at);
        let expires_at = identity.expires_at;
        socket.extensions.insert(identity);
        Ok(expires_at)
    }
    .await;
    let sent = match result {
        Ok(expires_at) => ack.send(&Refreshed {
            success: true,
            expires_at,
        }),
        Err(refused) => ack.send(&refused.ack()),
    };
    if let Err(err) = sent {
        tracing::debug!(%err, "ack not sent");
    }
}
