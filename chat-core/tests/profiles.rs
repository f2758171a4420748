//! Profiles through the public handle and over real sockets: the rules of a
//! display name and a bio, `user:updated` reaching every socket that shares
//! a conversation with the user exactly once (with presence only where
//! presence is shown), messages and search showing display names.
mod common;

use std::time::Duration;

use chat_core::ids::{ConversationId, UserId};
use chat_core::service::{CreateGroup, HistoryQuery, ProfileUpdate, SendMessage};
use chat_core::{ChatConfig, ChatHandle};
use serde_json::{Value, json};
use sio_client::{Client, Event};

/// How long a client listens to conclude that nothing more arrives.
const QUIET: Duration = Duration::from_millis(300);

fn named(events: &[Event], name: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e.name == name)
        .map(|e| e.data.clone())
        .collect()
}

fn name(display_name: &str) -> ProfileUpdate {
    ProfileUpdate {
        display_name: Some(Some(display_name.to_owned())),
        ..Default::default()
    }
}

/// The fields `validation_failed` names for `update`.
async fn refused_fields(chat: &ChatHandle, user: UserId, update: ProfileUpdate) -> Vec<String> {
    let err = chat
        .update_profile(user, update)
        .await
        .expect_err("refused");
    assert_eq!(err.code(), "validation_failed", "{err}");
    err.details()
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

async fn group(chat: &ChatHandle, creator: UserId, members: &[UserId]) -> ConversationId {
    chat.create_group(
        creator,
        CreateGroup {
            name: "team".into(),
            member_ids: members.to_vec(),
            is_public: false,
        },
    )
    .await
    .expect("group")
    .id
}

#[tokio::test]
async fn display_names_and_bios_are_trimmed_bounded_and_free_of_control_characters() {
    let served = common::serve(ChatConfig::default()).await;
    let chat = &served.chat;
    assert!(!served.db.url.is_empty());
    let (alice, _) = common::user(chat, "alice").await;

    let mine = chat
        .update_profile(
            alice,
            ProfileUpdate {
                display_name: Some(Some("  Alice Martin  ".into())),
                bio: Some(Some("  Rust\nand tea  ".into())),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(mine.user.display_name.as_deref(), Some("Alice Martin"));
    assert_eq!(mine.user.bio.as_deref(), Some("Rust\nand tea"));
    assert_eq!(chat.user(alice).await.expect("profile"), mine.user);

    // 64 characters (not bytes) pass, 65 do not; a bio of 500 passes, 501 not.
    let longest = "é".repeat(64);
    assert_eq!(
        chat.update_profile(alice, name(&longest))
            .await
            .expect("64 characters")
            .user
            .display_name
            .as_deref(),
        Some(longest.as_str())
    );
    let hostile = [
        (name(&"x".repeat(65)), "display_name"),
        (name("new\nline"), "display_name"),
        (name("tab\there"), "display_name"),
        (name("nul\0"), "display_name"),
        (name("evil\u{202E}gnp.exe"), "display_name"),
        (name("isolate\u{2067}"), "display_name"),
        (name("mark\u{200F}"), "display_name"),
        (
            ProfileUpdate {
                bio: Some(Some("b".repeat(501))),
                ..Default::default()
            },
            "bio",
        ),
        (
            ProfileUpdate {
                bio: Some(Some("bell\u{7}".into())),
                ..Default::default()
            },
            "bio",
        ),
    ];
    for (update, field) in hostile {
        assert_eq!(
            refused_fields(chat, alice, update.clone()).await,
            vec![field.to_owned()],
            "{update:?}"
        );
    }
    // Every problem at once, and nothing stored.
    let both = ProfileUpdate {
        display_name: Some(Some("x".repeat(65))),
        bio: Some(Some("b".repeat(501))),
        ..Default::default()
    };
    assert_eq!(
        refused_fields(chat, alice, both).await,
        ["bio", "display_name"]
    );
    assert_eq!(
        chat.user(alice).await.expect("profile").display_name,
        Some(longest)
    );

    // Blank or null removes; an absent field stays.
    let cleared = chat
        .update_profile(
            alice,
            ProfileUpdate {
                display_name: Some(Some("   ".into())),
                ..Default::default()
            },
        )
        .await
        .expect("blank");
    assert_eq!(cleared.user.display_name, None);
    assert_eq!(
        cleared.user.bio.as_deref(),
        Some("Rust\nand tea"),
        "left as it was"
    );
    let cleared = chat
        .update_profile(
            alice,
            ProfileUpdate {
                bio: Some(None),
                ..Default::default()
            },
        )
        .await
        .expect("null");
    assert_eq!(cleared.user.bio, None);
}

#[tokio::test]
async fn user_updated_reaches_every_socket_sharing_a_conversation_once_and_no_outsider() {
    // Groups of more than 2 members do not show presence: carol's copy hides it.
    let served = common::serve(ChatConfig {
        presence_fanout_limit: 2,
        ..ChatConfig::default()
    })
    .await;
    let chat = &served.chat;
    let (alice, alice_token) = common::user(chat, "alice").await;
    let (bob, bob_token) = common::user(chat, "bob").await;
    let (carol, carol_token) = common::user(chat, "carol").await;
    let (_dave, dave_token) = common::user(chat, "dave").await;
    chat.get_or_create_direct(alice, bob).await.expect("direct");
    group(chat, alice, &[bob, carol]).await;

    let connect = |token: String| async move {
        Client::connect(served.addr, &token)
            .await
            .expect("connects")
    };
    let mut alice_phone = connect(alice_token.clone()).await;
    let mut alice_laptop = connect(alice_token).await;
    let mut bob_phone = connect(bob_token.clone()).await;
    let mut bob_laptop = connect(bob_token).await;
    let mut carol_socket = connect(carol_token).await;
    let mut dave_socket = connect(dave_token).await;
    tokio::time::sleep(QUIET).await;
    for socket in [
        &mut alice_phone,
        &mut alice_laptop,
        &mut bob_phone,
        &mut bob_laptop,
        &mut carol_socket,
        &mut dave_socket,
    ] {
        socket.events_within(Duration::from_millis(50)).await;
    }

    let mine = chat
        .update_profile(
            alice,
            ProfileUpdate {
                display_name: Some(Some("Alice Martin".into())),
                bio: Some(Some("hello".into())),
                ..Default::default()
            },
        )
        .await
        .expect("update");
    let public = serde_json::to_value(&mine.user).expect("json");
    assert_eq!(public["status"], "online");
    let mut hidden = public.clone();
    hidden["status"] = json!("offline");
    hidden["last_seen"] = Value::Null;

    for (who, socket, expected) in [
        ("alice's phone", &mut alice_phone, &public),
        ("alice's laptop", &mut alice_laptop, &public),
        ("bob's phone (direct)", &mut bob_phone, &public),
        ("bob's laptop (direct)", &mut bob_laptop, &public),
        ("carol (large group only)", &mut carol_socket, &hidden),
    ] {
        let events = socket.events_within(QUIET).await;
        assert_eq!(
            named(&events, "user:updated"),
            vec![expected.clone()],
            "{who} gets user:updated exactly once"
        );
        assert!(
            !named(&events, "user:updated")[0]
                .as_object()
                .is_some_and(|o| o.contains_key("email")),
            "{who}: never the e-mail"
        );
    }
    let events = dave_socket.events_within(QUIET).await;
    assert!(
        named(&events, "user:updated").is_empty(),
        "dave shares nothing with alice: {events:?}"
    );

    // The same values again change nothing and announce nothing.
    chat.update_profile(alice, name("Alice Martin"))
        .await
        .expect("same");
    for socket in [&mut alice_phone, &mut bob_phone, &mut carol_socket] {
        let events = socket.events_within(QUIET).await;
        assert!(named(&events, "user:updated").is_empty(), "{events:?}");
    }
    let _ = carol;
}

#[tokio::test]
async fn a_blocked_user_hears_the_change_once_without_presence() {
    let served = common::serve(ChatConfig::default()).await;
    let chat = &served.chat;
    let (alice, alice_token) = common::user(chat, "alice").await;
    let (bob, bob_token) = common::user(chat, "bob").await;
    group(chat, alice, &[bob]).await;
    chat.block_user(alice, bob).await.expect("block");
    let _alice_socket = Client::connect(served.addr, &alice_token)
        .await
        .expect("alice");
    let mut bob_socket = Client::connect(served.addr, &bob_token).await.expect("bob");
    tokio::time::sleep(QUIET).await;
    bob_socket.events_within(Duration::from_millis(50)).await;

    chat.update_profile(alice, name("Alice"))
        .await
        .expect("update");
    let events = bob_socket.events_within(QUIET).await;
    let heard = named(&events, "user:updated");
    assert_eq!(heard.len(), 1, "{events:?}");
    assert_eq!(heard[0]["display_name"], "Alice");
    assert_eq!(
        heard[0]["status"], "offline",
        "alice's presence stays hidden"
    );
}

#[tokio::test]
async fn messages_and_search_show_display_names() {
    let served = common::serve(ChatConfig::default()).await;
    let chat = &served.chat;
    let (alice, _) = common::user(chat, "alice").await;
    let (bob, _) = common::user(chat, "bob").await;
    let (carol, _) = common::user(chat, "carol").await;
    let team = group(chat, alice, &[bob]).await;
    let first = chat
        .send_message(alice, SendMessage::text(team, "before"), None)
        .await
        .expect("send");
    assert_eq!(first.message.sender.display_name, None);

    chat.update_profile(alice, name("Ärger Ünal"))
        .await
        .expect("update");
    let second = chat
        .send_message(alice, SendMessage::text(team, "after"), None)
        .await
        .expect("send");
    assert_eq!(
        second.message.sender.display_name.as_deref(),
        Some("Ärger Ünal"),
        "a new message carries the new name"
    );
    let history = chat
        .history(bob, team, HistoryQuery::default())
        .await
        .expect("history");
    assert!(
        history
            .messages
            .iter()
            .filter(|m| m.sender_id == alice)
            .all(|m| m.sender.display_name.as_deref() == Some("Ärger Ünal")),
        "history shows the current name on every message"
    );

    // Found by any part of the display name, in any case (beyond ASCII).
    for query in ["ärger", "ÜNAL", "ger ün"] {
        let found = chat
            .search_users(carol, query, None, 0)
            .await
            .expect("search");
        assert_eq!(
            found.iter().map(|u| u.id).collect::<Vec<_>>(),
            vec![alice],
            "{query}"
        );
    }
    // Usernames still match; the caller is never listed.
    let found = chat
        .search_users(carol, "ali", None, 0)
        .await
        .expect("search");
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), vec![alice]);
    assert!(
        chat.search_users(alice, "ärger", None, 0)
            .await
            .expect("search")
            .is_empty()
    );
    // Up to 64 characters, like a display name.
    assert!(
        chat.search_users(carol, &"x".repeat(64), None, 0)
            .await
            .is_ok()
    );
    assert_eq!(
        chat.search_users(carol, &"x".repeat(65), None, 0)
            .await
            .expect_err("too long")
            .code(),
        "validation_failed"
    );
}
