//! The chat engine through its public handle, without any HTTP host.
use chat_core::ids::{MessageId, UserId};
use chat_core::service::{
    ConversationListQuery, CreateGroup, HistoryQuery, NewUser, REACTORS_LISTED, ReactionRequest,
    ReceiptKind, ReceiptRequest, SendMessage,
};
use chat_core::testing::TestDb;
use chat_core::{ChatCore, ChatError, ChatHandle};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

async fn engine(test_db: &TestDb) -> ChatHandle {
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    ChatCore::builder(db).build().1
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

#[tokio::test]
async fn unread_counts_follow_messages_and_receipts_never_move_back() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let (conv, created) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    assert!(created);
    let mut ids = Vec::new();
    for n in 0..3 {
        let sent = chat
            .send_message(alice, SendMessage::text(conv.id, format!("m{n}")), None)
            .await
            .expect("send");
        ids.push(sent.message.id);
    }
    let unread = |list: Vec<chat_core::model::Conversation>| list[0].unread_count;
    assert_eq!(
        unread(
            chat.conversation_page(bob, Default::default())
                .await
                .expect("list")
                .conversations
        ),
        3
    );
    assert_eq!(
        unread(
            chat.conversation_page(alice, Default::default())
                .await
                .expect("list")
                .conversations
        ),
        0,
        "own messages are not unread"
    );

    let read = |message_id| ReceiptRequest {
        conversation_id: conv.id,
        message_id,
    };
    let receipt = chat
        .advance_receipt(bob, ReceiptKind::Read, read(ids[1]))
        .await
        .expect("read");
    assert!(receipt.is_some_and(|r| r.read_at.is_some() && r.user_id == bob));
    assert_eq!(
        unread(
            chat.conversation_page(bob, Default::default())
                .await
                .expect("list")
                .conversations
        ),
        1
    );
    assert!(
        chat.advance_receipt(bob, ReceiptKind::Read, read(ids[2]))
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        unread(
            chat.conversation_page(bob, Default::default())
                .await
                .expect("list")
                .conversations
        ),
        0
    );
    // Older ids never move the pointer back.
    assert!(
        chat.advance_receipt(bob, ReceiptKind::Read, read(ids[0]))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        chat.advance_receipt(bob, ReceiptKind::Delivered, read(ids[1]))
            .await
            .expect("delivered")
            .is_none(),
        "reading implies delivery"
    );
    assert_eq!(
        unread(
            chat.conversation_page(bob, Default::default())
                .await
                .expect("list")
                .conversations
        ),
        0
    );

    let eve = user(&chat, "eve").await;
    let err = chat
        .advance_receipt(eve, ReceiptKind::Read, read(ids[0]))
        .await
        .expect_err("outsider");
    // A private conversation answers an outsider like one that does not exist.
    assert!(matches!(err, ChatError::NotFound("conversation")));
    let err = chat
        .advance_receipt(
            bob,
            ReceiptKind::Read,
            ReceiptRequest {
                conversation_id: conv.id,
                message_id: MessageId::try_from(999_999).expect("positive"),
            },
        )
        .await
        .expect_err("unknown message");
    assert_eq!(err.code(), "not_found");
}

#[tokio::test]
async fn a_room_of_5000_members_works() {
    let db = TestDb::new().await;
    // The host may let a group be created with 5000 members at once (the default cap is 100).
    let connection = Database::connect(&db.url).await.expect("connect");
    Migrator::up(&connection, None).await.expect("migrate");
    let config = chat_core::ChatConfig {
        max_group_members_per_request: 5000,
        ..Default::default()
    };
    let chat = ChatCore::builder(connection).config(config).build().1;
    // Bulk-insert the users: going through create_user 5000 times would only test the disk.
    let values: Vec<String> = (0..5000)
        .map(|i| {
            format!("('m{i}', 'm{i}', 'm{i}@example.com', '', 'offline', '2026-01-01T00:00:00Z')")
        })
        .collect();
    for chunk in values.chunks(1000) {
        chat.db()
            .execute_unprepared(&format!(
                "INSERT INTO users (username, username_key, email, password_hash, status, created_at) VALUES {}",
                chunk.join(", ")
            ))
            .await
            .expect("insert users");
    }
    let owner = user(&chat, "owner").await;
    let member_ids: Vec<UserId> = (1..=4999)
        .filter_map(|id| UserId::try_from(id).ok())
        .collect();
    let room = chat
        .create_group(
            owner,
            CreateGroup {
                name: "town square".into(),
                member_ids,
                is_public: true,
            },
        )
        .await
        .expect("create room");
    assert_eq!(room.member_count, 5000);
    assert_eq!(room.members.len(), 50, "lists embed at most 50 members");

    // The 5000th bulk user, not yet a member.
    let newcomer = UserId::try_from(5000).expect("positive");
    let joined = chat.join_room(newcomer, room.id).await.expect("join");
    assert_eq!(joined.member_count, 5001);
    let sent = chat
        .send_message(newcomer, SendMessage::text(room.id, "hello everyone"), None)
        .await
        .expect("send");
    assert_eq!(sent.message.seq, 2, "after the join notice");

    let mut seen = 0;
    let mut after = None;
    loop {
        let page = chat
            .list_members(owner, room.id, after, Some(500))
            .await
            .expect("members");
        if page.is_empty() {
            break;
        }
        seen += page.len();
        after = page.last().map(|u| u.id);
    }
    assert_eq!(seen, 5001);
    let rooms = chat.public_rooms(owner, Some(10), 0).await.expect("rooms");
    assert_eq!(rooms[0].conversation.member_count, 5001);
    assert!(rooms[0].is_member);
    let history = chat
        .history(
            UserId::try_from(1).expect("positive"),
            room.id,
            HistoryQuery::default(),
        )
        .await
        .expect("history");
    assert_eq!(history.messages[0].content, "hello everyone");
    assert_eq!(
        history.messages[1].message_type,
        chat_core::model::MessageType::System
    );
}

#[tokio::test]
async fn leaving_and_joining_keep_membership_checks_current() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let carol = user(&chat, "carol").await;
    let group = chat
        .create_group(
            alice,
            CreateGroup {
                name: "team".into(),
                member_ids: vec![bob],
                is_public: false,
            },
        )
        .await
        .expect("group");
    // Warm the in-memory membership set, then change membership.
    chat.send_message(bob, SendMessage::text(group.id, "hi"), None)
        .await
        .expect("send");
    chat.leave_conversation(bob, group.id).await.expect("leave");
    let err = chat
        .send_message(bob, SendMessage::text(group.id, "still here?"), None)
        .await
        .expect_err("left");
    assert!(matches!(err, ChatError::NotFound("conversation")));
    assert!(
        matches!(
            chat.join_room(carol, group.id).await,
            Err(ChatError::NotFound("conversation"))
        ),
        "private"
    );
    chat.add_member(alice, group.id, carol).await.expect("add");
    chat.send_message(carol, SendMessage::text(group.id, "hello"), None)
        .await
        .expect("added member sends");
    let err = chat
        .add_member(alice, group.id, carol)
        .await
        .expect_err("twice");
    assert_eq!(err.code(), "already_member");
    let (direct, _) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    assert_eq!(
        chat.leave_conversation(alice, direct.id)
            .await
            .expect_err("direct")
            .status(),
        422
    );
    let system: Vec<String> = chat
        .history(alice, group.id, HistoryQuery::default())
        .await
        .expect("history")
        .messages
        .into_iter()
        .filter(|m| m.message_type == chat_core::model::MessageType::System)
        .map(|m| m.content)
        .collect();
    assert_eq!(system, ["carol was added", "bob left"]);
}

#[tokio::test]
async fn user_search_is_case_insensitive_and_excludes_the_caller() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let me = user(&chat, "Marianne").await;
    for name in ["Mario", "maria_x", "Amaryllis", "bob", "Miami"] {
        user(&chat, name).await;
    }
    let names = |users: Vec<chat_core::model::User>| {
        users.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };
    // Prefix matches first, then substring matches.
    assert_eq!(
        names(
            chat.search_users(me, "MAR", Some(10), 0)
                .await
                .expect("search")
        ),
        ["maria_x", "Mario", "Amaryllis"]
    );
    assert_eq!(
        names(
            chat.search_users(me, "mar", Some(2), 0)
                .await
                .expect("search")
        ),
        ["maria_x", "Mario"]
    );
    assert_eq!(
        names(
            chat.search_users(me, "mar", Some(2), 2)
                .await
                .expect("search")
        ),
        ["Amaryllis"]
    );
    assert_eq!(
        names(
            chat.search_users(me, "ia_", Some(10), 0)
                .await
                .expect("search")
        ),
        ["maria_x"],
        "LIKE wildcards are literal"
    );
    assert!(
        chat.search_users(me, "%", Some(10), 0)
            .await
            .expect("search")
            .is_empty()
    );
    assert!(chat.search_users(me, "  ", Some(10), 0).await.is_err());
}

#[tokio::test]
async fn ended_sessions_are_refused_at_once_and_unannounced_ends_within_the_cache_ttl() {
    use chat_core::entity::refresh_token;
    use chat_core::socket::auth::Identity;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let ttl = std::time::Duration::from_millis(300);
    let config = chat_core::ChatConfig {
        session_check_ttl: ttl,
        ..Default::default()
    };
    let (_layer, chat) = ChatCore::builder(db).config(config).build();
    let alice = user(&chat, "alice").await;
    let session = |sid: &str| Identity {
        user_id: alice,
        username: "alice".into(),
        session_id: Some(sid.into()),
        expires_at: None,
    };
    let active = |identity: Identity| {
        let chat = chat.clone();
        async move { chat.session_active(&identity).await.expect("check") }
    };
    assert!(active(session("s1")).await);
    assert!(active(session("s2")).await);

    // Ended here: refused at once, although the answer was cached.
    chat.end_session("s1", "logged_out").await.expect("end");
    assert!(!active(session("s1")).await);
    assert!(active(session("s2")).await, "other sessions go on");

    // Ended where this engine did not hear of it: refused once the cached
    // answer expires.
    chat.db()
        .execute_unprepared(
            "INSERT INTO revoked_sessions (session_id, revoked_at) VALUES ('s2', CURRENT_TIMESTAMP)",
        )
        .await
        .expect("insert");
    assert!(active(session("s2")).await, "still cached");
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    assert!(!active(session("s2")).await);

    // Every session of the user with a live refresh token.
    let now = chrono::Utc::now();
    for family in ["s3", "s4"] {
        refresh_token::ActiveModel {
            user_id: Set(alice),
            token_hash: Set(format!("hash-{family}")),
            family_id: Set(family.to_owned()),
            expires_at: Set(now + chrono::Duration::days(1)),
            revoked_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(chat.db())
        .await
        .expect("refresh token");
        assert!(active(session(family)).await);
    }
    chat.end_user_sessions(alice, "logged_out_everywhere")
        .await
        .expect("end all");
    assert!(!active(session("s3")).await);
    assert!(!active(session("s4")).await);

    // A user who no longer exists, with or without a session.
    let gone = Identity {
        user_id: UserId::try_from(alice.get() + 1000).expect("positive"),
        username: "ghost".into(),
        session_id: None,
        expires_at: None,
    };
    assert!(!active(gone.clone()).await);
    assert!(
        !active(Identity {
            session_id: Some("s9".into()),
            ..gone
        })
        .await
    );
}

/// A database written before revisions existed: its messages take their
/// `seq` as revision and its conversations their `last_seq` as `last_rev`,
/// so catching up by revision returns them, and the next send continues.
#[tokio::test]
async fn existing_messages_take_their_seq_as_revision() {
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20260120_000001_message_lifecycle")
        .expect("the revisions migration");
    Migrator::up(&db, Some(before as u32))
        .await
        .expect("migrate to before revisions");
    let ts = "'2026-11-01T10:00:00Z'";
    for sql in [
        format!(
            "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
             VALUES ('old', 'old', 'old@example.com', '', 'offline', {ts})"
        ),
        format!(
            "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_message_at) \
             VALUES ('group', 'old times', false, 1, {ts}, 3, {ts})"
        ),
        format!(
            "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq) \
             VALUES (1, 1, {ts}, 0, 0)"
        ),
        format!(
            "INSERT INTO messages (conversation_id, seq, sender_id, content, message_type, created_at) \
             VALUES (1, 1, 1, 'a', 'text', {ts}), (1, 2, 1, 'b', 'text', {ts}), (1, 3, 1, 'c', 'text', {ts})"
        ),
    ] {
        db.execute_unprepared(&sql).await.expect("old rows");
    }
    Migrator::up(&db, None).await.expect("revisions");
    let chat = ChatCore::builder(db).build().1;
    let user = UserId::try_from(1).expect("positive");
    let conversation = chat_core::ids::ConversationId::try_from(1).expect("positive");
    let query = HistoryQuery {
        after_rev: Some(1),
        ..Default::default()
    };
    let page = chat
        .history(user, conversation, query)
        .await
        .expect("history");
    let revs: Vec<(i64, i64)> = page.messages.iter().map(|m| (m.seq, m.rev)).collect();
    assert_eq!(revs, [(2, 2), (3, 3)]);
    assert_eq!(page.last_rev, 3);
    let sent = chat
        .send_message(user, SendMessage::text(conversation, "d"), None)
        .await
        .expect("send");
    assert_eq!((sent.message.seq, sent.message.rev), (4, 4));
    let listed = chat
        .conversation(user, conversation)
        .await
        .expect("conversation");
    assert_eq!(listed.last_rev, 4);
}

/// `@username` of a member becomes a mention at send time; each member's
/// conversation shows how many messages above their read pointer mention
/// them, and a deleted message's mentions no longer count.
#[tokio::test]
async fn mentions_name_members_and_count_until_read() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "Bob").await;
    let carol = user(&chat, "carol").await;
    let dave = user(&chat, "dave").await;
    let group = chat
        .create_group(
            alice,
            CreateGroup {
                name: "mentions".into(),
                member_ids: vec![bob, carol],
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id;
    let send = |text: &str| {
        let chat = chat.clone();
        let request = SendMessage::text(group, text);
        async move {
            chat.send_message(alice, request, None)
                .await
                .expect("send")
                .message
        }
    };
    let mention_count = |who| {
        let chat = chat.clone();
        async move {
            let page = chat
                .conversation_page(who, ConversationListQuery::default())
                .await
                .expect("list");
            page.conversations
                .iter()
                .find(|c| c.id == group)
                .map(|c| c.mention_count)
        }
    };

    let first = send("hi @bob and @Carol, not @dave nor @nobody; me: @alice").await;
    assert_eq!(
        first.mentions,
        [bob, carol],
        "members only, the sender left out"
    );
    send("again @BOB").await;
    assert_eq!(mention_count(bob).await, Some(2));
    assert_eq!(mention_count(carol).await, Some(1));
    assert_eq!(mention_count(alice).await, Some(0));
    assert_eq!(mention_count(dave).await, None, "not in the conversation");

    let latest = send("no names here").await;
    chat.advance_receipt(
        bob,
        ReceiptKind::Read,
        ReceiptRequest {
            conversation_id: group,
            message_id: latest.id,
        },
    )
    .await
    .expect("read");
    assert_eq!(
        mention_count(bob).await,
        Some(0),
        "read mentions are not counted"
    );

    let taken_back = send("@bob sorry, wrong group").await;
    assert_eq!(mention_count(bob).await, Some(1));
    chat.delete_message(alice, taken_back.id, None)
        .await
        .expect("delete");
    assert_eq!(
        mention_count(bob).await,
        Some(0),
        "a deleted message mentions nobody"
    );
    let history = chat
        .history(bob, group, HistoryQuery::default())
        .await
        .expect("history");
    let stored: Vec<Vec<UserId>> = history
        .messages
        .iter()
        .map(|m| m.mentions.clone())
        .collect();
    assert_eq!(
        stored,
        [vec![], vec![], vec![bob], vec![bob, carol]],
        "newest first"
    );
}

/// The message lifecycle migration, and the reaction order index after it,
/// roll back and apply again.
#[tokio::test]
async fn the_lifecycle_migration_rolls_back_and_forward() {
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let lifecycle = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20260120_000001_message_lifecycle")
        .expect("the lifecycle migration");
    let after = (Migrator::migrations().len() - lifecycle) as u32;
    Migrator::down(&db, Some(after)).await.expect("roll back");
    Migrator::up(&db, None).await.expect("apply again");
    let chat = ChatCore::builder(db).build().1;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let (direct, _) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    let sent = chat
        .send_message(alice, SendMessage::text(direct.id, "hi @bob"), None)
        .await
        .expect("send");
    assert_eq!(
        (sent.message.rev, sent.message.mentions.clone()),
        (1, vec![bob])
    );
}

/// Who reacted: each emoji in order of first use with its full count and its
/// first users in the order they reacted (at most [`REACTORS_LISTED`]);
/// readable by members only, and empty once the message is deleted.
#[tokio::test]
async fn reactors_are_listed_per_emoji_in_reaction_order() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let alice = user(&chat, "alice").await;
    let mut fans = Vec::new();
    for i in 0..24 {
        fans.push(user(&chat, &format!("fan{i:02}")).await);
    }
    let eve = user(&chat, "eve").await;
    let group = chat
        .create_group(
            alice,
            CreateGroup {
                name: "launch".into(),
                member_ids: fans.clone(),
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id;
    let news = chat
        .send_message(alice, SendMessage::text(group, "We shipped!"), None)
        .await
        .expect("send")
        .message
        .id;
    let react = |who: UserId, emoji: &str, add: bool| {
        let chat = chat.clone();
        let request = ReactionRequest {
            message_id: news,
            emoji: emoji.to_owned(),
        };
        async move {
            if add {
                chat.add_reaction(who, request, None).await
            } else {
                chat.remove_reaction(who, request, None).await
            }
            .expect("reaction");
        }
    };
    let listed = |reactors: &chat_core::service::MessageReactors| {
        reactors
            .reactions
            .iter()
            .map(|r| {
                let ids: Vec<UserId> = r.users.iter().map(|u| u.id).collect();
                (r.emoji.clone(), r.count, ids)
            })
            .collect::<Vec<_>>()
    };

    react(fans[5], "👍", true).await;
    // In reverse order of their ids: listed as they reacted, not by id.
    for &fan in fans.iter().rev() {
        react(fan, "🎉", true).await;
    }
    react(alice, "👍", true).await;
    react(alice, "❤️", true).await;
    let reactors = chat.reactors(fans[0], news).await.expect("reactors");
    assert_eq!(reactors.message_id, news);
    let first_party: Vec<UserId> = fans.iter().rev().take(REACTORS_LISTED).copied().collect();
    assert_eq!(
        listed(&reactors),
        [
            ("👍".to_owned(), 2, vec![fans[5], alice]),
            ("🎉".to_owned(), 24, first_party),
            ("❤️".to_owned(), 1, vec![alice]),
        ]
    );
    assert_eq!(reactors.reactions[1].users[0].username, "fan23");
    // The same order and counts as the message carries.
    let history = chat
        .history(alice, group, HistoryQuery::default())
        .await
        .expect("history");
    let counts: Vec<(String, i64)> = history.messages[0]
        .reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.count))
        .collect();
    let answered: Vec<(String, i64)> = reactors
        .reactions
        .iter()
        .map(|r| (r.emoji.clone(), r.count))
        .collect();
    assert_eq!(counts, answered);

    // The first to react leaves: the next one moves up, the count follows.
    react(fans[23], "🎉", false).await;
    let reactors = chat.reactors(alice, news).await.expect("reactors");
    let party = &reactors.reactions[1];
    assert_eq!((party.count, party.users.len()), (23, REACTORS_LISTED));
    assert_eq!(
        (party.users[0].id, party.users[REACTORS_LISTED - 1].id),
        (fans[22], fans[3])
    );

    // Outsiders learn nothing, as for a message that does not exist.
    let err = chat.reactors(eve, news).await.expect_err("outsider");
    assert_eq!(err.code(), "not_found");
    let missing = MessageId::try_from(999_999).expect("positive");
    let err = chat.reactors(alice, missing).await.expect_err("no message");
    assert_eq!(err.code(), "not_found");
    // A public room answers those who have not joined it `not_a_member`.
    let room = chat
        .create_group(
            alice,
            CreateGroup {
                name: "town square".into(),
                member_ids: vec![fans[0]],
                is_public: true,
            },
        )
        .await
        .expect("room")
        .id;
    let hello = chat
        .send_message(alice, SendMessage::text(room, "hello"), None)
        .await
        .expect("send")
        .message
        .id;
    let err = chat.reactors(eve, hello).await.expect_err("not joined");
    assert_eq!(err.code(), "not_a_member");
    let none = chat.reactors(fans[0], hello).await.expect("no reactions");
    assert!(none.reactions.is_empty());

    chat.delete_message(alice, news, None)
        .await
        .expect("delete");
    let reactors = chat.reactors(fans[0], news).await.expect("deleted");
    assert_eq!(reactors.message_id, news);
    assert!(reactors.reactions.is_empty());
}

#[tokio::test]
async fn sends_fail_as_unavailable_at_once_while_the_database_is_unreachable() {
    let db = TestDb::new().await;
    let chat = engine(&db).await;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let (conv, _) = chat.get_or_create_direct(alice, bob).await.expect("direct");
    chat.send_message(alice, SendMessage::text(conv.id, "before"), None)
        .await
        .expect("send while reachable");

    // A closed pool answers every acquire as an unreachable database does.
    chat.db().clone().close().await.expect("close the pool");
    let sends = (0..20).map(|n| {
        let chat = chat.clone();
        async move {
            chat.send_message(alice, SendMessage::text(conv.id, format!("m{n}")), None)
                .await
        }
    });
    let results = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        futures_util::future::join_all(sends),
    )
    .await
    .expect("the writer answers instead of waiting");
    for result in results {
        let err = result.expect_err("nothing can be stored");
        assert!(err.is_unavailable(), "{err}");
        assert_eq!((err.code(), err.status()), ("unavailable", 503));
    }
}
