//! Connection floods at the Socket.IO handshake, spoken over plain HTTP
//! long-polling (the transport every socket.io client starts with): new
//! connections per client IP, failed authentications counted toward the same
//! budget, and a cap on each user's sockets.
mod common;

use common::{TestDb, TestServer, test_config};
use serde_json::Value;

/// One engine.io long-polling session, as seen by a client at `ip` behind the
/// trusted proxy.
struct Polling<'a> {
    server: &'a TestServer,
    ip: &'static str,
    sid: String,
}

/// Opens a new connection: 200 and the session, or the refusal's status and body.
async fn open<'a>(server: &'a TestServer, ip: &'static str) -> Result<Polling<'a>, (u16, Value)> {
    let res = server
        .http
        .get(server.url("/socket.io/?EIO=4&transport=polling"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .expect("handshake");
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

impl Polling<'_> {
    fn url(&self) -> String {
        self.server.url(&format!(
            "/socket.io/?EIO=4&transport=polling&sid={}",
            self.sid
        ))
    }

    async fn send(&self, packet: &str) {
        let res = self
            .server
            .http
            .post(self.url())
            .header("x-forwarded-for", self.ip)
            .body(packet.to_owned())
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 200, "posting {packet}");
    }

    /// Asks for the main namespace with `token`; returns the answer packet:
    /// `40{"sid":..}` or `44{"message":..}`.
    async fn connect(&self, token: &str) -> String {
        self.send(&format!("40{}", serde_json::json!({ "token": token })))
            .await;
        self.answer(&["40", "44"]).await
    }

    /// Polls until a packet starting with one of `prefixes` arrives.
    async fn answer(&self, prefixes: &[&str]) -> String {
        loop {
            let res = self
                .server
                .http
                .get(self.url())
                .header("x-forwarded-for", self.ip)
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
}

fn refusal(answer: &str) -> Option<String> {
    let body: Value = serde_json::from_str(answer.strip_prefix("44")?).ok()?;
    body["message"].as_str().map(str::to_owned)
}

fn limited_config(db: &TestDb, per_minute: u32, burst: u32) -> chat_server::Config {
    let mut config = test_config(db);
    config.handshakes_per_minute = per_minute;
    config.handshakes_burst = burst;
    config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    config
}

#[tokio::test]
async fn new_connections_are_limited_per_client_ip_but_open_sessions_are_not() {
    let db = TestDb::new().await;
    let server = TestServer::start_with(limited_config(&db, 6, 3)).await;
    let (_, token) = server.register("flood").await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(
            open(&server, "203.0.113.7")
                .await
                .expect("within the burst"),
        );
    }
    let (status, body) = open(&server, "203.0.113.7")
        .await
        .err()
        .expect("over the burst");
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let retry_after = body["details"]["retry_after"]
        .as_u64()
        .expect("retry_after");
    assert!((1..=10).contains(&retry_after), "{body}");
    assert_eq!(body["retry_after_header"], retry_after, "{body}");
    // A WebSocket opened directly is a new connection too.
    let ws = server
        .http
        .get(server.url("/socket.io/?EIO=4&transport=websocket"))
        .header("x-forwarded-for", "203.0.113.7")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("ws");
    assert_eq!(ws.status(), 429);

    // The sessions already open go on: connecting them and polling cost nothing.
    for session in &sessions {
        let answer = session.connect(&token).await;
        assert!(answer.starts_with("40"), "{answer}");
    }
    // Another client behind the same proxy has its own budget.
    assert!(open(&server, "198.51.100.9").await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn failed_handshakes_use_up_the_same_budget_also_on_an_open_connection() {
    let db = TestDb::new().await;
    let server = TestServer::start_with(limited_config(&db, 6, 4)).await;
    let (_, token) = server.register("guesser").await;
    // One connection (1 of 4), then wrong tokens on it: socket.io lets a
    // refused client try again without reconnecting.
    let session = open(&server, "203.0.113.8").await.expect("open");
    for n in 0..3 {
        let answer = session.connect("not-a-token").await;
        assert_eq!(refusal(&answer).as_deref(), Some("unauthorized"), "try {n}");
    }
    // The budget is spent: refused before the credentials are looked at, even
    // good ones, and no new connection either.
    let answer = session.connect("still-not-a-token").await;
    assert_eq!(refusal(&answer).as_deref(), Some("unauthorized"));
    let answer = session.connect(&token).await;
    assert_eq!(
        refusal(&answer).as_deref(),
        Some("rate_limited"),
        "{answer}"
    );
    let (status, body) = open(&server, "203.0.113.8").await.err().expect("limited");
    assert_eq!(status, 429, "{body}");
    // Others are not affected.
    let other = open(&server, "198.51.100.10").await.expect("other ip");
    assert!(other.connect(&token).await.starts_with("40"));
    server.stop().await;
}

#[tokio::test]
async fn a_user_holds_at_most_sockets_per_user_and_the_open_ones_stay() {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.sockets_per_user = 2;
    let server = TestServer::start_with(config).await;
    let (_, token) = server.register("tabs").await;
    let (_, other_token) = server.register("other").await;
    let first = open(&server, "127.0.0.1").await.expect("open");
    let second = open(&server, "127.0.0.1").await.expect("open");
    let third = open(&server, "127.0.0.1").await.expect("open");
    assert!(first.connect(&token).await.starts_with("40"));
    assert!(second.connect(&token).await.starts_with("40"));
    let answer = third.connect(&token).await;
    assert_eq!(
        refusal(&answer).as_deref(),
        Some("too_many_sockets"),
        "{answer}"
    );
    // Another user is not affected.
    let stranger = open(&server, "127.0.0.1").await.expect("open");
    assert!(stranger.connect(&other_token).await.starts_with("40"));
    // The open sockets were left alone: they still get acks.
    for socket in [&first, &second] {
        socket.send("421[\"no:such:event\"]").await;
        let ack = socket.answer(&["431"]).await;
        assert!(ack.contains("unknown_event"), "{ack}");
    }
    // Closing one gives its place back.
    first.send("41").await;
    let mut answer = String::new();
    for _ in 0..50 {
        answer = third.connect(&token).await;
        if answer.starts_with("40") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        answer.starts_with("40"),
        "a closed socket gives its place back: {answer}"
    );
    server.stop().await;
}
