//! Who a socket is: the host decides through an [`Authenticator`].
use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

/// An authenticated user, stored in the socket's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id (a row of `users`).
    pub user_id: i64,
    /// Username, used in typing and presence events.
    pub username: String,
    /// The login session the credentials belong to, if the host has sessions:
    /// [`ChatHandle::disconnect_session`](crate::ChatHandle::disconnect_session)
    /// ends exactly that session's sockets.
    pub session_id: Option<String>,
}

/// Why a handshake was refused. The client always sees `connect_error` with
/// message `"unauthorized"`; the reason is logged.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no credentials")]
    Missing,
    /// The credentials are invalid (bad signature, malformed, unknown user).
    #[error("invalid credentials")]
    Invalid,
    /// The credentials have expired.
    #[error("credentials expired")]
    Expired,
    /// The authenticator could not decide (e.g. its database is down).
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

/// What a handshake presented.
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The token from `auth.token`, `Authorization: Bearer`, or the
    /// `access_token` cookie, in that order of preference.
    pub token: Option<&'a str>,
    /// All handshake headers, for hosts with their own scheme.
    pub headers: &'a HeaderMap,
}

/// Boxed future returned by [`Authenticator::authenticate`].
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<Identity, AuthError>> + Send + 'a>>;

/// Decides who a connecting socket is.
///
/// ```
/// use chat_core::socket::auth::{Authenticator, AuthError, AuthFuture, AuthRequest, Identity};
///
/// /// Trusts an `x-user-id` header (only behind a gateway that sets it!).
/// struct HeaderAuth;
/// impl Authenticator for HeaderAuth {
///     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
///         Box::pin(async move {
///             let id = req.headers.get("x-user-id").and_then(|v| v.to_str().ok())
///                 .and_then(|v| v.parse().ok()).ok_or(AuthError::Missing)?;
///             Ok(Identity { user_id: id, username: format!("user{id}"), session_id: None })
///         })
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Returns the identity of the connecting user, or why not.
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a>;
}

/// Finds the access token in a handshake: `auth.token`, then a Bearer
/// `Authorization` header, then the `access_token` cookie.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("cookie", "a=1; access_token=abc".parse().unwrap());
/// assert_eq!(chat_core::socket::auth::find_token(None, &headers), Some("abc"));
/// ```
pub fn find_token<'a>(auth_token: Option<&'a str>, headers: &'a HeaderMap) -> Option<&'a str> {
    if let Some(token) = auth_token.filter(|t| !t.is_empty()) {
        return Some(token);
    }
    if let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "access_token")
        .map(|(_, value)| value)
}
