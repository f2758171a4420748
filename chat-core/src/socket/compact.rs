//! Trimming what a connection keeps of its handshake request.
//!
//! The Socket.IO engine keeps the head of the request that opened a
//! connection for as long as the connection lives. As parsed by hyper, its URI
//! and header values are slices of the HTTP connection's read buffer (several
//! KiB), which therefore stays allocated for every open WebSocket. Copying
//! them into allocations of their own lets that buffer go.

use axum::extract::OriginalUri;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};

/// Returns the request with its URI, headers and `OriginalUri` copied into
/// fresh allocations when it is a Socket.IO request (`/socket.io/...`); other
/// requests pass untouched.
///
/// The layer returned by [`ChatCoreBuilder::build`](crate::ChatCoreBuilder::build)
/// ([`ChatLayer`](super::ChatLayer)) already applies it to every request.
///
/// ```
/// let request = http::Request::builder().uri("/socket.io/?EIO=4&transport=websocket").body(()).unwrap();
/// let request = chat_core::socket::compact_handshake(request);
/// assert_eq!(request.uri().query(), Some("EIO=4&transport=websocket"));
/// ```
pub fn compact_handshake<B>(req: Request<B>) -> Request<B> {
    if !req.uri().path().starts_with("/socket.io") {
        return req;
    }
    let (mut parts, body) = req.into_parts();
    parts.uri = copy_uri(&parts.uri);
    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let name =
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let value = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        headers.append(name, value);
    }
    parts.headers = headers;
    if let Some(OriginalUri(uri)) = parts.extensions.remove::<OriginalUri>() {
        parts.extensions.insert(OriginalUri(copy_uri(&uri)));
    }
    Request::from_parts(parts, body)
}

fn copy_uri(uri: &Uri) -> Uri {
    // Parsing a freshly built string gives a URI that owns its bytes.
    uri.to_string().parse().unwrap_or_else(|_| uri.clone())
}

#[cfg(test)]
mod tests {
    use super::compact_handshake;
    use axum::extract::OriginalUri;
    use http::Request;

    #[test]
    fn socket_io_requests_keep_their_meaning() {
        let mut req = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header("authorization", "Bearer abc")
            .header("cookie", "a=1")
            .header("cookie", "access_token=xyz")
            .header("x-custom", "v")
            .body(())
            .expect("request");
        req.extensions_mut().insert(OriginalUri(
            "/socket.io/?EIO=4&transport=websocket"
                .parse()
                .expect("uri"),
        ));
        let before = req.headers().clone();
        let after = compact_handshake(req);
        assert_eq!(after.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(after.headers(), &before);
        assert_eq!(after.headers().get_all("cookie").iter().count(), 2);
        let original = after
            .extensions()
            .get::<OriginalUri>()
            .expect("original uri kept");
        assert_eq!(original.0, "/socket.io/?EIO=4&transport=websocket");
    }

    #[test]
    fn other_requests_pass_untouched() {
        let req = Request::builder().uri("/api/me").body(()).expect("request");
        assert_eq!(compact_handshake(req).uri(), "/api/me");
    }
}
