//! Who a socket is: the host decides through an [`Authenticator`].
//!
//! On every handshake chat-core finds the token ([`find_token`]), asks the
//! authenticator for an [`Identity`], checks that the user still exists, and
//! subscribes the socket to the user's conversations before acknowledging
//! the connection.
//!
//! ```
//! use std::collections::HashMap;
//! use chat_core::ids::UserId;
//! use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator, Identity};
//!
//! /// Static API tokens, e.g. for bots: token -> (user id, username).
//! struct ApiTokens(HashMap<String, (UserId, String)>);
//!
//! impl Authenticator for ApiTokens {
//!     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
//!         Box::pin(async move {
//!             let token = req.token.ok_or(AuthError::Missing)?;
//!             let (user_id, username) = self.0.get(token).cloned().ok_or(AuthError::Invalid)?;
//!             Ok(Identity { user_id, username, session_id: None, expires_at: None })
//!         })
//!     }
//! }
//! ```
use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};

use crate::ids::UserId;

/// An authenticated user, stored in the socket's extensions. Also what
/// [`ChatHandle::typing_start`](crate::ChatHandle::typing_start) and
/// [`typing_stop`](crate::ChatHandle::typing_stop) take.
///
/// ```
/// use chat_core::ids::UserId;
/// use chat_core::socket::auth::Identity;
///
/// // From a verified access token: `sub` = 7, `username`, `sid` (the login session), `exp`.
/// let identity = Identity {
///     user_id: "7".parse::<UserId>()?,
///     username: "alice".into(),
///     session_id: Some("4f1c9e2a".into()),
///     expires_at: Some(1_800_000_000),
/// };
/// # assert_eq!(identity.user_id.get(), 7);
/// # Ok::<(), chat_core::ids::NotAnId>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id (a row of `users`).
    pub user_id: UserId,
    /// Username, used in typing and presence events.
    pub username: String,
    /// The login session the credentials belong to, if the host has sessions:
    /// [`ChatHandle::disconnect_session`](crate::ChatHandle::disconnect_session)
    /// ends exactly that session's sockets, and
    /// [`ChatHandle::end_session`](crate::ChatHandle::end_session) also makes
    /// its credentials refused from then on.
    pub session_id: Option<String>,
    /// When the credentials expire, in seconds since the Unix epoch (a JWT's
    /// `exp`); `None` when they do not. A socket is ended with
    /// `session:ended {"reason": "expired"}` at that moment unless the client
    /// sends newer credentials with `session:refresh` first.
    pub expires_at: Option<u64>,
}

/// Why a handshake was refused. The client sees `connect_error` with message
/// `"unauthorized"` (so it can refresh its token and reconnect), or
/// `"internal_error"` for [`Unavailable`](AuthError::Unavailable); the reason
/// itself is only logged.
///
/// ```
/// use chat_core::socket::auth::AuthError;
///
/// fn check_expiry(exp: i64, now: i64) -> Result<(), AuthError> {
///     if exp <= now { Err(AuthError::Expired) } else { Ok(()) }
/// }
/// assert!(matches!(check_expiry(1_700_000_000, 1_800_000_000), Err(AuthError::Expired)));
/// ```
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

/// What a handshake presented. Cheap to copy, so an authenticator can pass it
/// on to another.
///
/// ```
/// use chat_core::socket::auth::{AuthRequest, find_token, token_from_cookie};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "Bearer eyJhbGciOi".parse().unwrap());
/// let req = AuthRequest {
///     token: find_token(None, &headers),
///     headers: &headers,
///     from_cookie: token_from_cookie(None, &headers),
/// };
/// assert_eq!(req.token, Some("eyJhbGciOi"));
/// assert!(!req.from_cookie);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The token from `auth.token` (or the handshake query's `token`, for
    /// clients without `auth` such as socket.io-client v2),
    /// `Authorization: Bearer`, or the `access_token` cookie, in that order
    /// of preference.
    pub token: Option<&'a str>,
    /// All handshake headers, for hosts with their own scheme.
    pub headers: &'a HeaderMap,
    /// Whether `token` is the `access_token` cookie, which a browser sends by
    /// itself even from another site's page: hosts should then check the
    /// `Origin` header (see [`token_from_cookie`]).
    pub from_cookie: bool,
}

/// Boxed future returned by [`Authenticator::authenticate`]: wrap the async
/// block in `Box::pin`.
///
/// ```
/// use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator};
///
/// /// Tries one scheme, then another (e.g. session tokens, then bot API keys).
/// struct Either<A, B>(A, B);
///
/// impl<A: Authenticator, B: Authenticator> Authenticator for Either<A, B> {
///     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
///         Box::pin(async move {
///             match self.0.authenticate(req).await {
///                 Err(AuthError::Missing | AuthError::Invalid) => self.1.authenticate(req).await,
///                 decided => decided,
///             }
///         })
///     }
/// }
/// ```
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
///             Ok(Identity { user_id: id, username: format!("user{id}"), session_id: None, expires_at: None })
///         })
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Returns the identity of the connecting user, or why not. Called once
    /// per handshake, before the connection is acknowledged.
    ///
    /// ```
    /// use chat_core::socket::auth::{AuthError, AuthRequest, Authenticator};
    /// # use chat_core::socket::auth::{AuthFuture, Identity};
    /// # struct MyAuth;
    /// # impl Authenticator for MyAuth {
    /// #     fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
    /// #         Box::pin(async move {
    /// #             req.token.ok_or(AuthError::Missing)?;
    /// #             Err(AuthError::Invalid)
    /// #         })
    /// #     }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Unit-testing an authenticator: no credentials, no identity.
    /// let headers = http::HeaderMap::new();
    /// let request = AuthRequest { token: None, headers: &headers, from_cookie: false };
    /// let result = MyAuth.authenticate(request).await;
    /// assert!(matches!(result, Err(AuthError::Missing)));
    /// # }
    /// ```
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a>;
}

/// Finds the access token in a handshake: `auth.token` (or, when there is
/// none, the handshake query's `token`, which chat-core passes in its place),
/// then a Bearer `Authorization` header, then the `access_token` cookie.
/// chat-core calls it to fill [`AuthRequest::token`]; hosts can reuse it for
/// HTTP requests.
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
    if let Some(bearer) = bearer(headers) {
        return Some(bearer);
    }
    cookie_token(headers)
}

/// Whether [`find_token`] answers the `access_token` cookie: there is one,
/// and neither `auth.token` nor a Bearer header.
///
/// ```
/// use chat_core::socket::auth::token_from_cookie;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("cookie", "access_token=abc".parse().unwrap());
/// assert!(token_from_cookie(None, &headers));
/// assert!(!token_from_cookie(Some("abc"), &headers)); // the page sent it itself
/// ```
pub fn token_from_cookie(auth_token: Option<&str>, headers: &HeaderMap) -> bool {
    auth_token.filter(|t| !t.is_empty()).is_none()
        && bearer(headers).is_none()
        && cookie_token(headers).is_some()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "access_token")
        .map(|(_, value)| value)
}
