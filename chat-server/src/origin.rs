//! Where a browser request comes from. Cookies ride along with requests any
//! page makes, so a request authenticated by a cookie alone must prove it
//! comes from the app: its `Origin` (scheme, host and port) must be one of
//! `CLIENT_URL` or the request's own origin, or, without `Origin`, its
//! `Sec-Fetch-Site` must be `same-origin`. A request with neither is refused.
//!
//! Applied to state-changing REST requests ([`csrf_origin_check`]) and to
//! Socket.IO handshakes ([`SocketAuth`]). Requests authenticated by a token
//! the client presents itself (Bearer header, `auth.token`) cannot be forged
//! by another page and are not concerned.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_core::socket::auth::{AuthError, AuthFuture, AuthRequest, Authenticator};

use crate::auth::Tokens;

/// A web origin: scheme, lowercase host and port (the scheme's default when
/// not written), so `http://Example.com` and `http://example.com:80` are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOrigin {
    scheme: String,
    host: String,
    port: u16,
}

impl WebOrigin {
    /// Parses `scheme://host[:port]` (a trailing `/` is accepted, as in
    /// `CLIENT_URL`); `None` for anything else, including `null`.
    ///
    /// ```
    /// use chat_server::origin::WebOrigin;
    /// assert_eq!(WebOrigin::parse("http://Localhost:80/"), WebOrigin::parse("http://localhost"));
    /// assert_ne!(WebOrigin::parse("https://localhost"), WebOrigin::parse("http://localhost"));
    /// assert!(WebOrigin::parse("null").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<WebOrigin> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        Self::from_authority(&scheme, authority)
    }

    /// The origin a `Host` header names under `scheme`.
    fn from_authority(scheme: &str, authority: &str) -> Option<WebOrigin> {
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority: axum::http::uri::Authority = authority.parse().ok()?;
        if authority.as_str().contains('@') {
            return None;
        }
        Some(WebOrigin {
            scheme: scheme.to_owned(),
            host: authority.host().to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(default_port),
        })
    }
}

/// The origins allowed to use the cookies: `CLIENT_URL`'s, and each request's own.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    allowed: Arc<Vec<WebOrigin>>,
}

impl OriginPolicy {
    /// From `CLIENT_URL` (comma separated); entries that are not origins are ignored.
    ///
    /// ```
    /// use chat_server::origin::OriginPolicy;
    /// let policy = OriginPolicy::new("http://localhost:5173, https://chat.example.com");
    /// let mut headers = axum::http::HeaderMap::new();
    /// headers.insert("host", "127.0.0.1:3000".parse().unwrap());
    /// headers.insert("origin", "https://chat.example.com".parse().unwrap());
    /// assert!(policy.allows(&headers));
    /// headers.insert("origin", "https://evil.example".parse().unwrap());
    /// assert!(!policy.allows(&headers));
    /// ```
    pub fn new(client_url: &str) -> Self {
        OriginPolicy {
            allowed: Arc::new(client_url.split(',').filter_map(WebOrigin::parse).collect()),
        }
    }

    /// Whether a request carrying these headers comes from an allowed origin
    /// or its own: `Origin` decides when present, else `Sec-Fetch-Site:
    /// same-origin`; a request with neither is not allowed.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        match headers.get(ORIGIN) {
            Some(origin) => {
                let Some(origin) = origin.to_str().ok().and_then(WebOrigin::parse) else {
                    return false;
                };
                self.allowed.contains(&origin) || own_origin(headers).as_ref() == Some(&origin)
            }
            None => headers
                .get("sec-fetch-site")
                .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"same-origin")),
        }
    }
}

/// The origin the request was sent to: its `Host`, under the scheme a
/// TLS-terminating proxy reports in `X-Forwarded-Proto` (else `http`).
fn own_origin(headers: &HeaderMap) -> Option<WebOrigin> {
    let host = headers.get(HOST)?.to_str().ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "http".to_owned());
    WebOrigin::from_authority(&scheme, host)
}

/// The Bearer token of a request, if it sends one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Refuses cross-site, state-changing requests that would ride on the
/// cookies (403 `csrf_rejected`): every request that is not GET, HEAD or
/// OPTIONS, sends a cookie and is not authenticated by a valid Bearer token
/// must pass [`OriginPolicy::allows`]. SameSite=Lax already stops most
/// forgeries; this also stops same-site attackers (another port or
/// subdomain) and browsers without SameSite.
pub async fn csrf_origin_check(
    State((policy, tokens)): State<(OriginPolicy, Tokens)>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method();
    let state_changing =
        !(method == Method::GET || method == Method::HEAD || method == Method::OPTIONS);
    let headers = request.headers();
    if state_changing
        && headers.contains_key(COOKIE)
        && bearer(headers).is_none_or(|token| tokens.verify(token).is_err())
        && !policy.allows(headers)
    {
        let body = serde_json::json!({
            "error": "cross-origin request refused",
            "code": "csrf_rejected",
        });
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    next.run(request).await
}

/// The Socket.IO authenticator: access tokens as for HTTP, and a handshake
/// authenticated by the cookie alone must pass [`OriginPolicy::allows`]
/// (`connect_error` "unauthorized" otherwise), so another site's page cannot
/// open a socket with the user's cookie.
#[derive(Clone)]
pub struct SocketAuth {
    /// Verifies the tokens.
    pub tokens: Tokens,
    /// Where cookie handshakes may come from.
    pub policy: OriginPolicy,
}

impl Authenticator for SocketAuth {
    fn authenticate<'a>(&'a self, req: AuthRequest<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            if req.from_cookie && !self.policy.allows(req.headers) {
                tracing::debug!("cookie handshake from a foreign origin refused");
                return Err(AuthError::Invalid);
            }
            self.tokens.authenticate(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().expect("header value"));
        }
        headers
    }

    #[test]
    fn scheme_host_and_port_must_all_match() {
        let policy = OriginPolicy::new("http://localhost:5173");
        let host = ("host", "chat.example.com:8080");
        for (origin, allowed) in [
            ("http://localhost:5173", true),
            ("http://LOCALHOST:5173/", true),
            ("https://localhost:5173", false),
            ("http://localhost:5174", false),
            ("http://localhost", false),
            ("http://chat.example.com:8080", true),
            ("https://chat.example.com:8080", false),
            ("http://chat.example.com", false),
            ("http://chat.example.com:8080.evil.example", false),
            ("http://chat.example.com.evil.example:8080", false),
            ("null", false),
            ("", false),
        ] {
            let h = headers(&[host, ("origin", origin)]);
            assert_eq!(policy.allows(&h), allowed, "{origin}");
        }
    }

    #[test]
    fn the_own_origin_follows_the_proxy_scheme_and_default_ports() {
        let policy = OriginPolicy::new("");
        let h = headers(&[
            ("host", "chat.example.com"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://chat.example.com:443"),
        ]);
        assert!(policy.allows(&h));
        let h = headers(&[
            ("host", "chat.example.com"),
            ("origin", "https://chat.example.com"),
        ]);
        assert!(
            !policy.allows(&h),
            "plain HTTP without a proxy saying otherwise"
        );
    }

    #[test]
    fn without_origin_only_same_origin_fetch_metadata_passes() {
        let policy = OriginPolicy::new("http://localhost:5173");
        assert!(!policy.allows(&headers(&[("host", "localhost:3000")])));
        for (site, allowed) in [
            ("same-origin", true),
            ("same-site", false),
            ("cross-site", false),
            ("none", false),
        ] {
            let h = headers(&[("host", "localhost:3000"), ("sec-fetch-site", site)]);
            assert_eq!(policy.allows(&h), allowed, "{site}");
        }
    }
}
