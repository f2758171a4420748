//! Socket.IO handshakes per client IP. Opening a connection (a request to
//! `/socket.io/` without `sid`: a polling handshake or a WebSocket opened
//! directly) and every handshake refused as `unauthorized` draw from one
//! budget per client, keyed like the REST limits ([`ClientIp`]).
//!
//! Requests of established connections (polling with `sid`, the WebSocket
//! upgrade of a polling session) are never limited: only new connections
//! cost anything. A client whose budget failed handshakes used up is refused
//! before its credentials are even checked, also on a connection it already
//! has (socket.io lets a refused client try again on the same connection).
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_core::socket::limits::HandshakeGuard;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_governor::key_extractor::KeyExtractor;

use crate::middleware::{ClientIp, Rate};

/// The client key of the REST limits.
type Key = <ClientIp as KeyExtractor>::Key;

/// The client a handshake request came from, kept in its extensions (the
/// engine keeps them with the connection) for [`HandshakeGuard::failed`].
#[derive(Clone)]
struct HandshakeClient(Key);

/// One budget of handshakes per client, shared by the HTTP layer (new
/// connections) and chat-core's handshake (failed authentications).
#[derive(Clone)]
pub struct HandshakeLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    limiter: DefaultKeyedRateLimiter<Key>,
    /// Clients whose failed handshakes found their budget empty, until when.
    blocked: Mutex<HashMap<Key, Instant>>,
    client_ip: ClientIp,
}

impl HandshakeLimiter {
    /// `rate.burst` handshakes at once per client, then one every `rate.every`.
    pub fn new(rate: Rate, client_ip: ClientIp) -> HandshakeLimiter {
        let burst =
            std::num::NonZeroU32::new(rate.burst.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let quota = Quota::with_period(rate.every.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN))
            .allow_burst(burst);
        HandshakeLimiter {
            inner: Arc::new(Inner {
                limiter: RateLimiter::keyed(quota),
                blocked: Mutex::new(HashMap::new()),
                client_ip,
            }),
        }
    }

    /// Forgets quiet clients now and then, so memory stays bounded (stops
    /// with the last copy of the limiter).
    pub fn spawn_cleanup(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                inner.limiter.retain_recent();
                let now = Instant::now();
                inner.blocked().retain(|_, until| *until > now);
            }
        });
    }
}

impl Inner {
    fn blocked(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Instant>> {
        self.blocked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one handshake from the client's budget, or says how long to wait.
    fn take(&self, key: &Key) -> Result<(), Duration> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Whether the request is for the Socket.IO engine (the path the engine
/// serves: `/socket.io` and below).
fn is_socket_io(path: &str) -> bool {
    path.strip_prefix("/socket.io")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether the request opens a new connection: it names no session. The
/// engine reads `sid` the same way; a request whose `sid` matches no session
/// is refused by the engine and opens nothing.
fn opens_connection(query: Option<&str>) -> bool {
    !query.is_some_and(|q| q.split('&').any(|part| part.starts_with("sid=")))
}

/// Middleware in front of the Socket.IO layer: a new connection over the
/// client's budget gets 429 `rate_limited` with `Retry-After`.
pub async fn limit_handshakes(
    State(limiter): State<HandshakeLimiter>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_socket_io(request.uri().path()) && opens_connection(request.uri().query()) {
        let Ok(key) = limiter.inner.client_ip.extract(&request) else {
            tracing::error!("no client address on a handshake request");
            return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
        };
        let blocked_for = limiter
            .inner
            .blocked()
            .get(&key)
            .and_then(|until| until.checked_duration_since(Instant::now()));
        let taken = match blocked_for {
            Some(wait) => Err(wait),
            None => limiter.inner.take(&key),
        };
        if let Err(wait) = taken {
            metrics::counter!("chat_handshakes_refused_total", "reason" => "rate_limited")
                .increment(1);
            return too_many_handshakes(wait);
        }
        request.extensions_mut().insert(HandshakeClient(key));
    }
    next.run(request).await
}

fn too_many_handshakes(wait: Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let body = serde_json::json!({
        "error": "too many connection attempts: slow down",
        "code": "rate_limited",
        "details": { "retry_after": seconds },
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(seconds));
    response
}

impl HandshakeGuard for HandshakeLimiter {
    fn admit(&self, request: &http::request::Parts) -> bool {
        let Some(HandshakeClient(key)) = request.extensions.get::<HandshakeClient>() else {
            return true;
        };
        self.inner
            .blocked()
            .get(key)
            .is_none_or(|until| *until <= Instant::now())
    }

    fn failed(&self, request: &http::request::Parts) {
        let Some(HandshakeClient(key)) = request.extensions.get::<HandshakeClient>() else {
            return;
        };
        if let Err(wait) = self.inner.take(key) {
            // Until the budget refills, this client's handshakes are refused
            // before any credential is checked.
            // `Key` is whatever `ClientIp` keys by; it need not stay `Copy`.
            #[allow(clippy::clone_on_copy)]
            self.inner.blocked().insert(
                key.clone(),
                Instant::now() + wait.max(Duration::from_secs(1)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_without_a_session_open_connections() {
        assert!(opens_connection(Some("EIO=4&transport=polling&t=abc")));
        assert!(opens_connection(Some("EIO=4&transport=websocket")));
        assert!(opens_connection(None));
        assert!(!opens_connection(Some(
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAHs"
        )));
        assert!(!opens_connection(Some(
            "sid=AAAAAAAAAAAAAAHs&EIO=4&transport=websocket"
        )));
        // The engine reads `sid=` literally too: these name no session.
        assert!(opens_connection(Some("EIO=4&xsid=1&transport=polling")));
        assert!(is_socket_io("/socket.io/"));
        assert!(is_socket_io("/socket.io"));
        assert!(!is_socket_io("/socket.iox/"));
        assert!(!is_socket_io("/api/socket.io/"));
    }
}
