//! Connection floods: who may attempt a handshake, and how many sockets a
//! user may hold.
//!
//! - A host-provided [`HandshakeGuard`] is asked before every Socket.IO
//!   handshake is authenticated, and told of every handshake refused as
//!   `unauthorized`, so that failed attempts count against the client's budget
//!   (a client may retry a refused handshake on the same connection, without
//!   opening a new one).
//! - Each user holds at most [`ChatConfig::sockets_per_user`](crate::ChatConfig::sockets_per_user)
//!   sockets on an instance: a handshake over the limit is refused with
//!   `too_many_sockets`; the user's open sockets are left alone.
//!
//! ```
//! use chat_core::socket::limits::HandshakeGuard;
//!
//! /// Refuses every handshake of a client that failed to authenticate before.
//! #[derive(Default)]
//! struct OneStrike(std::sync::Mutex<std::collections::HashSet<String>>);
//!
//! fn client(request: &http::request::Parts) -> String {
//!     let forwarded = request.headers.get("x-real-ip").and_then(|v| v.to_str().ok());
//!     forwarded.unwrap_or_default().to_owned()
//! }
//!
//! impl HandshakeGuard for OneStrike {
//!     fn admit(&self, request: &http::request::Parts) -> bool {
//!         !self.0.lock().unwrap().contains(&client(request))
//!     }
//!     fn failed(&self, request: &http::request::Parts) {
//!         self.0.lock().unwrap().insert(client(request));
//!     }
//! }
//!
//! # let db = sea_orm::DatabaseConnection::default();
//! let (_layer, _chat) = chat_core::ChatCore::builder(db).handshake_guard(OneStrike::default()).build();
//! ```
use std::sync::Arc;

use dashmap::DashMap;
use http::request::Parts;

use crate::ids::UserId;
use crate::socket::handlers::ConnectRefused;

/// Admission of Socket.IO handshakes per client, implemented by the host
/// (which knows the client's address). `request` is the HTTP request that
/// opened the connection.
///
/// ```
/// use chat_core::socket::limits::HandshakeGuard;
///
/// /// Counts failed handshakes, for a metric.
/// #[derive(Default)]
/// struct CountFailures(std::sync::atomic::AtomicU64);
///
/// impl HandshakeGuard for CountFailures {
///     fn admit(&self, _request: &http::request::Parts) -> bool {
///         true
///     }
///     fn failed(&self, _request: &http::request::Parts) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
/// ```
pub trait HandshakeGuard: Send + Sync + 'static {
    /// Whether this handshake may be authenticated at all; `false` refuses it
    /// with `connect_error` `"rate_limited"` before the authenticator runs.
    fn admit(&self, request: &Parts) -> bool;

    /// A handshake of this client was refused as `unauthorized`.
    fn failed(&self, request: &Parts);
}

/// The engine's connection limits.
pub(crate) struct ConnectionLimits {
    guard: Option<Arc<dyn HandshakeGuard>>,
    /// Most sockets per user on this instance; 0: no limit.
    max_sockets: usize,
    /// Sockets per user holding a [`SocketSlot`].
    sockets: Arc<DashMap<UserId, usize>>,
}

impl ConnectionLimits {
    pub(crate) fn new(guard: Option<Arc<dyn HandshakeGuard>>, max_sockets: usize) -> Self {
        ConnectionLimits {
            guard,
            max_sockets,
            sockets: Arc::new(DashMap::new()),
        }
    }
}

/// One handshake being decided: tells the guard when it fails.
pub(crate) struct HandshakeAttempt<'a> {
    guard: Option<&'a dyn HandshakeGuard>,
    request: &'a Parts,
}

impl HandshakeAttempt<'_> {
    /// The handshake is refused as `unauthorized`; the client's budget pays for it.
    pub(crate) fn refused(self) -> ConnectRefused {
        if let Some(guard) = self.guard {
            guard.failed(self.request);
        }
        ConnectRefused::Unauthorized
    }
}

/// A socket's place among its user's sockets, kept in the socket's extensions:
/// the place is given back when the socket is dropped, however it ended.
#[derive(Clone)]
pub(crate) struct SocketSlot(#[allow(dead_code)] Arc<SlotRelease>);

struct SlotRelease {
    user_id: UserId,
    sockets: Arc<DashMap<UserId, usize>>,
}

impl Drop for SlotRelease {
    fn drop(&mut self) {
        if let Some(mut count) = self.sockets.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
        }
        self.sockets.remove_if(&self.user_id, |_, c| *c == 0);
    }
}

impl ConnectionLimits {
    /// Starts deciding a handshake: `rate_limited` when the host's guard
    /// refuses the client.
    pub(crate) fn handshake_attempt<'a>(
        &'a self,
        request: &'a Parts,
    ) -> Result<HandshakeAttempt<'a>, ConnectRefused> {
        let guard = self.guard.as_deref();
        if let Some(guard) = guard
            && !guard.admit(request)
        {
            metrics::counter!("chat_handshakes_refused_total", "reason" => "rate_limited")
                .increment(1);
            return Err(ConnectRefused::RateLimited);
        }
        Ok(HandshakeAttempt { guard, request })
    }

    /// Takes one of the user's socket places; `too_many_sockets` when they
    /// hold them all. Checked and counted at once, so concurrent handshakes
    /// of one user cannot all pass.
    pub(crate) fn socket_slot(&self, user_id: UserId) -> Result<SocketSlot, ConnectRefused> {
        let limits = self;
        {
            let mut count = limits.sockets.entry(user_id).or_insert(0);
            if limits.max_sockets > 0 && *count >= limits.max_sockets {
                drop(count);
                metrics::counter!("chat_handshakes_refused_total", "reason" => "too_many_sockets")
                    .increment(1);
                return Err(ConnectRefused::TooManySockets);
            }
            *count += 1;
        }
        Ok(SocketSlot(Arc::new(SlotRelease {
            user_id,
            sockets: limits.sockets.clone(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::u;
    use crate::{ChatConfig, ChatCore};

    #[test]
    fn a_user_holds_at_most_the_configured_sockets_and_gets_places_back() {
        let config = ChatConfig {
            sockets_per_user: 2,
            ..Default::default()
        };
        let (_layer, chat) = ChatCore::builder(Default::default()).config(config).build();
        let first = chat.inner.limits.socket_slot(u(7)).expect("first");
        let second = chat.inner.limits.socket_slot(u(7)).expect("second");
        assert!(matches!(
            chat.inner.limits.socket_slot(u(7)),
            Err(ConnectRefused::TooManySockets)
        ));
        assert!(
            chat.inner.limits.socket_slot(u(8)).is_ok(),
            "the limit is per user"
        );
        drop(first);
        let third = chat
            .inner
            .limits
            .socket_slot(u(7))
            .expect("a place was given back");
        drop((second, third));
        assert!(chat.inner.limits.sockets.is_empty(), "no count left behind");
    }

    #[test]
    fn zero_means_no_limit() {
        let config = ChatConfig {
            sockets_per_user: 0,
            ..Default::default()
        };
        let (_layer, chat) = ChatCore::builder(Default::default()).config(config).build();
        let slots: Vec<_> = (0..100)
            .map(|_| chat.inner.limits.socket_slot(u(7)).ok())
            .collect();
        assert!(slots.iter().all(Option::is_some));
    }
}
