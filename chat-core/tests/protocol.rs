//! The wire protocol as a client notices it, over real sockets (sio-client against the engine
//! served by axum): a sent message and its fan-out, receipts, typing and its expiry, presence, and
//! catch-up with `after_seq` after a reconnect.
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use chat_core::ids::{ConversationId, UserId};
use chat_core::service::{CreateGroup, HistoryQuery};
use chat_core::testing::TestDb;
use chat_core::{ChatConfig, ChatHandle};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sio_client::{Client, Event};

/// How long a client listens to conclude that nothing more arrives.
const QUIET: Duration = Duration::from_millis(300);

struct Server {
    addr: SocketAddr,
    chat: ChatHandle,
    _db: TestDb,
}

impl Server {
    async fn start(config: ChatConfig) -> Server {
        let served = common::serve(config).await;
        Server {
            addr: served.addr,
            chat: served.chat,
            _db: served.db,
        }
    }

    /// A user and their token.
    async fn user(&self, name: &str) -> User {
        let (id, token) = common::user(&self.chat, name).await;
        User {
            id,
            name: name.to_owned(),
            token,
        }
    }

    async fn connect(&self, user: &User) -> Client {
        Client::connect(self.addr, &user.token)
            .await
            .unwrap_or_else(|e| panic!("{} connects: {e:#}", user.name))
    }

    async fn group(&self, creator: &User, members: &[&User]) -> ConversationId {
        self.chat
            .create_group(
                creator.id,
                CreateGroup {
                    name: "team".into(),
                    member_ids: members.iter().map(|m| m.id).collect(),
                    is_public: false,
                },
            )
            .await
            .expect("group")
            .id
    }

    async fn direct(&self, a: &User, b: &User) -> ConversationId {
        self.chat
            .get_or_create_direct(a.id, b.id)
            .await
            .expect("direct")
            .0
            .id
    }
}

struct User {
    id: UserId,
    name: String,
    token: String,
}

fn generous() -> ChatConfig {
    ChatConfig {
        events_per_second: 10_000,
        events_burst: 10_000,
        ..ChatConfig::default()
    }
}

/// The events named `name` among `events`.
fn named<'a>(events: &'a [Event], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e.name == name)
        .map(|e| &e.data)
        .collect()
}

/// Sends `content` over `client` and returns the acked message as the other
/// members receive it.
async fn send(client: &mut Client, conversation_id: ConversationId, content: &str) -> Value {
    let ack = client
        .emit_with_ack(
            "message:send",
            &json!({ "conversation_id": conversation_id, "content": content }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    as_broadcast(&ack["message"])
}

/// A message from an ack or a history page as broadcasts carry it: without
/// the reader's own reactions (`my_reactions`, none in these tests).
fn as_broadcast(acked: &Value) -> Value {
    let mut message = acked.clone();
    let mine = message
        .as_object_mut()
        .and_then(|m| m.remove("my_reactions"));
    assert_eq!(
        mine,
        Some(json!([])),
        "the ack carries the sender's own reactions"
    );
    message
}

#[tokio::test]
async fn a_message_reaches_every_other_member_socket_once_and_no_outsider() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let dave = server.user("dave").await;
    let group = server.group(&alice, &[&bob, &carol]).await;
    // Dave knows alice, but is not in the group.
    server.direct(&alice, &dave).await;

    let mut sender = server.connect(&alice).await;
    let mut alice_tab = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut carol_socket = server.connect(&carol).await;
    let mut dave_socket = server.connect(&dave).await;

    let ack = sender
        .emit_with_ack(
            "message:send",
            &json!({ "conversation_id": group, "content": "  hello team  ", "client_id": "c-1" }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let message = &as_broadcast(&ack["message"]);
    assert_eq!(message["conversation_id"], json!(group));
    assert_eq!(message["seq"], 1);
    assert_eq!(message["sender_id"], json!(alice.id));
    assert_eq!(message["sender"]["username"], "alice");
    assert_eq!(message["content"], "hello team", "stored trimmed");
    assert_eq!(message["message_type"], "text");
    assert_eq!(message["client_id"], "c-1");

    // The same client_id again: the stored message, delivered to nobody.
    let again = sender
        .emit_with_ack(
            "message:send",
            &json!({ "conversation_id": group, "content": "hello again", "client_id": "c-1" }),
        )
        .await
        .expect("ack");
    assert_eq!(again["success"], true, "{again}");
    assert_eq!(
        &as_broadcast(&again["message"]),
        message,
        "a repeated client_id"
    );

    for (who, socket) in [
        ("alice's other tab", &mut alice_tab),
        ("bob", &mut bob_socket),
        ("carol", &mut carol_socket),
    ] {
        let events = socket.events_within(QUIET).await;
        assert_eq!(
            named(&events, "message:new"),
            vec![message],
            "{who} gets the message exactly once"
        );
    }
    for (who, socket) in [
        ("the sending socket", &mut sender),
        ("dave", &mut dave_socket),
    ] {
        let events = socket.events_within(QUIET).await;
        assert!(
            named(&events, "message:new").is_empty(),
            "{who} gets no message:new: {events:?}"
        );
    }
}

#[tokio::test]
async fn read_and_delivered_receipts_reach_the_other_members() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let group = server.group(&alice, &[&bob, &carol]).await;
    let mut alice_socket = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut carol_socket = server.connect(&carol).await;
    let first = send(&mut alice_socket, group, "one").await;
    let second = send(&mut alice_socket, group, "two").await;
    for socket in [&mut bob_socket, &mut carol_socket] {
        assert_eq!(
            socket.expect_event("message:new").await.expect("first"),
            first
        );
        assert_eq!(
            socket.expect_event("message:new").await.expect("second"),
            second
        );
    }

    // Carol's phone got both.
    let ack = carol_socket
        .emit_with_ack(
            "message:delivered",
            &json!({ "conversation_id": group, "message_id": second["id"] }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let receipt = &ack["receipt"];
    assert_eq!(receipt["conversation_id"], json!(group));
    assert_eq!(receipt["message_id"], second["id"]);
    assert_eq!(receipt["seq"], 2);
    assert_eq!(receipt["user_id"], json!(carol.id));
    assert!(receipt["delivered_at"].is_string(), "{receipt}");
    for (who, socket) in [
        ("alice", &mut alice_socket),
        ("bob", &mut bob_socket),
        ("carol herself", &mut carol_socket),
    ] {
        let events = socket.events_within(QUIET).await;
        assert_eq!(
            named(&events, "message:delivered"),
            vec![receipt],
            "{who} hears of the delivery once"
        );
    }

    // Bob read the first one.
    let ack = bob_socket
        .emit_with_ack(
            "message:read",
            &json!({ "conversation_id": group, "message_id": first["id"] }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let receipt = &ack["receipt"];
    assert_eq!(receipt["seq"], 1);
    assert_eq!(receipt["user_id"], json!(bob.id));
    assert!(receipt["read_at"].is_string(), "{receipt}");
    for (who, socket) in [("alice", &mut alice_socket), ("carol", &mut carol_socket)] {
        let events = socket.events_within(QUIET).await;
        assert_eq!(
            named(&events, "message:read"),
            vec![receipt],
            "{who} hears of the read once"
        );
        assert!(named(&events, "message:delivered").is_empty(), "{events:?}");
    }

    // Reading it again moves nothing and tells nobody.
    let ack = bob_socket
        .emit_with_ack(
            "message:read",
            &json!({ "conversation_id": group, "message_id": first["id"] }),
        )
        .await
        .expect("ack");
    assert_eq!(ack, json!({ "success": true, "receipt": null }));
    let events = alice_socket.events_within(QUIET).await;
    assert!(named(&events, "message:read").is_empty(), "{events:?}");
}

/// The indicator's expiry runs on tokio time: paused, the test moves the clock past the timeout
/// without waiting. The clock moves by the timeout only, well within Engine.IO's ping interval
/// (25 s), so no ping is due meanwhile: a ping and its pong travel over real sockets, which a
/// paused clock does not wait for, so jumping past the interval plus the ping timeout could end a
/// session that did answer. For the same reason everything that touches the database happens
/// before the clock is paused or after it resumes: while paused, tokio moves the clock on
/// whenever the runtime waits, and an answer from the database (a thread or a socket of its own)
/// could come after timers fired early.
#[tokio::test]
async fn typing_stops_by_itself_after_the_timeout() {
    let timeout = Duration::from_secs(5);
    let server = Server::start(ChatConfig {
        typing_timeout: timeout,
        ..generous()
    })
    .await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let direct = server.direct(&alice, &bob).await;
    let mut alice_socket = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;

    let ack = alice_socket
        .emit_with_ack("typing:start", &json!({ "conversation_id": direct }))
        .await
        .expect("ack");
    let started = tokio::time::Instant::now();
    assert_eq!(ack, json!({ "success": true, "conversation_id": direct }));
    let typing = json!({ "conversation_id": direct, "user_id": alice.id, "username": "alice" });
    assert_eq!(
        bob_socket
            .expect_event("typing:start")
            .await
            .expect("start"),
        typing
    );

    tokio::time::pause();
    tokio::time::advance(timeout - Duration::from_millis(200)).await;
    let early = bob_socket.events_within(Duration::from_millis(100)).await;
    assert!(
        named(&early, "typing:stop").is_empty(),
        "stopped before the timeout: {early:?}"
    );
    tokio::time::advance(Duration::from_millis(300)).await;
    // The expiry fired during the advance. Its event still travels over a real socket: waiting
    // for it on a paused clock would let the runtime, idle until the bytes arrive, jump the clock
    // to the wait's own timeout first.
    tokio::time::resume();
    assert_eq!(
        bob_socket.expect_event("typing:stop").await.expect("stop"),
        typing
    );
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());

    assert!(alice_socket.is_open() && bob_socket.is_open());
    let later = bob_socket.events_within(QUIET).await;
    assert!(
        named(&later, "typing:stop").is_empty() && named(&later, "user:offline").is_empty(),
        "one stop, nobody left: {later:?}"
    );
    // A stop from someone no longer typing is not relayed.
    let ack = alice_socket
        .emit_with_ack("typing:stop", &json!({ "conversation_id": direct }))
        .await
        .expect("ack");
    assert_eq!(ack, json!({ "success": true, "conversation_id": direct }));
    let events = bob_socket.events_within(QUIET).await;
    assert!(named(&events, "typing:stop").is_empty(), "{events:?}");
}

#[tokio::test]
async fn contacts_see_a_user_come_online_and_go_offline() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let stranger = server.user("stranger").await;
    server.direct(&alice, &bob).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut stranger_socket = server.connect(&stranger).await;

    let mut phone = server.connect(&alice).await;
    assert_eq!(
        bob_socket
            .expect_event("user:online")
            .await
            .expect("online"),
        json!({ "user_id": alice.id, "username": "alice" })
    );
    // A second device is not news, and nobody hears of their own presence.
    let laptop = server.connect(&alice).await;
    let events = bob_socket.events_within(QUIET).await;
    assert!(named(&events, "user:online").is_empty(), "{events:?}");
    // (Bob's own announcement may reach the phone, depending on when it was batched.)
    let own = phone.events_within(QUIET).await;
    assert!(
        !own.iter()
            .any(|e| e.name.starts_with("user:") && e.data["user_id"] == json!(alice.id)),
        "{own:?}"
    );

    laptop.close().await;
    let events = bob_socket.events_within(QUIET).await;
    assert!(
        named(&events, "user:offline").is_empty(),
        "still online on the phone: {events:?}"
    );
    phone.close().await;
    let offline = bob_socket
        .expect_event("user:offline")
        .await
        .expect("offline");
    assert_eq!(offline["user_id"], json!(alice.id));
    assert_eq!(offline["username"], "alice");
    assert!(offline["last_seen"].is_string(), "{offline}");

    let events = stranger_socket.events_within(QUIET).await;
    assert!(
        named(&events, "user:online").is_empty() && named(&events, "user:offline").is_empty(),
        "a stranger hears nothing: {events:?}"
    );
}

#[tokio::test]
async fn messages_sent_while_away_are_caught_up_with_after_seq() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let direct = server.direct(&alice, &bob).await;
    let mut alice_socket = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;

    let first = send(&mut alice_socket, direct, "before").await;
    let live = bob_socket.expect_event("message:new").await.expect("live");
    assert_eq!(live, first);
    let known = live["seq"].as_i64().expect("seq");
    bob_socket.close().await;

    let mut missed = Vec::new();
    for n in 0..5 {
        missed.push(send(&mut alice_socket, direct, &format!("while away {n}")).await);
    }

    let mut bob_socket = server.connect(&bob).await;
    let events = bob_socket.events_within(QUIET).await;
    assert!(
        named(&events, "message:new").is_empty(),
        "nothing is replayed on connect: {events:?}"
    );
    // The conversation list tells there is more than bob holds...
    let page = server
        .chat
        .conversation_page(bob.id, Default::default())
        .await
        .expect("conversations");
    assert_eq!(page.conversations[0].last_seq, known + 5);
    // ...and after_seq pages bring it, oldest first, exactly as it was acked.
    let mut caught_up = Vec::new();
    let mut after = known;
    loop {
        let query = HistoryQuery {
            after_seq: Some(after),
            limit: Some(2),
            ..Default::default()
        };
        let page = server
            .chat
            .history(bob.id, direct, query)
            .await
            .expect("history");
        if let Some(last) = page.messages.last() {
            after = last.seq;
        }
        caught_up.extend(
            page.messages
                .iter()
                .map(|m| as_broadcast(&serde_json::to_value(m).expect("message json"))),
        );
        if !page.has_more {
            break;
        }
    }
    assert_eq!(caught_up, missed, "every missed message, none twice");

    // Live delivery goes on after the catch-up.
    let next = send(&mut alice_socket, direct, "welcome back").await;
    assert_eq!(next["seq"], known + 6);
    assert_eq!(
        bob_socket.expect_event("message:new").await.expect("live"),
        next
    );
}

#[tokio::test]
async fn an_id_that_is_not_positive_is_refused_by_field_and_the_socket_stays() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let group = server.group(&alice, &[&bob]).await;
    let mut socket = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;

    let cases = [
        (
            "message:send",
            json!({ "conversation_id": 0, "content": "hi" }),
            "conversation_id",
        ),
        (
            "message:send",
            json!({ "conversation_id": -1, "content": "hi" }),
            "conversation_id",
        ),
        (
            "message:read",
            json!({ "conversation_id": group, "message_id": -7 }),
            "message_id",
        ),
        (
            "message:delivered",
            json!({ "conversation_id": -2, "message_id": 1 }),
            "conversation_id",
        ),
        (
            "typing:start",
            json!({ "conversation_id": 0 }),
            "conversation_id",
        ),
        (
            "conversation:join",
            json!({ "conversation_id": -3 }),
            "conversation_id",
        ),
    ];
    for (event, payload, field) in cases {
        let ack = socket.emit_with_ack(event, &payload).await.expect("ack");
        assert_eq!(ack["success"], false, "{event} {payload}: {ack}");
        assert_eq!(ack["code"], "validation_failed", "{event} {payload}: {ack}");
        assert_eq!(
            ack["details"][field],
            json!(["must be a positive integer"]),
            "{event} {payload}: {ack}"
        );
    }
    // Nothing reached the other member, and the same socket still sends.
    let heard = bob_socket.events_within(QUIET).await;
    for event in [
        "message:new",
        "typing:start",
        "message:read",
        "message:delivered",
    ] {
        assert!(named(&heard, event).is_empty(), "bob heard {event}");
    }
    let message = send(&mut socket, group, "still here").await;
    assert_eq!(message["content"], "still here");
}

#[tokio::test]
async fn edits_and_deletes_reach_the_other_sockets_once_and_take_revisions() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    // Alice created the group; Carol is not in it.
    let group = server.group(&alice, &[&bob]).await;
    server.direct(&alice, &carol).await;
    let mut sender = server.connect(&alice).await;
    let mut alice_tab = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut carol_socket = server.connect(&carol).await;

    let typo = send(&mut sender, group, "helo team").await;
    let from_bob = send(&mut bob_socket, group, "a secret I regret").await;
    let sent_rev = from_bob["rev"].as_i64().expect("rev");
    let _ = alice_tab.events_within(QUIET).await;
    let _ = bob_socket.events_within(QUIET).await;

    // The sender edits: acked with the new text, edited_at and the next revision.
    let ack = sender
        .emit_with_ack(
            "message:edit",
            &json!({ "message_id": typo["id"], "content": "  hello team " }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let edited = &as_broadcast(&ack["message"]);
    assert_eq!(edited["content"], "hello team");
    assert_eq!(edited["rev"], sent_rev + 1);
    assert_eq!(edited["seq"], typo["seq"], "an edit keeps the seq");
    assert!(edited["edited_at"].is_string(), "{edited}");
    // Every other socket of the conversation hears it once; the sender's does not.
    for socket in [&mut alice_tab, &mut bob_socket] {
        let heard = socket.events_within(QUIET).await;
        assert_eq!(named(&heard, "message:updated"), [edited], "{heard:?}");
    }
    assert!(named(&sender.events_within(QUIET).await, "message:updated").is_empty());

    // Nobody else edits it; an outsider learns nothing of it.
    let refusals = [
        (
            &mut bob_socket,
            json!({ "message_id": typo["id"], "content": "mine now" }),
            "forbidden",
        ),
        (
            &mut carol_socket,
            json!({ "message_id": typo["id"], "content": "mine now" }),
            "not_found",
        ),
        (
            &mut sender,
            json!({ "message_id": typo["id"], "content": "   " }),
            "validation_failed",
        ),
    ];
    for (socket, payload, code) in refusals {
        let ack = socket
            .emit_with_ack("message:edit", &payload)
            .await
            .expect("ack");
        assert_eq!(ack["code"], code, "{payload}: {ack}");
    }
    for (socket, id, code) in [
        (&mut bob_socket, &typo["id"], "forbidden"),
        (&mut carol_socket, &from_bob["id"], "not_found"),
    ] {
        let ack = socket
            .emit_with_ack("message:delete", &json!({ "message_id": id }))
            .await
            .expect("ack");
        assert_eq!(ack["code"], code, "{ack}");
    }

    // The group's creator deletes Bob's message: a tombstone with the next revision.
    let ack = sender
        .emit_with_ack("message:delete", &json!({ "message_id": from_bob["id"] }))
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let tombstone = &ack["message"];
    assert_eq!(tombstone["content"], "");
    assert_eq!(tombstone["rev"], sent_rev + 2);
    assert_eq!(tombstone["seq"], from_bob["seq"]);
    assert_eq!(tombstone["sender_id"], from_bob["sender_id"]);
    assert!(tombstone["deleted_at"].is_string(), "{tombstone}");
    let heard = bob_socket.events_within(QUIET).await;
    let deleted = named(&heard, "message:deleted");
    assert_eq!(deleted.len(), 1, "{heard:?}");
    assert_eq!(deleted[0]["message_id"], from_bob["id"]);
    assert_eq!(deleted[0]["rev"], sent_rev + 2);
    assert!(named(&carol_socket.events_within(QUIET).await, "message:deleted").is_empty());

    // Deleting again changes nothing; a deleted message cannot be edited.
    let again = bob_socket
        .emit_with_ack("message:delete", &json!({ "message_id": from_bob["id"] }))
        .await
        .expect("ack");
    assert_eq!(again["message"]["rev"], sent_rev + 2, "{again}");
    assert!(named(&sender.events_within(QUIET).await, "message:deleted").is_empty());
    let ack = bob_socket
        .emit_with_ack(
            "message:edit",
            &json!({ "message_id": from_bob["id"], "content": "back" }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["code"], "unprocessable", "{ack}");

    // The text is gone from the row, and catching up by revision sees both changes.
    let stored: Option<String> =
        chat_core::entity::message::Entity::find_by_id(from_bob["id"].as_i64().expect("id"))
            .one(server.chat.db())
            .await
            .expect("row")
            .map(|m| m.content);
    assert_eq!(stored.as_deref(), Some(""));
    let page = server
        .chat
        .history(
            alice.id,
            group,
            HistoryQuery {
                after_rev: Some(sent_rev),
                ..Default::default()
            },
        )
        .await
        .expect("history");
    let changes: Vec<(i64, &str)> = page
        .messages
        .iter()
        .map(|m| (m.rev, m.content.as_str()))
        .collect();
    assert_eq!(changes, [(sent_rev + 1, "hello team"), (sent_rev + 2, "")]);
    assert_eq!(page.last_rev, sent_rev + 2);
}

/// 20 users react to one message at once (all 👍, half also ❤️, a quarter
/// take their ❤️ back): every client that applies acks and events in
/// revision order ends with the server's counts.
#[tokio::test]
async fn concurrent_reactions_end_with_the_same_counts_on_every_client() {
    use std::collections::HashMap;

    let server = Server::start(generous()).await;
    let mut users = Vec::new();
    for n in 0..20 {
        users.push(server.user(&format!("fan{n:02}")).await);
    }
    let owner = &users[0];
    let group = server
        .group(owner, &users.iter().skip(1).collect::<Vec<_>>())
        .await;
    let mut sockets = Vec::new();
    for user in &users {
        sockets.push(server.connect(user).await);
    }
    let news = send(&mut sockets[0], group, "release day").await;
    let id = news["id"].clone();

    // Per client: emoji -> (count, revision it was learned at).
    type Seen = HashMap<String, (i64, i64)>;
    fn apply_ack(seen: &mut Seen, ack: &Value) {
        let rev = ack["rev"].as_i64().expect("rev");
        let counts: HashMap<String, i64> = ack["reactions"]
            .as_array()
            .expect("reactions")
            .iter()
            .map(|r| {
                (
                    r["emoji"].as_str().unwrap_or("").to_owned(),
                    r["count"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        let known: Vec<String> = seen.keys().cloned().chain(counts.keys().cloned()).collect();
        for emoji in known {
            let count = counts.get(&emoji).copied().unwrap_or(0);
            let entry = seen.entry(emoji).or_insert((0, 0));
            if rev > entry.1 {
                *entry = (count, rev);
            }
        }
    }
    // Everyone listens for the others' changes once all changes are acked.
    let all_acked = std::sync::Arc::new(tokio::sync::Barrier::new(sockets.len()));
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(n, mut socket)| {
            let id = id.clone();
            let all_acked = all_acked.clone();
            tokio::spawn(async move {
                let mut seen = Seen::new();
                let mut changes = vec![("reaction:add", "👍")];
                if n % 2 == 0 {
                    changes.push(("reaction:add", "❤️"));
                }
                if n % 4 == 0 {
                    changes.push(("reaction:remove", "❤️"));
                }
                for (event, emoji) in changes {
                    let ack = socket
                        .emit_with_ack(event, &json!({ "message_id": id, "emoji": emoji }))
                        .await
                        .expect("ack");
                    assert_eq!(ack["success"], true, "{ack}");
                    apply_ack(&mut seen, &ack);
                }
                all_acked.wait().await;
                for event in named(
                    &socket.events_within(Duration::from_secs(1)).await,
                    "message:reaction",
                ) {
                    let emoji = event["emoji"].as_str().unwrap_or("").to_owned();
                    let rev = event["rev"].as_i64().expect("rev");
                    let entry = seen.entry(emoji).or_insert((0, 0));
                    if rev > entry.1 {
                        *entry = (event["count"].as_i64().expect("count"), rev);
                    }
                }
                seen
            })
        })
        .collect();
    let expected: HashMap<String, i64> =
        HashMap::from([("👍".to_owned(), 20), ("❤️".to_owned(), 5)]);
    for (n, task) in tasks.into_iter().enumerate() {
        let seen = task.await.expect("client");
        let counts: HashMap<String, i64> = seen.into_iter().map(|(e, (c, _))| (e, c)).collect();
        assert_eq!(counts, expected, "client {n}");
    }
    let page = server
        .chat
        .history(owner.id, group, HistoryQuery::default())
        .await
        .expect("history");
    let stored = page
        .messages
        .iter()
        .find(|m| json!(m.id) == id)
        .expect("message");
    let stored: HashMap<String, i64> = stored
        .reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.count))
        .collect();
    assert_eq!(stored, expected);
}

/// A blocked user's send into the direct conversation fails with `blocked`
/// and reaches nobody; their typing is not relayed; they hear no presence of
/// the blocker, whose own sockets hear of the block; unblocking restores it all.
#[tokio::test]
async fn a_block_stops_sends_typing_and_presence_in_the_direct_conversation() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let direct = server.direct(&alice, &bob).await;
    server.direct(&alice, &carol).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut carol_socket = server.connect(&carol).await;
    let mut alice_phone = server.connect(&alice).await;
    let mut alice_laptop = server.connect(&alice).await;
    // Before the block, both hear that she came.
    for socket in [&mut bob_socket, &mut carol_socket] {
        socket.expect_event("user:online").await.expect("online");
    }
    send(&mut bob_socket, direct, "before").await;
    alice_phone.expect_event("message:new").await.expect("new");

    server
        .chat
        .block_user(alice.id, bob.id)
        .await
        .expect("block");
    let heard = json!({ "user_id": bob.id });
    for socket in [&mut alice_phone, &mut alice_laptop] {
        assert_eq!(
            socket.expect_event("user:blocked").await.expect("told"),
            heard
        );
    }

    let ack = bob_socket
        .emit_with_ack(
            "message:send",
            &json!({ "conversation_id": direct, "content": "let me explain" }),
        )
        .await
        .expect("ack");
    assert_eq!(
        ack,
        json!({ "success": false, "error": "this user has blocked you", "code": "blocked" })
    );
    let ack = bob_socket
        .emit_with_ack("typing:start", &json!({ "conversation_id": direct }))
        .await
        .expect("ack");
    assert_eq!(ack["success"], true, "{ack}");
    let ack = alice_phone
        .emit_with_ack(
            "message:send",
            &json!({ "conversation_id": direct, "content": "go away" }),
        )
        .await
        .expect("ack");
    assert_eq!(ack["code"], "blocked", "{ack}");
    let events = alice_phone.events_within(QUIET).await;
    assert!(
        named(&events, "message:new").is_empty() && named(&events, "typing:start").is_empty(),
        "the blocker got something: {events:?}"
    );
    assert!(bob_socket.is_open(), "a refusal never disconnects");

    // Presence: Carol hears Alice go and come back, Bob does not.
    alice_phone.close().await;
    alice_laptop.close().await;
    carol_socket
        .expect_event("user:offline")
        .await
        .expect("carol hears it");
    let _alice_back = server.connect(&alice).await;
    carol_socket
        .expect_event("user:online")
        .await
        .expect("carol hears it");
    let events = bob_socket.events_within(QUIET).await;
    assert!(
        !events.iter().any(|e| e.name.starts_with("user:")),
        "bob heard of alice: {events:?}"
    );

    server
        .chat
        .unblock_user(alice.id, bob.id)
        .await
        .expect("unblock");
    let mut alice_socket = server.connect(&alice).await;
    send(&mut bob_socket, direct, "after").await;
    alice_socket.expect_event("message:new").await.expect("new");
    alice_socket
        .emit_with_ack("typing:start", &json!({ "conversation_id": direct }))
        .await
        .expect("ack");
    bob_socket
        .expect_event("typing:start")
        .await
        .expect("typing again");
}

/// Events that show users' presence (a new group, a member joining) give the
/// users blocked by someone they show a copy with that presence hidden.
#[tokio::test]
async fn events_showing_the_blocker_hide_their_presence_from_the_blocked_user() {
    let server = Server::start(generous()).await;
    let alice = server.user("alice").await;
    let bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let dave = server.user("dave").await;
    server
        .chat
        .block_user(alice.id, bob.id)
        .await
        .expect("block");
    let _alice_socket = server.connect(&alice).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut carol_socket = server.connect(&carol).await;

    server.group(&carol, &[&alice, &bob]).await;
    let alice_in = |conversation: &Value| {
        conversation["members"]
            .as_array()
            .and_then(|members| members.iter().find(|m| m["id"] == json!(alice.id)))
            .map(|m| m["status"].clone())
    };
    let for_bob = bob_socket
        .expect_event("conversation:new")
        .await
        .expect("new");
    let for_carol = carol_socket
        .expect_event("conversation:new")
        .await
        .expect("new");
    assert_eq!(alice_in(&for_bob), Some(json!("offline")), "{for_bob}");
    assert_eq!(alice_in(&for_carol), Some(json!("online")), "{for_carol}");

    // Alice joins another group Bob is in: the member event hides her from Bob only.
    let second = server.group(&carol, &[&bob, &dave]).await;
    server
        .chat
        .add_member(carol.id, second, alice.id)
        .await
        .expect("add");
    let joined = |events: &[Event]| {
        named(events, "conversation:member_joined")
            .into_iter()
            .find(|e| e["user"]["id"] == json!(alice.id))
            .cloned()
    };
    let events = bob_socket.events_within(QUIET).await;
    let to_bob = joined(&events).expect("bob hears alice joined");
    assert_eq!(to_bob["user"]["status"], "offline");
    assert_eq!(to_bob["user"]["last_seen"], Value::Null);
    let events = carol_socket.events_within(QUIET).await;
    let to_carol = joined(&events).expect("carol hears alice joined");
    assert_eq!(to_carol["user"]["status"], "online");
}
