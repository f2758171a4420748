//! The Socket.IO layer over a real WebSocket, spoken by hand (Engine.IO 4,
//! Socket.IO 5) so that tests can send what no well-behaved client would.
mod common;

use std::time::Duration;

use chat_core::service::{CreateGroup, SendMessage};
use chat_core::testing::TestDb;
use chat_core::{ChatConfig, ChatHandle};
use common::user;
use futures_util::{SinkExt, StreamExt};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

struct Server {
    url: String,
    chat: ChatHandle,
    _db: TestDb,
}

async fn server(config: ChatConfig) -> Server {
    let served = common::serve(config).await;
    Server {
        url: format!("ws://{}/socket.io/?EIO=4&transport=websocket", served.addr),
        chat: served.chat,
        _db: served.db,
    }
}

/// One raw connection.
struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
}

/// What came of waiting on a connection.
#[derive(Debug)]
enum Heard {
    Text(String),
    Closed,
}

impl Raw {
    /// Opens the Engine.IO session (no Socket.IO connect yet).
    async fn open(server: &Server) -> Raw {
        // The client side may send frames of any size.
        let config = WebSocketConfig::default()
            .max_message_size(None)
            .max_frame_size(None);
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(server.url.as_str(), Some(config), false)
                .await
                .expect("websocket");
        let mut raw = Raw { ws, next_ack: 0 };
        match raw.next().await {
            Heard::Text(open) if open.starts_with('0') => raw,
            other => panic!("expected the open packet, got {other:?}"),
        }
    }

    /// Opens a session and connects to `/` with `auth`.
    async fn connect(server: &Server, auth: Value) -> Raw {
        let mut raw = Raw::open(server).await;
        raw.send(format!("40{auth}")).await;
        match raw.next().await {
            Heard::Text(ok) if ok.starts_with("40") => raw,
            other => panic!("expected the connect ack, got {other:?}"),
        }
    }

    async fn send(&mut self, text: String) {
        // A send into a connection the server already closed may fail: what
        // matters is what is heard next.
        let _ = self.ws.send(Message::text(text)).await;
    }

    /// The next text packet other than a ping (answered), or the close (of
    /// the Engine.IO session or of the WebSocket).
    async fn next(&mut self) -> Heard {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("nothing heard for 10 s");
            match message {
                Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                    let _ = self.ws.send(Message::text("3")).await;
                }
                // Engine.IO's close packet.
                Some(Ok(Message::Text(text))) if text.as_str() == "1" => return Heard::Closed,
                Some(Ok(Message::Text(text))) => return Heard::Text(text.to_string()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Heard::Closed,
                Some(Ok(_)) => {}
            }
        }
    }

    /// What is heard next besides server events (presence and typing
    /// announcements arrive whenever they are due).
    async fn next_besides_events(&mut self) -> Heard {
        loop {
            match self.next().await {
                Heard::Text(text) if text.starts_with("42[") => {}
                other => return other,
            }
        }
    }

    /// Emits `event` with `payload` (raw JSON text) and returns its ack's
    /// body; events heard meanwhile go to `heard`.
    async fn emit_raw(&mut self, event: &str, payload: &str) -> Value {
        self.next_ack += 1;
        let id = self.next_ack;
        self.send(format!("42{id}[\"{event}\",{payload}]")).await;
        let prefix = format!("43{id}[");
        loop {
            match self.next().await {
                Heard::Text(text) if text.starts_with(&prefix) => {
                    let args: Value =
                        serde_json::from_str(&text[prefix.len() - 1..]).expect("ack json");
                    return args[0].clone();
                }
                Heard::Text(_) => {}
                Heard::Closed => panic!("closed while waiting for the ack of {event}"),
            }
        }
    }

    async fn emit(&mut self, event: &str, payload: Value) -> Value {
        self.emit_raw(event, &payload.to_string()).await
    }

    /// Whether an event named `event` arrives within `wait`.
    async fn hears(&mut self, event: &str, wait: Duration) -> bool {
        let prefix = format!("42[\"{event}\"");
        tokio::time::timeout(wait, async {
            loop {
                match self.next().await {
                    Heard::Text(text) if text.starts_with(&prefix) => return true,
                    Heard::Text(_) => {}
                    Heard::Closed => return false,
                }
            }
        })
        .await
        .unwrap_or(false)
    }
}

fn generous() -> ChatConfig {
    ChatConfig {
        events_per_second: 10_000,
        events_burst: 10_000,
        ..ChatConfig::default()
    }
}

/// `40{"a":[0,0,...]}`-like text of about `bytes` bytes.
fn zeros(prefix: &str, bytes: usize, suffix: &str) -> String {
    let mut text = String::with_capacity(bytes + prefix.len() + suffix.len());
    text.push_str(prefix);
    text.push('0');
    while text.len() < bytes {
        text.push_str(",0");
    }
    text.push_str(suffix);
    text
}

#[tokio::test]
async fn packets_over_the_limit_close_the_connection_before_and_after_login() {
    let server = server(ChatConfig {
        socket_max_payload: 50_000,
        ..generous()
    })
    .await;
    let (alice, alice_token) = user(&server.chat, "alice").await;
    let (bob, bob_token) = user(&server.chat, "bob").await;
    let (direct, _) = server
        .chat
        .get_or_create_direct(alice, bob)
        .await
        .expect("direct");
    let mut bystander = Raw::connect(&server, json!({ "token": bob_token })).await;

    // Before login: the CONNECT packet itself is too large.
    let mut raw = Raw::open(&server).await;
    raw.send(zeros("40{\"token\":\"x\",\"a\":[", 60_000, "]}"))
        .await;
    assert!(
        matches!(raw.next().await, Heard::Closed),
        "oversized CONNECT"
    );

    // Just under the limit, it is a CONNECT like any other (refused: no such token).
    let mut raw = Raw::open(&server).await;
    raw.send(zeros("40{\"token\":\"x\",\"a\":[", 40_000, "]}"))
        .await;
    match raw.next().await {
        Heard::Text(text) => assert!(text.starts_with("44"), "connect_error, got {text}"),
        Heard::Closed => panic!("a packet under the limit closed the connection"),
    }

    // After login: an oversized event.
    let mut raw = Raw::connect(&server, json!({ "token": alice_token })).await;
    let ack = raw
        .emit("typing:start", json!({ "conversation_id": direct.id }))
        .await;
    assert_eq!(ack["success"], true, "{ack}");
    raw.send(zeros(
        &format!(
            "42[\"typing:start\",{{\"conversation_id\":{},\"a\":[",
            direct.id
        ),
        60_000,
        "]}]",
    ))
    .await;
    assert!(
        matches!(raw.next_besides_events().await, Heard::Closed),
        "oversized event"
    );

    // The same split into WebSocket fragments is one message, as large.
    let mut raw = Raw::connect(&server, json!({ "token": alice_token })).await;
    let text = zeros("42[\"typing:start\",{\"a\":[", 60_000, "]}]");
    let (head, tail) = text.split_at(30_000);
    let _ = raw
        .ws
        .send(Message::Frame(
            tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
                head.as_bytes().to_vec(),
                tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                    tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
                ),
                false,
            ),
        ))
        .await;
    let _ = raw
        .ws
        .send(Message::Frame(
            tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
                tail.as_bytes().to_vec(),
                tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                    tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Continue,
                ),
                true,
            ),
        ))
        .await;
    assert!(
        matches!(raw.next_besides_events().await, Heard::Closed),
        "fragmented message"
    );

    // Binary attachments count too.
    let mut raw = Raw::connect(&server, json!({ "token": alice_token })).await;
    raw.send(format!(
        "452-[\"message:send\",{{\"conversation_id\":{},\"a\":{{\"_placeholder\":true,\"num\":0}},\"b\":{{\"_placeholder\":true,\"num\":1}}}}]",
        direct.id
    ))
    .await;
    let _ = raw.ws.send(Message::binary(vec![0u8; 30_000])).await;
    let _ = raw.ws.send(Message::binary(vec![0u8; 30_000])).await;
    let heard = raw.next_besides_events().await;
    assert!(
        matches!(heard, Heard::Closed),
        "attachments over the limit: {heard:?}"
    );

    // Nobody else noticed.
    let ack = bystander
        .emit(
            "message:send",
            json!({ "conversation_id": direct.id, "content": "still here" }),
        )
        .await;
    assert_eq!(ack["success"], true, "{ack}");
}

#[tokio::test]
async fn the_connect_auth_is_read_for_its_token_only() {
    let server = server(generous()).await;
    let (_, token) = user(&server.chat, "alice").await;
    // Other fields, however large (under the limit), are skipped.
    let mut raw = Raw::open(&server).await;
    raw.send(zeros(
        &format!("40{{\"token\":\"{token}\",\"junk\":[[[["),
        40_000,
        "]]]]}",
    ))
    .await;
    match raw.next().await {
        Heard::Text(text) => assert!(text.starts_with("40{"), "connected, got {text}"),
        Heard::Closed => panic!("closed"),
    }
    // A token of the wrong type, or an auth that is not an object, is no token.
    for auth in [
        json!({ "token": 7 }),
        json!([token]),
        json!(token),
        json!({ "token": [token] }),
    ] {
        let mut raw = Raw::open(&server).await;
        raw.send(format!("40{auth}")).await;
        match raw.next().await {
            Heard::Text(text) => assert!(
                text.starts_with("44") && text.contains("unauthorized"),
                "{auth}: {text}"
            ),
            Heard::Closed => panic!("{auth}: closed"),
        }
    }
}

#[tokio::test]
async fn every_client_event_is_charged_before_its_payload_is_read() {
    let server = server(ChatConfig {
        events_per_second: 1,
        events_burst: 5,
        ..ChatConfig::default()
    })
    .await;
    let (alice, alice_token) = user(&server.chat, "alice").await;
    let (bob, _) = user(&server.chat, "bob").await;
    let (direct, _) = server
        .chat
        .get_or_create_direct(alice, bob)
        .await
        .expect("direct");
    let mut raw = Raw::connect(&server, json!({ "token": alice_token })).await;
    // conversation:join spends the budget like any other event.
    let mut joined = 0;
    for _ in 0..5 {
        let ack = raw
            .emit("conversation:join", json!({ "conversation_id": direct.id }))
            .await;
        joined += usize::from(ack["success"] == true);
    }
    assert_eq!(joined, 5, "the burst is honoured");
    // Spent: every event is refused, known or not, whatever its payload
    // (a malformed one is not even looked at).
    let cases = [
        (
            "conversation:join",
            format!("{{\"conversation_id\":{}}}", direct.id),
        ),
        ("conversation:join", "\"not an object\"".to_owned()),
        (
            "message:send",
            format!("{{\"conversation_id\":{},\"content\":\"hi\"}}", direct.id),
        ),
        ("message:send", "[1,2,3]".to_owned()),
        ("message:read", "{\"conversation_id\":\"x\"}".to_owned()),
        ("message:delivered", "42".to_owned()),
        (
            "typing:start",
            format!("{{\"conversation_id\":{}}}", direct.id),
        ),
        ("typing:stop", "null".to_owned()),
        ("no-such-event", "{}".to_owned()),
    ];
    for (event, payload) in cases {
        let ack = raw.emit_raw(event, &payload).await;
        assert_eq!(
            (ack["success"].clone(), ack["code"].clone()),
            (json!(false), json!("rate_limited")),
            "{event} {payload}: {ack}"
        );
    }
    // And the socket is still there once the budget refills.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let ack = raw
        .emit("conversation:join", json!({ "conversation_id": direct.id }))
        .await;
    assert_eq!(ack["success"], true, "{ack}");
}

#[tokio::test]
async fn payloads_are_still_checked_for_shape() {
    let server = server(generous()).await;
    let (alice, token) = user(&server.chat, "alice").await;
    let (bob, _) = user(&server.chat, "bob").await;
    let (direct, _) = server
        .chat
        .get_or_create_direct(alice, bob)
        .await
        .expect("direct");
    let mut raw = Raw::connect(&server, json!({ "token": token })).await;
    for (event, payload, code) in [
        (
            "typing:start",
            format!("[{}]", direct.id),
            "invalid_payload",
        ),
        ("typing:start", "null".to_owned(), "invalid_payload"),
        ("message:send", "\"hi\"".to_owned(), "invalid_payload"),
        ("message:read", "{}".to_owned(), "invalid_payload"),
        ("no-such-event", "[1]".to_owned(), "unknown_event"),
    ] {
        let ack = raw.emit_raw(event, &payload).await;
        assert_eq!(ack["code"], code, "{event} {payload}: {ack}");
    }
    // No payload at all.
    raw.next_ack += 1;
    let id = raw.next_ack;
    raw.send(format!("42{id}[\"typing:start\"]")).await;
    let Heard::Text(text) = raw.next().await else {
        panic!("closed")
    };
    assert!(text.contains("invalid_payload"), "{text}");
    // Unknown fields and extra arguments are skipped.
    let ack = raw
        .emit_raw(
            "message:send",
            &format!(
                "{{\"conversation_id\":{},\"content\":\"hi\",\"extra\":{{\"deep\":[1,[2,[3]]]}}}},\"more\",[1]",
                direct.id
            ),
        )
        .await;
    assert_eq!(ack["success"], true, "{ack}");
}

async fn sql(chat: &ChatHandle, text: &str, values: [i64; 2]) {
    let backend = chat.db().get_database_backend();
    let text = match backend {
        sea_orm::DbBackend::Sqlite => text.replace('$', "?"),
        _ => text.to_owned(),
    };
    chat.db()
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            text,
            values.map(Into::into),
        ))
        .await
        .expect("sql");
}

/// A `conversation:join` whose membership check passed before a leave, and
/// whose `socket.join` runs after the leave unsubscribed the user's sockets,
/// must not leave the socket subscribed. The check is made to predate the
/// leave with a cache that has not heard of it, as on an instance the leave's
/// notice has not reached yet.
#[tokio::test]
async fn a_join_racing_a_leave_does_not_leave_the_socket_subscribed() {
    let server = server(generous()).await;
    let (alice, _) = user(&server.chat, "alice").await;
    let (bob, bob_token) = user(&server.chat, "bob").await;
    let group = server
        .chat
        .create_group(
            alice,
            CreateGroup {
                name: "team".into(),
                member_ids: vec![],
                is_public: false,
            },
        )
        .await
        .expect("group");
    let (carol, _) = user(&server.chat, "carol").await;
    let mut socket = Raw::connect(&server, json!({ "token": bob_token })).await;
    // Bob is added (elsewhere), and this instance's cache learns it: a change
    // made through the handle (carol's) drops the cached set, so every later
    // load, the online counts' included, sees bob.
    sql(
        &server.chat,
        "INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES ($1, $2, CURRENT_TIMESTAMP)",
        [group.id.get(), bob.get()],
    )
    .await;
    server
        .chat
        .add_member(alice, group.id, carol)
        .await
        .expect("add carol");
    // Lets the online counts reload the changed set now rather than after
    // the leave below (were they late, the cache would know of the leave and
    // the race would not be exercised, but the test would still hold).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(server.chat.is_member(group.id, bob).await.expect("member"));
    // ...then he leaves (elsewhere): the leave's unsubscription finds no
    // socket of his in the room yet, and the cache has not heard of it.
    sql(
        &server.chat,
        "DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        [group.id.get(), bob.get()],
    )
    .await;
    let ack = socket
        .emit("conversation:join", json!({ "conversation_id": group.id }))
        .await;
    assert_eq!(ack["code"], "not_a_member", "{ack}");
    server
        .chat
        .send_message(alice, SendMessage::text(group.id, "bob left, right?"), None)
        .await
        .expect("send");
    assert!(
        !socket
            .hears("message:new", Duration::from_millis(500))
            .await,
        "the socket of a user who left gets the conversation's messages"
    );
}
