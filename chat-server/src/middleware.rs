//! Cross-cutting HTTP protections: security headers and per-IP rate limits
//! (the origin check of cookie requests is in [`origin`](crate::origin)).
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_governor::GovernorError;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;

/// Content-Security-Policy of the served client: only our own origin; the
/// socket connects back to it over ws/wss.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers every response carries; HSTS only when the
/// request arrived over HTTPS (at a TLS-terminating proxy).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    };
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "strict-origin-when-cross-origin");
    set("cross-origin-opener-policy", "same-origin");
    if https {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the
/// nearest untrusted address in `X-Forwarded-For` (anyone else could forge it).
#[derive(Clone, Debug)]
pub struct ClientIp {
    trusted: Arc<Vec<IpAddr>>,
}

impl ClientIp {
    /// Trusts `X-Forwarded-For` only from these proxies.
    pub fn new(trusted: Vec<IpAddr>) -> Self {
        ClientIp {
            trusted: Arc::new(trusted),
        }
    }

    /// Resolves the client address of a request from its peer and headers.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted.contains(&peer) {
            return peer;
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.trusted.contains(ip))
            .unwrap_or(peer)
    }

    /// The rate-limit key of a request's client: [`rate_limit_key`] of
    /// [`resolve`](Self::resolve). Every per-client limit uses this key.
    pub fn key(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        rate_limit_key(self.resolve(peer, headers))
    }
}

/// The rate-limit key of a client address: an IPv4 address as is (also when
/// written as an IPv4-mapped IPv6 address), an IPv6 address by its /64 prefix
/// (the rest zeroed). One subscriber usually holds a whole /64, so keying by
/// the full address would give a single client 2^64 budgets.
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<Self::Key, GovernorError> {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or(GovernorError::UnableToExtractKey)?;
        Ok(self.key(peer, req.headers()))
    }
}

/// The rate-limit key of the requesting client ([`ClientIp::key`]), for
/// handlers; the router provides the [`ClientIp`] as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientKey {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| crate::error::ApiError::Internal("no peer address".to_owned()))?;
        let key = match parts.extensions.get::<ClientIp>() {
            Some(ips) => ips.key(peer, &parts.headers),
            None => rate_limit_key(peer),
        };
        Ok(ClientKey(key))
    }
}

/// Limits of one rate-limited route group.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// One request is replenished every this long.
    pub every: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

/// A per-client-IP rate limit layer answering 429 `rate_limited` with `Retry-After`.
pub fn rate_limit(
    rate: Rate,
    key: ClientIp,
) -> Option<
    tower_governor::GovernorLayer<ClientIp, governor::middleware::StateInformationMiddleware, Body>,
> {
    let config = GovernorConfigBuilder::default()
        .period(rate.every.max(Duration::from_millis(1)))
        .burst_size(rate.burst.max(1))
        .key_extractor(key)
        .use_headers()
        .finish()?;
    let config = Arc::new(config);
    // Keep the limiter's memory bounded: forget clients that went quiet.
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    Some(tower_governor::GovernorLayer::new(config).error_handler(too_many_requests))
}

fn too_many_requests(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, headers } => {
            let body = serde_json::json!({
                "error": "too many requests: slow down",
                "code": "rate_limited",
                "details": { "retry_after": wait_time.max(1) },
            });
            let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            if let Some(headers) = headers {
                response.headers_mut().extend(headers);
            }
            if let Ok(value) = HeaderValue::from_str(&wait_time.max(1).to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        GovernorError::UnableToExtractKey => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                serde_json::json!({"error": "internal server error", "code": "internal_error"}),
            ),
        )
            .into_response(),
        GovernorError::Other { code, msg, .. } => (
            code,
            axum::Json(
                serde_json::json!({"error": msg.unwrap_or_default(), "code": "rate_limited"}),
            ),
        )
            .into_response(),
    }
}

/// Reads a JSON request body up to `limit`. A larger body is read on (and
/// discarded) up to `drain_cap` before the 413 goes out: answering while the
/// client is still sending makes the connection close under it, which clients
/// and proxies report as a reset or a 502 instead of the 413.
pub async fn buffered_body(
    axum::extract::State((limit, drain_cap)): axum::extract::State<(usize, usize)>,
    request: Request,
    next: Next,
) -> Response {
    use futures_util::StreamExt;
    let (parts, body) = request.into_parts();
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return crate::error::ApiError::InvalidBody(
                "the request body could not be read".to_owned(),
            )
            .into_response();
        };
        total += chunk.len();
        if total > drain_cap {
            break;
        }
        if total <= limit {
            buffer.extend_from_slice(&chunk);
        }
    }
    if total > limit {
        return crate::error::ApiError::PayloadTooLarge.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(buffer)))
        .await
}
