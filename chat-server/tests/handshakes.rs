//! Connection floods at the Socket.IO handshake, spoken over plain HTTP
//! long-polling (the transport every socket.io client starts with): new
//! connections per client IP, failed authentications counted toward the same
//! budget, and a cap on each user's sockets.
mod common;

use common::polling::Polling;
use common::{TestDb, TestServer, test_config};
use serde_json::Value;

/// Opens a new connection from `ip`: the session, or the refusal's status and body.
async fn open<'a>(server: &'a TestServer, ip: &'static str) -> Result<Polling<'a>, (u16, Value)> {
    Polling::open(server, Some(ip)).await
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
