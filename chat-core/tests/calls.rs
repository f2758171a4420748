//! Calls over real sockets (sio-client against the engine served by axum), on
//! the database of `TEST_POSTGRES_URL` or SQLite: ringing on every socket of
//! the callee, answering on one, signals between exactly the two sockets in
//! the call, every way a call ends with its events and its call message, the
//! grace for a socket that went away, and hostile payloads.
mod common;

use std::time::Duration;

use chat_core::ChatConfig;
use chat_core::ids::{ConversationId, UserId};
use chat_core::service::CreateGroup;
use serde_json::{Value, json};
use sio_client::Client;

fn config() -> ChatConfig {
    ChatConfig {
        events_per_second: 10_000,
        events_burst: 10_000,
        call_ring_timeout: Duration::from_secs(2),
        call_grace: Duration::from_secs(1),
        ..ChatConfig::default()
    }
}

struct Person {
    id: UserId,
    token: String,
}

async fn person(chat: &chat_core::ChatHandle, name: &str) -> Person {
    let (id, token) = common::user(chat, name).await;
    Person { id, token }
}

async fn connect(addr: std::net::SocketAddr, who: &Person) -> Client {
    Client::connect(addr, &who.token).await.expect("connect")
}

async fn direct(chat: &chat_core::ChatHandle, a: &Person, b: &Person) -> ConversationId {
    chat.get_or_create_direct(a.id, b.id)
        .await
        .expect("direct")
        .0
        .id
}

/// Emits `event` and returns its ack.
async fn emit(client: &mut Client, event: &str, payload: Value) -> Value {
    client.emit_with_ack(event, &payload).await.expect("ack")
}

/// Starts a call from `caller` that rings at `callee`; returns its id.
async fn ring(
    caller: &mut Client,
    callee: &mut Client,
    conversation: ConversationId,
    media: &str,
) -> Value {
    let ack = emit(
        caller,
        "call:start",
        json!({"conversation_id": conversation, "media": media}),
    )
    .await;
    let id = ok(&ack)["id"].clone();
    let incoming = callee
        .expect_event("call:incoming")
        .await
        .expect("incoming");
    assert_eq!(incoming["id"], id);
    id
}

fn ok(ack: &Value) -> &Value {
    assert_eq!(ack["success"], true, "ack failed: {ack}");
    &ack["call"]
}

fn code(ack: &Value) -> &str {
    assert_eq!(ack["success"], false, "ack succeeded: {ack}");
    ack["code"].as_str().unwrap_or_default()
}

/// Every event named `name` a client gets within `wait`.
async fn heard(client: &mut Client, name: &str, wait: Duration) -> Vec<Value> {
    client
        .events_within(wait)
        .await
        .into_iter()
        .filter(|e| e.name == name)
        .map(|e| e.data)
        .collect()
}

/// The call message that arrives at `client` (`message:new` of type call).
async fn call_message(client: &mut Client) -> Value {
    loop {
        let message = client
            .expect_event("message:new")
            .await
            .expect("message:new");
        if message["message_type"] == "call" {
            return message;
        }
    }
}

#[tokio::test]
async fn a_call_rings_everywhere_is_answered_on_one_socket_and_signals_reach_only_the_other_side() {
    let served = common::serve(config()).await;
    let (chat, addr, _db) = (&served.chat, served.addr, &served.db);
    let alice = person(chat, "alice").await;
    let bob = person(chat, "bob").await;
    let carol = person(chat, "carol").await;
    let dm = direct(chat, &alice, &bob).await;
    // Carol shares a group with both: she must hear nothing of their call.
    chat.create_group(
        alice.id,
        CreateGroup {
            name: "team".into(),
            member_ids: vec![bob.id, carol.id],
            is_public: false,
        },
    )
    .await
    .expect("group");
    let mut alice_phone = connect(addr, &alice).await;
    let mut alice_laptop = connect(addr, &alice).await;
    let mut bob_phone = connect(addr, &bob).await;
    let mut bob_laptop = connect(addr, &bob).await;
    let mut carol_socket = connect(addr, &carol).await;

    let ack = emit(
        &mut alice_phone,
        "call:start",
        json!({"conversation_id": dm, "media": "video"}),
    )
    .await;
    let call = ok(&ack).clone();
    assert_eq!(call["state"], "ringing");
    assert_eq!(call["callee_id"], bob.id.get());
    let id = call["id"].as_str().expect("id").to_owned();
    // Rings on every socket of the callee.
    for socket in [&mut bob_phone, &mut bob_laptop] {
        let incoming = socket
            .expect_event("call:incoming")
            .await
            .expect("incoming");
        assert_eq!(incoming["id"], id);
        assert_eq!(incoming["media"], "video");
    }
    // Signals wait for the answer.
    let early = emit(
        &mut alice_phone,
        "call:signal",
        json!({"call_id": id, "data": {"type": "offer"}}),
    )
    .await;
    assert_eq!(code(&early), "call_not_active");

    let ack = emit(&mut bob_laptop, "call:accept", json!({"call_id": id})).await;
    assert_eq!(ok(&ack)["state"], "active");
    let accepted = alice_phone
        .expect_event("call:accepted")
        .await
        .expect("accepted");
    assert_eq!(accepted["id"], id);
    let elsewhere = bob_phone
        .expect_event("call:answered_elsewhere")
        .await
        .expect("elsewhere");
    assert_eq!(elsewhere["call_id"], id);
    // Too late for the phone.
    let late = emit(&mut bob_phone, "call:accept", json!({"call_id": id})).await;
    assert_eq!(code(&late), "call_not_ringing");

    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"});
    let sent = emit(
        &mut alice_phone,
        "call:signal",
        json!({"call_id": id, "data": offer}),
    )
    .await;
    assert_eq!(sent["success"], true, "{sent}");
    let relayed = bob_laptop
        .expect_event("call:signal")
        .await
        .expect("signal");
    assert_eq!(relayed["data"], offer);
    assert_eq!(relayed["from_user_id"], alice.id.get());
    let answer = json!({"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}});
    emit(
        &mut bob_laptop,
        "call:signal",
        json!({"call_id": id, "data": answer}),
    )
    .await;
    assert_eq!(
        alice_phone
            .expect_event("call:signal")
            .await
            .expect("signal")["data"],
        answer
    );
    // Sockets not in the call may not signal.
    for other in [&mut alice_laptop, &mut bob_phone] {
        let refused = emit(other, "call:signal", json!({"call_id": id, "data": offer})).await;
        assert_eq!(code(&refused), "not_in_call");
    }
    let refused = emit(
        &mut carol_socket,
        "call:signal",
        json!({"call_id": id, "data": offer}),
    )
    .await;
    assert_eq!(code(&refused), "not_found");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ack = emit(&mut bob_laptop, "call:end", json!({"call_id": id})).await;
    let ended = ok(&ack);
    assert_eq!(ended["end_reason"], "hangup");
    assert!(
        ended["duration_ms"].as_i64().unwrap_or(0) >= 1000,
        "{ended}"
    );
    // Every socket of both users hears the end, and the conversation gets the call message.
    for socket in [&mut alice_phone, &mut alice_laptop, &mut bob_phone] {
        let ended = socket.expect_event("call:ended").await.expect("ended");
        assert_eq!(ended["reason"], "hangup");
        assert_eq!(ended["call"]["state"], "ended");
        let message = call_message(socket).await;
        assert_eq!(message["call"]["reason"], "hangup");
        assert_eq!(message["call"]["media"], "video");
        assert_eq!(message["sender_id"], alice.id.get());
        assert!(
            message["content"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Video call, 0:0"),
            "{message}"
        );
    }
    // Ending again returns the ended call.
    let again = emit(&mut alice_phone, "call:end", json!({"call_id": id})).await;
    assert_eq!(ok(&again)["end_reason"], "hangup");
    // The signals went to the two call sockets only.
    for socket in [&mut alice_laptop, &mut bob_phone, &mut carol_socket] {
        assert!(
            heard(socket, "call:signal", Duration::from_millis(300))
                .await
                .is_empty(),
            "a socket outside the call heard a signal"
        );
    }
    // The call message is in the history, once.
    let page = chat
        .history(alice.id, dm, Default::default())
        .await
        .expect("history");
    let calls: Vec<_> = page.messages.iter().filter(|m| m.call.is_some()).collect();
    assert_eq!(calls.len(), 1);
}

#[tokio::test]
async fn declined_missed_busy_and_offline_calls_each_end_with_their_reason_and_message() {
    let served = common::serve(config()).await;
    let (chat, addr, _db) = (&served.chat, served.addr, &served.db);
    let alice = person(chat, "alice").await;
    let bob = person(chat, "bob").await;
    let carol = person(chat, "carol").await;
    let dave = person(chat, "dave").await;
    let ab = direct(chat, &alice, &bob).await;
    let cb = direct(chat, &carol, &bob).await;
    let ad = direct(chat, &alice, &dave).await;
    let mut alice_socket = connect(addr, &alice).await;
    let mut bob_socket = connect(addr, &bob).await;
    let mut carol_socket = connect(addr, &carol).await;

    // Declined.
    let id = ring(&mut alice_socket, &mut bob_socket, ab, "audio").await;
    let refused = emit(&mut alice_socket, "call:decline", json!({"call_id": id})).await;
    assert_eq!(code(&refused), "forbidden");
    let ack = emit(&mut bob_socket, "call:decline", json!({"call_id": id})).await;
    assert_eq!(ok(&ack)["end_reason"], "declined");
    assert_eq!(
        alice_socket
            .expect_event("call:ended")
            .await
            .expect("ended")["reason"],
        "declined"
    );
    assert_eq!(
        call_message(&mut alice_socket).await["content"],
        "Declined voice call"
    );
    // The decliner's sockets hear the end too.
    assert_eq!(
        bob_socket.expect_event("call:ended").await.expect("ended")["reason"],
        "declined"
    );
    call_message(&mut bob_socket).await;

    // Missed: nobody answers within the ring timeout (2 s here).
    let ack = emit(
        &mut alice_socket,
        "call:start",
        json!({"conversation_id": ab, "media": "video"}),
    )
    .await;
    ok(&ack);
    bob_socket
        .expect_event("call:incoming")
        .await
        .expect("incoming");
    for socket in [&mut alice_socket, &mut bob_socket] {
        let ended = socket.expect_event("call:ended").await.expect("ended");
        assert_eq!(ended["reason"], "missed");
        assert_eq!(ended["duration_ms"], 0);
        assert_eq!(call_message(socket).await["content"], "Missed video call");
    }

    // Busy: carol calls bob while bob is in a call with alice.
    let id = ring(&mut alice_socket, &mut bob_socket, ab, "audio").await;
    ok(&emit(&mut bob_socket, "call:accept", json!({"call_id": id})).await);
    let ack = emit(
        &mut carol_socket,
        "call:start",
        json!({"conversation_id": cb, "media": "audio"}),
    )
    .await;
    let busy = ok(&ack);
    assert_eq!(busy["state"], "ended");
    assert_eq!(busy["end_reason"], "busy");
    assert_eq!(
        carol_socket
            .expect_event("call:ended")
            .await
            .expect("ended")["reason"],
        "busy"
    );
    assert_eq!(
        call_message(&mut carol_socket).await["content"],
        "Voice call, busy"
    );
    // The caller in a call cannot start another.
    let twice = emit(
        &mut alice_socket,
        "call:start",
        json!({"conversation_id": ad, "media": "audio"}),
    )
    .await;
    assert_eq!(code(&twice), "already_in_call");
    ok(&emit(&mut alice_socket, "call:end", json!({"call_id": id})).await);

    // Offline: dave has no socket: missed at once.
    let ack = emit(
        &mut alice_socket,
        "call:start",
        json!({"conversation_id": ad, "media": "audio"}),
    )
    .await;
    let offline = ok(&ack);
    assert_eq!(offline["state"], "ended");
    assert_eq!(offline["end_reason"], "missed");
    let page = chat
        .history(dave.id, ad, Default::default())
        .await
        .expect("history");
    assert_eq!(
        page.messages.first().map(|m| m.content.as_str()),
        Some("Missed voice call")
    );
}

#[tokio::test]
async fn a_side_that_comes_back_within_the_grace_keeps_the_call_and_one_that_does_not_fails_it() {
    let served = common::serve(config()).await;
    let (chat, addr, _db) = (&served.chat, served.addr, &served.db);
    let alice = person(chat, "alice").await;
    let bob = person(chat, "bob").await;
    let dm = direct(chat, &alice, &bob).await;
    let alice_socket = connect(addr, &alice).await;
    let mut bob_socket = connect(addr, &bob).await;
    let mut alice_socket = alice_socket;
    let id = ring(&mut alice_socket, &mut bob_socket, dm, "audio").await;
    ok(&emit(&mut bob_socket, "call:accept", json!({"call_id": id})).await);

    // Alice's socket drops; a new one resumes the call within the grace.
    alice_socket.close().await;
    let mut alice_again = connect(addr, &alice).await;
    let resumed = emit(&mut alice_again, "call:resume", json!({"call_id": id})).await;
    assert_eq!(ok(&resumed)["state"], "active");
    tokio::time::sleep(Duration::from_millis(1800)).await;
    // Still going: signals reach the new socket.
    emit(
        &mut bob_socket,
        "call:signal",
        json!({"call_id": id, "data": {"type": "offer", "sdp": "x"}}),
    )
    .await;
    assert_eq!(
        alice_again
            .expect_event("call:signal")
            .await
            .expect("signal")["data"]["sdp"],
        "x"
    );
    assert!(
        heard(&mut bob_socket, "call:ended", Duration::from_millis(100))
            .await
            .is_empty()
    );

    // Bob's socket drops and nothing resumes it: failed after the grace.
    bob_socket.close().await;
    let ended = alice_again.expect_event("call:ended").await.expect("ended");
    assert_eq!(ended["reason"], "failed");
    assert_eq!(
        call_message(&mut alice_again).await["content"],
        "Voice call failed"
    );
    let late = emit(&mut alice_again, "call:resume", json!({"call_id": id})).await;
    assert_eq!(code(&late), "call_ended");
}

#[tokio::test]
async fn hostile_call_events_get_clear_errors_and_the_socket_stays_healthy() {
    let served = common::serve(ChatConfig {
        call_signals_burst: 5,
        call_signals_per_second: 1,
        ..config()
    })
    .await;
    let (chat, addr, _db) = (&served.chat, served.addr, &served.db);
    let alice = person(chat, "alice").await;
    let bob = person(chat, "bob").await;
    let carol = person(chat, "carol").await;
    let ab = direct(chat, &alice, &bob).await;
    let cb = direct(chat, &carol, &bob).await;
    let group = chat
        .create_group(
            alice.id,
            CreateGroup {
                name: "team".into(),
                member_ids: vec![bob.id],
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id;
    let mut alice_socket = connect(addr, &alice).await;
    let mut bob_socket = connect(addr, &bob).await;
    let mut carol_socket = connect(addr, &carol).await;

    let cases = [
        (
            json!({"conversation_id": ab, "media": "fax"}),
            "invalid_payload",
        ),
        (
            json!({"conversation_id": -1, "media": "audio"}),
            "validation_failed",
        ),
        (
            json!({"conversation_id": "x", "media": "audio"}),
            "invalid_payload",
        ),
        (json!([ab, "audio"]), "invalid_payload"),
        (
            json!({"conversation_id": group, "media": "audio"}),
            "unprocessable",
        ),
        (
            json!({"conversation_id": cb, "media": "audio"}),
            "not_found",
        ),
        (
            json!({"conversation_id": 999_999, "media": "audio"}),
            "not_found",
        ),
    ];
    for (payload, want) in cases {
        let ack = emit(&mut alice_socket, "call:start", payload.clone()).await;
        assert_eq!(code(&ack), want, "{payload}");
    }
    for (event, payload, want) in [
        ("call:accept", json!({"call_id": "nope"}), "not_found"),
        (
            "call:end",
            json!({"call_id": "a".repeat(65)}),
            "validation_failed",
        ),
        ("call:decline", json!({"call_id": 5}), "invalid_payload"),
        ("call:resume", json!({}), "invalid_payload"),
        (
            "call:signal",
            json!({"call_id": "0".repeat(32), "data": {}}),
            "not_found",
        ),
    ] {
        let ack = emit(&mut alice_socket, event, payload.clone()).await;
        assert_eq!(code(&ack), want, "{event} {payload}");
    }

    // Blocked either way: no call.
    chat.block_user(bob.id, alice.id).await.expect("block");
    let ack = emit(
        &mut alice_socket,
        "call:start",
        json!({"conversation_id": ab, "media": "audio"}),
    )
    .await;
    assert_eq!(code(&ack), "blocked");
    chat.unblock_user(bob.id, alice.id).await.expect("unblock");

    let id = ring(&mut alice_socket, &mut bob_socket, ab, "audio").await;
    // Carol cannot act on someone else's call.
    for event in ["call:accept", "call:decline", "call:end", "call:resume"] {
        let ack = emit(&mut carol_socket, event, json!({"call_id": id})).await;
        assert_eq!(code(&ack), "not_found", "{event}");
    }
    let own = emit(&mut alice_socket, "call:accept", json!({"call_id": id})).await;
    assert_eq!(code(&own), "forbidden");
    ok(&emit(&mut bob_socket, "call:accept", json!({"call_id": id})).await);
    for (data, want) in [
        (Value::Null, "validation_failed"),
        (json!({"sdp": "x".repeat(70_000)}), "validation_failed"),
    ] {
        let ack = emit(
            &mut alice_socket,
            "call:signal",
            json!({"call_id": id, "data": data}),
        )
        .await;
        assert_eq!(code(&ack), want);
    }
    // The signal budget: a burst of 5 (three spent above), then refused.
    let mut codes = Vec::new();
    for _ in 0..8 {
        let ack = emit(
            &mut alice_socket,
            "call:signal",
            json!({"call_id": id, "data": {"candidate": null}}),
        )
        .await;
        codes.push(ack["code"].as_str().unwrap_or("ok").to_owned());
    }
    let relayed = codes.iter().filter(|c| *c == "ok").count();
    assert!((1..=3).contains(&relayed), "{codes:?}");
    assert_eq!(
        codes.last().map(String::as_str),
        Some("rate_limited"),
        "{codes:?}"
    );
    assert!(
        codes.iter().all(|c| c == "ok" || c == "rate_limited"),
        "{codes:?}"
    );
    // Still healthy: a message goes through, and the call ends normally.
    let sent = emit(
        &mut alice_socket,
        "message:send",
        json!({"conversation_id": ab, "content": "still here"}),
    )
    .await;
    assert_eq!(sent["success"], true);
    ok(&emit(&mut alice_socket, "call:end", json!({"call_id": id})).await);
    // Clients cannot write call messages themselves.
    let forged = emit(
        &mut alice_socket,
        "message:send",
        json!({"conversation_id": ab, "content": "Video call, 9:99", "message_type": "call"}),
    )
    .await;
    assert_eq!(code(&forged), "validation_failed");
}

/// A call's message takes its place in the conversation's order (stored when
/// the call ends, after what was said during it), and its signals are relayed
/// only: nothing of them is written to the database.
#[tokio::test]
async fn the_call_message_follows_what_was_said_during_the_call_and_signals_are_never_stored() {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

    const MARKER: &str = "sdp-marker-7f3a9c";
    let served = common::serve(config()).await;
    let (chat, addr) = (&served.chat, served.addr);
    let alice = person(chat, "alice").await;
    let bob = person(chat, "bob").await;
    let dm = direct(chat, &alice, &bob).await;
    let mut alice_socket = connect(addr, &alice).await;
    let mut bob_socket = connect(addr, &bob).await;
    let say = |text: &'static str| json!({"conversation_id": dm, "content": text});

    assert_eq!(
        emit(&mut alice_socket, "message:send", say("before")).await["success"],
        true
    );
    let id = ring(&mut alice_socket, &mut bob_socket, dm, "audio").await;
    ok(&emit(&mut bob_socket, "call:accept", json!({"call_id": id})).await);
    let offer = json!({"type": "offer", "sdp": format!("v=0\r\ns={MARKER}\r\n")});
    ok_signal(
        &emit(
            &mut alice_socket,
            "call:signal",
            json!({"call_id": id, "data": offer}),
        )
        .await,
    );
    let relayed = bob_socket
        .expect_event("call:signal")
        .await
        .expect("signal");
    assert_eq!(relayed["data"], offer);
    assert_eq!(
        emit(&mut bob_socket, "message:send", say("during")).await["success"],
        true
    );
    ok(&emit(&mut bob_socket, "call:end", json!({"call_id": id})).await);
    call_message(&mut alice_socket).await;
    assert_eq!(
        emit(&mut alice_socket, "message:send", say("after")).await["success"],
        true
    );

    let page = chat
        .history(alice.id, dm, Default::default())
        .await
        .expect("history");
    let mut in_order: Vec<_> = page.messages.iter().collect();
    in_order.sort_by_key(|m| m.seq);
    let seen: Vec<&str> = in_order
        .iter()
        .map(|m| {
            if m.call.is_some() {
                "call"
            } else {
                m.content.as_str()
            }
        })
        .collect();
    assert_eq!(seen, ["before", "during", "call", "after"]);
    let seqs: Vec<i64> = in_order.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4], "one seq each, no gap");

    // Nothing of the signal in any table (SQLite: in any of its files, the
    // write-ahead log included).
    if served.db.is_postgres() {
        let db = Database::connect(&served.db.url).await.expect("connect");
        let tables = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT table_name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            ))
            .await
            .expect("tables");
        assert!(tables.len() > 5, "the schema's tables are listed");
        let mut control = 0;
        for table in tables {
            let name: String = table.try_get_by_index(0).expect("name");
            let count = |text: &str| {
                Statement::from_string(
                    DbBackend::Postgres,
                    format!("SELECT count(*) FROM \"{name}\" t WHERE t::text LIKE '%{text}%'"),
                )
            };
            let found = |statement| async {
                db.query_one_raw(statement)
                    .await
                    .expect("search")
                    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
                    .unwrap_or(0)
            };
            assert_eq!(
                found(count(MARKER)).await,
                0,
                "the signal was stored in {name}"
            );
            control += found(count("during")).await;
        }
        assert!(control > 0, "the search finds what was stored");
    } else {
        let holds =
            |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
        let mut control = false;
        for entry in std::fs::read_dir(served.db.dir.path()).expect("data dir") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            assert!(
                !holds(&bytes, MARKER),
                "the signal was written to the database"
            );
            control |= holds(&bytes, "during");
        }
        assert!(control, "the scan finds what was stored");
    }
}

fn ok_signal(ack: &Value) {
    assert_eq!(ack["success"], true, "signal refused: {ack}");
}
