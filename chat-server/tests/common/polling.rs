//! A Socket.IO client over engine.io long-polling, written with plain HTTP
//! requests, for tests that look at the handshake itself (no client library
//! hides a refusal) or only need a socket to be open.
use serde_json::Value;

use super::TestServer;

/// An engine.io session over long-polling, from one client address.
pub struct Polling<'a> {
    server: &'a TestServer,
    /// Sent as `X-Forwarded-For` (the server believes it from a trusted proxy).
    ip: Option<&'static str>,
    sid: String,
}

impl<'a> Polling<'a> {
    /// Opens a new session: the session, or the refusal's status and body
    /// (with the `Retry-After` header as `retry_after_header`).
    pub async fn open(
        server: &'a TestServer,
        ip: Option<&'static str>,
    ) -> Result<Polling<'a>, (u16, Value)> {
        let mut request = server
            .http
            .get(server.url("/socket.io/?EIO=4&transport=polling"));
        if let Some(ip) = ip {
            request = request.header("x-forwarded-for", ip);
        }
        let res = request.send().await.expect("handshake");
        let status = res.status().as_u16();
        if status != 200 {
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let mut body: Value = res.json().await.unwrap_or(Value::Null);
            body["retry_after_header"] = retry_after.into();
            return Err((status, body));
        }
        let text = res.text().await.expect("open packet");
        let open: Value =
            serde_json::from_str(text.strip_prefix('0').expect("open packet")).expect("open json");
        Ok(Polling {
            server,
            ip,
            sid: open["sid"].as_str().expect("sid").to_owned(),
        })
    }

    /// Opens a session and connects to `/` as the token's user; panics on a refusal.
    pub async fn connected(server: &'a TestServer, token: &str) -> Polling<'a> {
        let socket = Polling::open(server, None).await.expect("session");
        let answer = socket.connect(token).await;
        assert!(answer.starts_with("40"), "connect refused: {answer}");
        socket
    }

    fn url(&self) -> String {
        self.server.url(&format!(
            "/socket.io/?EIO=4&transport=polling&sid={}",
            self.sid
        ))
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let request = self.server.http.request(method, self.url());
        match self.ip {
            Some(ip) => request.header("x-forwarded-for", ip),
            None => request,
        }
    }

    /// Posts one packet.
    pub async fn send(&self, packet: &str) {
        let res = self
            .request(reqwest::Method::POST)
            .body(packet.to_owned())
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 200, "posting {packet}");
    }

    /// Asks for the main namespace with `token`; returns the answer packet:
    /// `40{"sid":..}` or `44{"message":..}`.
    pub async fn connect(&self, token: &str) -> String {
        self.send(&format!("40{}", serde_json::json!({ "token": token })))
            .await;
        self.answer(&["40", "44"]).await
    }

    /// Polls until a packet starting with one of `prefixes` arrives.
    pub async fn answer(&self, prefixes: &[&str]) -> String {
        loop {
            let res = self
                .request(reqwest::Method::GET)
                .send()
                .await
                .expect("poll");
            assert_eq!(res.status(), 200, "poll");
            let text = res.text().await.expect("packets");
            if let Some(answer) = text
                .split('\u{1e}')
                .find(|p| prefixes.iter().any(|prefix| p.starts_with(prefix)))
            {
                return answer.to_owned();
            }
        }
    }

    /// Closes the engine.io session (packet `1`).
    pub async fn close(self) {
        self.send("1").await;
    }
}
