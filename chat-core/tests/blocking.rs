//! Blocking through the public handle: blocking and unblocking (idempotent,
//! limited, listed), the direct conversation closed both ways while a block
//! stands, the blocker's presence hidden from the blocked user, and groups
//! left alone.
use chat_core::ids::{ConversationId, UserId};
use chat_core::model::User;
use chat_core::service::{
    CreateGroup, EditMessage, HistoryQuery, NewUser, ReactionRequest, SendMessage,
};
use chat_core::testing::TestDb;
use chat_core::{ChatConfig, ChatCore, ChatError, ChatHandle};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

async fn engine(test_db: &TestDb, config: ChatConfig) -> ChatHandle {
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    ChatCore::builder(db).config(config).build().1
}

async fn user(chat: &ChatHandle, name: &str) -> UserId {
    chat.create_user(NewUser {
        username: name.to_owned(),
        email: format!("{name}@example.com"),
        password_hash: String::new(),
    })
    .await
    .expect("create user")
    .typed_id()
}

async fn send(chat: &ChatHandle, sender: UserId, to: ConversationId, text: &str) -> ChatResult {
    chat.send_message(sender, SendMessage::text(to, text), None)
        .await
        .map(|_| ())
}

type ChatResult = Result<(), ChatError>;

/// The code and sentence of a refusal.
fn refusal(result: ChatResult) -> (&'static str, String) {
    match result {
        Ok(()) => panic!("expected a refusal"),
        Err(err) => (err.code(), err.public_message()),
    }
}

/// Stores `user` as online, with a `last_seen` from an earlier visit.
async fn online(chat: &ChatHandle, user: UserId) {
    chat.db()
        .execute_unprepared(&format!(
            "UPDATE users SET status = 'online', last_seen = '2026-01-01T00:00:00Z' WHERE id = {user}"
        ))
        .await
        .expect("online");
}

fn presence_of(users: &[User], id: UserId) -> (String, bool) {
    let user = users
        .iter()
        .find(|u| u.id == id)
        .unwrap_or_else(|| panic!("user {id} not listed"));
    (user.status.clone(), user.last_seen.is_some())
}

#[tokio::test]
async fn blocks_are_idempotent_listed_latest_first_and_limited() {
    let db = TestDb::new().await;
    let config = ChatConfig {
        max_blocks_per_user: 3,
        ..ChatConfig::default()
    };
    let chat = engine(&db, config).await;
    let alice = user(&chat, "alice").await;
    let others = [
        user(&chat, "bob").await,
        user(&chat, "carol").await,
        user(&chat, "dave").await,
        user(&chat, "erin").await,
    ];
    assert!(chat.blocked_users(alice).await.expect("list").is_empty());

    for &other in &others[..3] {
        chat.block_user(alice, other).await.expect("block");
    }
    // Twice is once.
    chat.block_user(alice, others[0]).await.expect("again");
    let listed: Vec<UserId> = chat
        .blocked_users(alice)
        .await
        .expect("list")
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, [others[2], others[1], others[0]], "latest first");

    // At the limit: one more is refused, blocking one already blocked is not.
    let over = chat.block_user(alice, others[3]).await;
    assert_eq!(over.map_err(|e| e.code()), Err("unprocessable"));
    chat.block_user(alice, others[1])
        .await
        .expect("already blocked");
    chat.unblock_user(alice, others[1]).await.expect("unblock");
    chat.unblock_user(alice, others[1])
        .await
        .expect("unblock again");
    chat.block_user(alice, others[3]).await.expect("room again");
    assert_eq!(chat.blocked_users(alice).await.expect("list").len(), 3);

    // Oneself and unknown users.
    match chat.block_user(alice, alice).await {
        Err(ChatError::Validation(fields)) => assert!(fields.contains_key("user_id"), "{fields:?}"),
        other => panic!("blocking oneself: {other:?}"),
    }
    assert!(matches!(
        chat.unblock_user(alice, alice).await,
        Err(ChatError::Validation(_))
    ));
    let nobody = UserId::try_from(999_999).expect("id");
    assert!(matches!(
        chat.block_user(alice, nobody).await,
        Err(ChatError::NotFound("user"))
    ));
    assert!(matches!(
        chat.unblock_user(alice, nobody).await,
        Err(ChatError::NotFound("user"))
    ));
    // Blocks are one-way: the blocked users blocked nobody.
    assert!(
        chat.blocked_users(others[0])
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn a_block_closes_the_direct_conversation_both_ways_until_unblocked() {
    let db = TestDb::new().await;
    let chat = engine(&db, ChatConfig::default()).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let carol = user(&chat, "carol").await;
    let (direct, _) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    // Both send before the block: membership and blocks are cached now.
    send(&chat, alice, direct.id, "hi bob").await.expect("send");
    send(&chat, bob, direct.id, "hi alice").await.expect("send");
    let history = chat
        .history(bob, direct.id, HistoryQuery::default())
        .await
        .expect("history");
    // Newest first.
    let (bobs, alices) = (history.messages[0].id, history.messages[1].id);

    chat.block_user(alice, bob).await.expect("block");

    // The blocked user: no send, edit or reaction, no opening the conversation.
    let (code, message) = refusal(send(&chat, bob, direct.id, "hello?").await);
    assert_eq!(
        (code, message.as_str()),
        ("blocked", "this user has blocked you")
    );
    let edit = EditMessage {
        message_id: bobs,
        content: "edited".into(),
    };
    assert_eq!(
        refusal(chat.edit_message(bob, edit, None).await.map(|_| ())).0,
        "blocked"
    );
    let react = |who| {
        let chat = chat.clone();
        async move {
            let request = ReactionRequest {
                message_id: alices,
                emoji: "👍".into(),
            };
            chat.add_reaction(who, request, None).await.map(|_| ())
        }
    };
    assert_eq!(refusal(react(bob).await).0, "blocked");
    assert_eq!(
        refusal(chat.get_or_create_direct(bob, alice).await.map(|_| ())).0,
        "blocked"
    );
    // The blocker: no send or reaction either, told why; the conversation
    // opens for reading.
    let (code, message) = refusal(send(&chat, alice, direct.id, "bye").await);
    assert_eq!(code, "blocked");
    assert!(message.contains("you blocked"), "{message}");
    assert_eq!(refusal(react(alice).await).0, "blocked");
    let (opened, created) = chat
        .get_or_create_direct(alice, bob)
        .await
        .expect("the blocker opens it");
    assert_eq!((opened.id, created), (direct.id, false));
    for reader in [alice, bob] {
        let history = chat
            .history(reader, direct.id, HistoryQuery::default())
            .await
            .expect("history stays readable");
        assert_eq!(history.messages.len(), 2, "nothing was stored");
    }
    // Taking one's own message back is always allowed.
    chat.delete_message(bob, bobs, None)
        .await
        .expect("delete own message");

    // No new direct conversation with a blocked user, whoever asks.
    chat.block_user(alice, carol).await.expect("block carol");
    assert_eq!(
        refusal(chat.get_or_create_direct(alice, carol).await.map(|_| ())).0,
        "blocked"
    );
    assert_eq!(
        refusal(chat.get_or_create_direct(carol, alice).await.map(|_| ())).0,
        "blocked"
    );

    // Unblocking restores everything at once.
    chat.unblock_user(alice, bob).await.expect("unblock");
    send(&chat, bob, direct.id, "back").await.expect("send");
    send(&chat, alice, direct.id, "welcome back")
        .await
        .expect("send");
    react(bob).await.expect("react");
    chat.get_or_create_direct(bob, alice).await.expect("open");
}

#[tokio::test]
async fn the_blocked_user_sees_the_blocker_offline_everywhere_and_others_do_not() {
    let db = TestDb::new().await;
    let chat = engine(&db, ChatConfig::default()).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let carol = user(&chat, "carol").await;
    let (direct, _) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    chat.get_or_create_direct(alice, carol)
        .await
        .expect("direct");
    let group = chat
        .create_group(
            carol,
            CreateGroup {
                name: "book club".into(),
                member_ids: vec![alice, bob],
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id;
    online(&chat, alice).await;
    online(&chat, bob).await;
    // Read (and cached) before the block.
    let members = chat
        .list_members(bob, group, None, None)
        .await
        .expect("members");
    assert_eq!(presence_of(&members, alice), ("online".into(), true));

    chat.block_user(alice, bob).await.expect("block");

    let hidden = ("offline".to_owned(), false);
    let shown = ("online".to_owned(), true);
    // Bob: member lists, conversations (one, and the list), profile, search.
    let members = chat
        .list_members(bob, group, None, None)
        .await
        .expect("members");
    assert_eq!(presence_of(&members, alice), hidden);
    assert_eq!(presence_of(&members, bob), shown, "his own");
    for id in [direct.id, group] {
        let conversation = chat.conversation(bob, id).await.expect("conversation");
        assert_eq!(presence_of(&conversation.members, alice), hidden);
    }
    let page = chat
        .conversation_page(bob, Default::default())
        .await
        .expect("list");
    for conversation in &page.conversations {
        assert_eq!(presence_of(&conversation.members, alice), hidden);
    }
    let profile = chat.user_seen_by(bob, alice).await.expect("profile");
    assert_eq!(
        (profile.status.clone(), profile.last_seen.is_some()),
        hidden
    );
    let found = chat
        .search_users(bob, "alic", None, 0)
        .await
        .expect("search");
    assert_eq!(presence_of(&found, alice), hidden);

    // Carol still sees Alice; Alice still sees Bob (blocking is one way).
    let members = chat
        .list_members(carol, group, None, None)
        .await
        .expect("members");
    assert_eq!(presence_of(&members, alice), shown);
    let members = chat
        .list_members(alice, group, None, None)
        .await
        .expect("members");
    assert_eq!(presence_of(&members, bob), shown);
    let blocked = chat.blocked_users(alice).await.expect("list");
    assert_eq!(
        presence_of(&blocked, bob),
        shown,
        "they share a conversation"
    );

    chat.unblock_user(alice, bob).await.expect("unblock");
    let members = chat
        .list_members(bob, group, None, None)
        .await
        .expect("members");
    assert_eq!(presence_of(&members, alice), shown);
}

#[tokio::test]
async fn groups_are_not_affected_by_blocks() {
    let db = TestDb::new().await;
    let chat = engine(&db, ChatConfig::default()).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    chat.block_user(alice, bob).await.expect("block");
    // A group with both, created after the block, by either of them.
    for creator in [alice, bob] {
        let other = if creator == alice { bob } else { alice };
        let group = chat
            .create_group(
                creator,
                CreateGroup {
                    name: "team".into(),
                    member_ids: vec![other],
                    is_public: false,
                },
            )
            .await
            .expect("group")
            .id;
        send(&chat, bob, group, "from bob").await.expect("send");
        send(&chat, alice, group, "from alice").await.expect("send");
        let seen = chat
            .history(alice, group, HistoryQuery::default())
            .await
            .expect("history");
        assert_eq!(seen.messages.len(), 2, "the blocker reads everything");
    }
}
