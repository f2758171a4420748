//! Micro-benchmarks of chat-core's per-message hot paths.
//!
//! - `serialize_message`: a stored [`Message`] (about 100 characters of text,
//!   sender profile with avatar) to JSON as a broadcast does it
//!   (`serde_json::value::to_raw_value`), against going through a
//!   `serde_json::Value` first.
//! - `broadcast_100`: the JSON plus the Socket.IO event packet around it
//!   (`2["message:new",{...}]`, which engine.io sends as `42[...]`), built once
//!   per broadcast and shared by 100 recipients, against built once per recipient.
//! - `send_message`: [`ChatHandle::send_message`] end to end (validation,
//!   membership check from the in-memory cache, one transaction on SQLite,
//!   sender profile read, serialization, broadcast to a room with no sockets)
//!   in groups of 5 and 100 members, one send at a time, and 16 members of
//!   the group of 100 sending at once (sends that arrive together may share
//!   a commit).
//! - `membership`: the membership check alone ([`ChatHandle::is_member`], a
//!   cache hit) and a send refused to an outsider (`not_found`: validation plus the
//!   cache hit, nothing stored).
//!
//! `cargo bench -p chat-core --bench hot_paths`; see `benches/README.md`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat_core::ids::{ConversationId, MessageId, UserId};
use chat_core::model::{Message, MessageSender, MessageType};
use chat_core::service::{CreateGroup, NewUser, SendMessage};
use chat_core::socket::events::MESSAGE_NEW;
use chat_core::testing::TestDb;
use chat_core::{ChatCore, ChatError, ChatHandle};
use chrono::SubsecRound;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use socketioxide_core::Value;
use socketioxide_core::packet::Packet;
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;

/// 99 characters: a typical chat line.
const TEXT: &str = "Pushed the reconnect fix to staging; can someone check that catch-up works after a deploy? Thanks!!";

/// Recipients of one broadcast in the fan-out comparison.
const RECIPIENTS: usize = 100;

/// Senders sending at the same moment in the concurrent send bench.
const CONCURRENT_SENDS: usize = 16;

fn sample_message() -> Message {
    let sender = UserId::try_from(90_125).expect("positive");
    Message {
        id: MessageId::try_from(1_048_576).expect("positive"),
        conversation_id: ConversationId::try_from(4_211).expect("positive"),
        seq: 73_518,
        rev: 75_002,
        sender_id: sender,
        sender: MessageSender {
            id: sender,
            username: "alice.martin".into(),
            display_name: Some("Alice Martin".into()),
            avatar_url: Some("/uploads/avatars/3f2a9c1e7b4d5a60.png".into()),
        },
        content: TEXT.into(),
        message_type: MessageType::Text,
        file_url: None,
        attachment: None,
        client_id: Some("c-7f3a9b2e-1d4c".into()),
        created_at: chrono::Utc::now().trunc_subsecs(6),
        edited_at: None,
        deleted_at: None,
        reply_to: None,
        reply_count: 0,
        mentions: Vec::new(),
        reactions: Vec::new(),
        call: None,
        my_reactions: None,
    }
}

/// The Socket.IO event packet socketioxide builds for `emit(event, payload)`:
/// `[event, payload]` as a string, then the packet header (`2` = event, default
/// namespace). socketioxide does this once per broadcast and hands every
/// recipient a reference-counted copy; engine.io prefixes `4` when writing.
fn event_packet(payload: &serde_json::value::RawValue) -> Value {
    let data = CommonParser
        .encode_value(payload, Some(MESSAGE_NEW))
        .expect("a JSON payload encodes");
    CommonParser.encode(Packet::event("/", data))
}

fn serialization(c: &mut Criterion) {
    let message = sample_message();
    let raw = serde_json::value::to_raw_value(&message).expect("serialize");
    let via_value = serde_json::to_string(&serde_json::to_value(&message).expect("to value"))
        .expect("value to string");
    // Same document; the Value path orders keys alphabetically (serde_json's
    // map is a BTreeMap here), the raw path keeps the struct's field order.
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(raw.get()).expect("parse"),
        serde_json::from_str::<serde_json::Value>(&via_value).expect("parse"),
        "both paths give the same JSON"
    );
    assert_eq!(raw.get().len(), via_value.len());
    let packet = event_packet(&raw);
    let packet = packet.as_str().expect("the common parser makes text");
    assert_eq!(
        packet.to_string(),
        format!("2[\"{MESSAGE_NEW}\",{}]", raw.get()),
        "the packet is the event name and the payload"
    );

    let mut group = c.benchmark_group("serialize_message");
    group.throughput(Throughput::Bytes(raw.get().len() as u64));
    group.bench_function("to_raw_value", |b| {
        b.iter(|| serde_json::value::to_raw_value(black_box(&message)).expect("serialize"))
    });
    group.bench_function("to_value_then_string", |b| {
        b.iter(|| {
            let value = serde_json::to_value(black_box(&message)).expect("to value");
            serde_json::to_string(&value).expect("value to string")
        })
    });
    group.finish();

    // Every recipient needs the packet; what differs is how often it is built.
    let mut group = c.benchmark_group(format!("broadcast_{RECIPIENTS}"));
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    group.bench_function("serialize_and_encode_once", |b| {
        b.iter(|| {
            let raw = serde_json::value::to_raw_value(black_box(&message)).expect("serialize");
            let packet = event_packet(&raw);
            // What socketioxide's send_many does: one cheap clone per socket.
            let per_socket: Vec<Value> = (0..RECIPIENTS).map(|_| packet.clone()).collect();
            per_socket
        })
    });
    group.bench_function("serialize_and_encode_per_recipient", |b| {
        b.iter(|| {
            let per_socket: Vec<Value> = (0..RECIPIENTS)
                .map(|_| {
                    let raw =
                        serde_json::value::to_raw_value(black_box(&message)).expect("serialize");
                    event_packet(&raw)
                })
                .collect();
            per_socket
        })
    });
    group.finish();
}

/// An engine on a migrated database, as a host builds it: the in-process
/// adapter is set up, no socket ever connects.
async fn engine(url: &str) -> ChatHandle {
    let db = Database::connect(url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    ChatCore::builder(db).build().1
}

/// SQLite settings that decide the cost of a commit, for the report.
async fn sqlite_settings(db: &DatabaseConnection) -> String {
    let mut out = Vec::new();
    for pragma in ["journal_mode", "synchronous"] {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("PRAGMA {pragma}"),
            ))
            .await
            .expect("pragma")
            .expect("pragma row");
        let value = row
            .try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .expect("pragma value");
        out.push(format!("{pragma}={value}"));
    }
    out.join(", ")
}

struct Fixture {
    chat: ChatHandle,
    /// Member of both groups.
    owner: UserId,
    /// Member of no group.
    outsider: UserId,
    /// The members of the group of 100 (the owner first).
    members_100: Vec<UserId>,
    group_5: ConversationId,
    group_100: ConversationId,
}

async fn fixture(url: &str) -> Fixture {
    let chat = engine(url).await;
    let mut users = Vec::with_capacity(101);
    for i in 0..101 {
        let name = format!("bench{i}");
        let user = chat
            .create_user(NewUser {
                username: name.clone(),
                email: format!("{name}@example.com"),
                password_hash: String::new(),
            })
            .await
            .expect("create user");
        users.push(user.typed_id());
    }
    let (owner, outsider) = (users[0], users[100]);
    let group = |size: usize| CreateGroup {
        name: format!("bench group of {size}"),
        member_ids: users[1..size].to_vec(),
        is_public: false,
    };
    let group_5 = chat
        .create_group(owner, group(5))
        .await
        .expect("group of 5");
    let group_100 = chat
        .create_group(owner, group(100))
        .await
        .expect("group of 100");
    assert_eq!((group_5.member_count, group_100.member_count), (5, 100));
    // Fill the membership cache, as the first send after a change would.
    for id in [group_5.id, group_100.id] {
        assert!(chat.is_member(id, owner).await.expect("is member"));
    }
    Fixture {
        chat,
        owner,
        outsider,
        members_100: users[..100].to_vec(),
        group_5: group_5.id,
        group_100: group_100.id,
    }
}

fn send_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The database TestDb gives tests (a SQLite file, or PostgreSQL when
    // TEST_POSTGRES_URL is set), and an in-memory SQLite without disk writes.
    let test_db = rt.block_on(TestDb::new());
    let file_label = if test_db.is_postgres() {
        "postgres"
    } else {
        "sqlite_file"
    };
    let backends = [
        (file_label, test_db.url.clone()),
        ("sqlite_memory", "sqlite::memory:".to_owned()),
    ];
    let client_ids = AtomicU64::new(0);

    let mut group = c.benchmark_group("send_message");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for (backend, url) in &backends {
        let f = rt.block_on(fixture(url));
        if url.starts_with("sqlite:") {
            let settings = rt.block_on(sqlite_settings(f.chat.db()));
            eprintln!("send_message/{backend}: {settings}");
        }
        for (members, conversation_id) in [(5, f.group_5), (100, f.group_100)] {
            group.bench_with_input(
                BenchmarkId::new(*backend, format!("members_{members}")),
                &conversation_id,
                |b, &conversation_id| {
                    b.to_async(&rt).iter(|| async {
                        let sent = f
                            .chat
                            .send_message(f.owner, SendMessage::text(conversation_id, TEXT), None)
                            .await
                            .expect("send");
                        assert!(sent.created);
                        sent
                    })
                },
            );
        }
        // With a client_id, as socket clients send: one more query (the
        // idempotency lookup) before storing.
        group.bench_function(
            BenchmarkId::new(*backend, "members_5_with_client_id"),
            |b| {
                b.to_async(&rt).iter(|| async {
                    let n = client_ids.fetch_add(1, Ordering::Relaxed);
                    let request = SendMessage {
                        client_id: Some(format!("c-{n}")),
                        ..SendMessage::text(f.group_5, TEXT)
                    };
                    let sent = f
                        .chat
                        .send_message(f.owner, request, None)
                        .await
                        .expect("send");
                    assert!(sent.created);
                    sent
                })
            },
        );
        // Concurrent senders: sends that arrive together may share a commit.
        group.throughput(Throughput::Elements(CONCURRENT_SENDS as u64));
        group.bench_function(
            BenchmarkId::new(
                *backend,
                format!("members_100_{CONCURRENT_SENDS}_concurrent"),
            ),
            |b| {
                b.to_async(&rt).iter(|| async {
                    let sends = f.members_100[..CONCURRENT_SENDS].iter().map(|&sender| {
                        f.chat
                            .send_message(sender, SendMessage::text(f.group_100, TEXT), None)
                    });
                    for sent in futures_util::future::join_all(sends).await {
                        assert!(sent.expect("send").created);
                    }
                })
            },
        );
        group.throughput(Throughput::Elements(1));
    }
    group.finish();

    // Cache hits only: the database is not touched, so its kind does not matter.
    let f = rt.block_on(fixture("sqlite::memory:"));
    let mut group = c.benchmark_group("membership");
    group.bench_function("is_member_cache_hit", |b| {
        b.to_async(&rt).iter(|| async {
            f.chat
                .is_member(black_box(f.group_100), black_box(f.owner))
                .await
                .expect("is member")
        })
    });
    group.bench_function("send_refused_not_a_member", |b| {
        b.to_async(&rt).iter(|| async {
            let refused = f
                .chat
                .send_message(f.outsider, SendMessage::text(f.group_100, TEXT), None)
                .await;
            assert!(matches!(refused, Err(ChatError::NotFound("conversation"))));
            refused
        })
    });
    group.finish();
    // The file database lives until here (its engine is gone by now).
    drop(test_db);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = serialization, send_path
}
criterion_main!(benches);
