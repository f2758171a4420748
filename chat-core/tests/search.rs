//! Message search through the public handle, on whichever database the run
//! targets (`TEST_POSTGRES_URL` for PostgreSQL): ranking, who sees what,
//! edits and deletes, prefixes, accents, filters, paging, snippets and
//! hostile queries.
use chat_core::ids::{ConversationId, MessageId, UserId};
use chat_core::service::{
    CreateGroup, EditMessage, NewUser, ReactionRequest, SearchPage, SearchQuery, SendMessage,
};
use chat_core::testing::TestDb;
use chat_core::{ChatCore, ChatError, ChatHandle};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

async fn connect(test_db: &TestDb) -> DatabaseConnection {
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    db
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

async fn group(
    chat: &ChatHandle,
    owner: UserId,
    members: &[UserId],
    public: bool,
) -> ConversationId {
    let group = CreateGroup {
        name: "g".into(),
        member_ids: members.to_vec(),
        is_public: public,
    };
    chat.create_group(owner, group).await.expect("group").id
}

async fn send(chat: &ChatHandle, from: UserId, to: ConversationId, text: &str) -> MessageId {
    chat.send_message(from, SendMessage::text(to, text), None)
        .await
        .expect("send")
        .message
        .id
}

async fn search(chat: &ChatHandle, caller: UserId, query: SearchQuery) -> SearchPage {
    chat.search_messages(caller, query).await.expect("search")
}

/// The ids found for `text`, in order.
async fn found(chat: &ChatHandle, caller: UserId, text: &str) -> Vec<MessageId> {
    ids(&search(chat, caller, SearchQuery::new(text)).await)
}

fn ids(page: &SearchPage) -> Vec<MessageId> {
    page.results.iter().map(|h| h.message.id).collect()
}

/// Alice, Bob and Carol share a group with ten unrelated messages (so every
/// searched word is rare, as in a real history); Dave is in none of it.
struct Fixture {
    chat: ChatHandle,
    alice: UserId,
    bob: UserId,
    carol: UserId,
    dave: UserId,
    team: ConversationId,
    _db: TestDb,
}

async fn fixture() -> Fixture {
    let test_db = TestDb::new().await;
    let chat = ChatCore::builder(connect(&test_db).await).build().1;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let carol = user(&chat, "carol").await;
    let dave = user(&chat, "dave").await;
    let team = group(&chat, alice, &[bob, carol], false).await;
    for n in 0..10 {
        send(
            &chat,
            carol,
            team,
            &format!("unrelated chatter number {n} here"),
        )
        .await;
    }
    Fixture {
        chat,
        alice,
        bob,
        carol,
        dave,
        team,
        _db: test_db,
    }
}

#[tokio::test]
async fn more_matches_rank_first_then_newest() {
    let f = fixture().await;
    let many = send(&f.chat, f.bob, f.team, "ranking ranking ranking word").await;
    let older = send(&f.chat, f.bob, f.team, "ranking tie here").await;
    let newer = send(&f.chat, f.bob, f.team, "ranking tie here").await;
    assert_eq!(
        found(&f.chat, f.alice, "ranking").await,
        [many, newer, older]
    );
    // Every word must match.
    assert_eq!(found(&f.chat, f.alice, "ranking tie").await, [newer, older]);
    assert!(found(&f.chat, f.alice, "ranking absent").await.is_empty());
}

#[tokio::test]
async fn only_members_find_messages_and_leaving_removes_them() {
    let f = fixture().await;
    let side = group(&f.chat, f.bob, &[f.carol], false).await;
    let secret = send(&f.chat, f.bob, side, "secret orchid plans").await;
    let shared = send(&f.chat, f.bob, f.team, "orchid now blooming").await;
    assert_eq!(found(&f.chat, f.bob, "orchid").await, [shared, secret]);
    assert_eq!(found(&f.chat, f.alice, "orchid").await, [shared]);
    assert!(found(&f.chat, f.dave, "orchid").await.is_empty());
    // Naming a conversation one is not in: the answer of history.
    let outsider = SearchQuery {
        conversation_id: Some(side),
        ..SearchQuery::new("orchid")
    };
    let err = f.chat.search_messages(f.alice, outsider.clone()).await;
    assert!(matches!(err, Err(ChatError::NotFound(_))), "{err:?}");
    let room = group(&f.chat, f.bob, &[], true).await;
    let in_room = SearchQuery {
        conversation_id: Some(room),
        ..SearchQuery::new("orchid")
    };
    let err = f.chat.search_messages(f.alice, in_room).await;
    assert!(matches!(err, Err(ChatError::NotAMember)), "{err:?}");
    // Leaving a group takes its messages out of one's results at once.
    f.chat
        .leave_conversation(f.carol, side)
        .await
        .expect("leave");
    assert!(found(&f.chat, f.carol, "secret").await.is_empty());
    assert_eq!(found(&f.chat, f.carol, "orchid").await, [shared]);
}

#[tokio::test]
async fn edits_and_deletes_are_reflected_at_once() {
    let f = fixture().await;
    let id = send(&f.chat, f.alice, f.team, "pineapple pizza tonight").await;
    assert_eq!(found(&f.chat, f.bob, "pineapple").await, [id]);
    let edit = EditMessage {
        message_id: id,
        content: "mango pizza tonight".into(),
    };
    f.chat
        .edit_message(f.alice, edit, None)
        .await
        .expect("edit");
    assert!(found(&f.chat, f.bob, "pineapple").await.is_empty());
    let page = search(&f.chat, f.bob, SearchQuery::new("mango")).await;
    assert_eq!(ids(&page), [id]);
    assert_eq!(page.results[0].snippet, "mango pizza tonight");
    assert!(page.results[0].message.edited_at.is_some());
    f.chat
        .delete_message(f.alice, id, None)
        .await
        .expect("delete");
    assert!(found(&f.chat, f.bob, "mango").await.is_empty());
    assert!(found(&f.chat, f.bob, "pizza").await.is_empty());
}

#[tokio::test]
async fn system_messages_never_match() {
    let f = fixture().await;
    let room = group(&f.chat, f.alice, &[], true).await;
    f.chat.join_room(f.dave, room).await.expect("join");
    f.chat
        .leave_conversation(f.dave, room)
        .await
        .expect("leave");
    assert!(found(&f.chat, f.alice, "joined").await.is_empty());
    assert!(found(&f.chat, f.alice, "dave left").await.is_empty());
    let said = send(&f.chat, f.alice, room, "dave joined and left").await;
    assert_eq!(found(&f.chat, f.alice, "joined").await, [said]);
}

#[tokio::test]
async fn the_last_word_is_a_prefix() {
    let f = fixture().await;
    let id = send(&f.chat, f.bob, f.team, "cafeteria lunch at noon").await;
    assert_eq!(found(&f.chat, f.alice, "caf").await, [id]);
    assert_eq!(found(&f.chat, f.alice, "lunch cafet").await, [id]);
    assert_eq!(found(&f.chat, f.alice, "noon lunch").await, [id]);
    // Only the last word: earlier words are whole.
    assert!(found(&f.chat, f.alice, "cafet lunch").await.is_empty());
    assert!(found(&f.chat, f.alice, "lunches").await.is_empty());
}

#[tokio::test]
async fn accents_and_case_are_ignored() {
    let f = fixture().await;
    let accented = send(&f.chat, f.bob, f.team, "Le Café est fermé").await;
    let plain = send(&f.chat, f.bob, f.team, "cafe au lait").await;
    for query in ["café", "cafe", "CAFÉ", "Cafe"] {
        let mut hits = found(&f.chat, f.alice, query).await;
        hits.sort();
        assert_eq!(hits, [accented, plain], "{query}");
    }
    assert_eq!(found(&f.chat, f.alice, "FERME").await, [accented]);
    assert_eq!(found(&f.chat, f.alice, "ferm").await, [accented]);
    let page = search(&f.chat, f.alice, SearchQuery::new("cafe fer")).await;
    assert_eq!(page.results[0].highlights, [[3, 7], [12, 17]]);
}

#[tokio::test]
async fn conversation_and_sender_filters() {
    let f = fixture().await;
    let direct = f
        .chat
        .get_or_create_direct(f.alice, f.bob)
        .await
        .expect("direct")
        .0
        .id;
    let in_team = send(&f.chat, f.bob, f.team, "budget review").await;
    let by_carol = send(&f.chat, f.carol, f.team, "budget approved").await;
    let in_direct = send(&f.chat, f.bob, direct, "budget question").await;
    let only = |conversation_id, sender_id| SearchQuery {
        conversation_id,
        sender_id,
        ..SearchQuery::new("budget")
    };
    let page = search(&f.chat, f.alice, only(Some(direct), None)).await;
    assert_eq!(ids(&page), [in_direct]);
    let page = search(&f.chat, f.alice, only(None, Some(f.bob))).await;
    assert_eq!(ids(&page), [in_direct, in_team]);
    let page = search(&f.chat, f.alice, only(Some(f.team), Some(f.carol))).await;
    assert_eq!(ids(&page), [by_carol]);
    let page = search(&f.chat, f.alice, only(Some(f.team), Some(f.dave))).await;
    assert!(page.results.is_empty());
}

#[tokio::test]
async fn offset_and_has_more_page_through_results() {
    let f = fixture().await;
    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(send(&f.chat, f.bob, f.team, &format!("paging {n}")).await);
    }
    sent.reverse(); // equally good matches: newest first
    let page = |limit, offset| SearchQuery {
        limit: Some(limit),
        offset,
        ..SearchQuery::new("paging")
    };
    let first = search(&f.chat, f.alice, page(2, 0)).await;
    assert_eq!((ids(&first), first.has_more), (sent[..2].to_vec(), true));
    let second = search(&f.chat, f.alice, page(2, 2)).await;
    assert_eq!((ids(&second), second.has_more), (sent[2..4].to_vec(), true));
    let last = search(&f.chat, f.alice, page(2, 4)).await;
    assert_eq!((ids(&last), last.has_more), (sent[4..].to_vec(), false));
    let past = search(&f.chat, f.alice, page(2, 1000)).await;
    assert!(past.results.is_empty() && !past.has_more);
    let default = search(&f.chat, f.alice, SearchQuery::new("paging")).await;
    assert_eq!(default.results.len(), 5);
}

#[tokio::test]
async fn results_carry_the_message_as_history_shows_it() {
    let f = fixture().await;
    let id = send(&f.chat, f.bob, f.team, "react to this marmalade").await;
    let thumbs = ReactionRequest {
        message_id: id,
        emoji: "👍".into(),
    };
    f.chat
        .add_reaction(f.alice, thumbs, None)
        .await
        .expect("react");
    let hit = &search(&f.chat, f.alice, SearchQuery::new("marmalade"))
        .await
        .results[0];
    assert_eq!(
        hit.message.my_reactions.as_deref(),
        Some(&["👍".to_owned()][..])
    );
    assert_eq!(hit.message.reactions.len(), 1);
    assert_eq!(hit.message.sender.username, "bob");
    let history = f
        .chat
        .history(f.alice, f.team, Default::default())
        .await
        .expect("history");
    let shown = history
        .messages
        .iter()
        .find(|m| m.id == id)
        .expect("in history");
    assert_eq!(
        serde_json::to_value(shown).expect("json"),
        serde_json::to_value(&hit.message).expect("json")
    );
    let body = serde_json::to_value(hit).expect("json");
    assert_eq!(body["highlights"], serde_json::json!([[14, 23]]));
    assert_eq!(body["snippet"], "react to this marmalade");
}

#[tokio::test]
async fn snippets_are_cut_around_the_match_with_offsets_in_characters() {
    let f = fixture().await;
    let long = format!(
        "{} the quarterly forecast looks strong {}",
        "filler words before the point ".repeat(20),
        "and many words come after it ".repeat(20)
    );
    send(&f.chat, f.bob, f.team, &long).await;
    let hit = &search(&f.chat, f.alice, SearchQuery::new("quarterly fore"))
        .await
        .results[0];
    let chars: Vec<char> = hit.snippet.chars().collect();
    assert!(chars.len() <= 200, "{}", chars.len());
    assert!(hit.snippet.starts_with('…') && hit.snippet.ends_with('…'));
    let marked: Vec<String> = hit
        .highlights
        .iter()
        .map(|[a, b]| chars[*a..*b].iter().collect())
        .collect();
    assert_eq!(marked, ["quarterly", "forecast"]);
    let unicode = format!(
        "{}Встреча в кафе «Ёлка» 🎄 завтра{}",
        "日本語の文章 ".repeat(40),
        " ещё слова".repeat(30)
    );
    send(&f.chat, f.bob, f.team, &unicode).await;
    let hit = &search(&f.chat, f.alice, SearchQuery::new("ёлка КАФЕ"))
        .await
        .results[0];
    let chars: Vec<char> = hit.snippet.chars().collect();
    let marked: Vec<String> = hit
        .highlights
        .iter()
        .map(|[a, b]| chars[*a..*b].iter().collect())
        .collect();
    assert_eq!(marked, ["кафе", "Ёлка"]);
    assert!(chars.len() <= 200);
}

#[tokio::test]
async fn hostile_queries_are_refused_or_taken_as_words() {
    let f = fixture().await;
    let id = send(&f.chat, f.bob, f.team, "near a b operators AND or NOT").await;
    for query in [r#"""#, "*", "(((", "'", "\\", "?!.,;:", "   "] {
        let err = f
            .chat
            .search_messages(f.alice, SearchQuery::new(query))
            .await;
        let Err(err) = err else {
            panic!("{query:?} was accepted");
        };
        assert_eq!(err.code(), "validation_failed", "{query:?}");
        assert!(err.details().is_some_and(|d| d.contains_key("query")));
    }
    let err = f
        .chat
        .search_messages(f.alice, SearchQuery::new("x".repeat(10_000)))
        .await;
    assert!(err.is_err_and(|e| e.details().is_some_and(|d| d.contains_key("query"))));
    for query in [
        "NEAR(",
        "a:b",
        r#""near" *"#,
        "NOT",
        "and OR",
        "operators'",
        "operators\\",
        "b*",
        "near(a b)",
        "{a b}",
        "-near",
        "^a",
    ] {
        assert_eq!(found(&f.chat, f.alice, query).await, [id], "{query:?}");
    }
    for query in ["a:c", "NEAR(x", "zz*"] {
        assert!(found(&f.chat, f.alice, query).await.is_empty(), "{query:?}");
    }
}

/// The migration indexes the messages stored before it, and rolls back and
/// forward.
#[tokio::test]
async fn the_search_migration_indexes_existing_messages_and_rolls_back() {
    let test_db = TestDb::new().await;
    let db = connect(&test_db).await;
    let steps = steps_back_to_search();
    let chat = ChatCore::builder(db.clone()).build().1;
    let alice = user(&chat, "alice").await;
    let bob = user(&chat, "bob").await;
    let team = group(&chat, alice, &[bob], false).await;
    let before = send(&chat, alice, team, "stored before the index").await;
    let gone = send(&chat, alice, team, "stored then deleted").await;
    chat.delete_message(alice, gone, None)
        .await
        .expect("delete");
    drop(chat);
    // The messages stay while the index (and the later migrations) go and come back.
    Migrator::down(&db, Some(steps)).await.expect("roll back");
    Migrator::up(&db, None).await.expect("apply again");
    // A fresh engine: the first one's caches know nothing of the new schema.
    let chat = ChatCore::builder(db.clone()).build().1;
    assert_eq!(found(&chat, bob, "stored").await, [before]);
    let after = send(&chat, alice, team, "stored after").await;
    assert_eq!(found(&chat, bob, "stored").await, [after, before]);
    // Everything it added goes with `down`.
    Migrator::down(&db, Some(steps)).await.expect("roll back");
    let leftovers = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        "SELECT COUNT(*) FROM pg_ts_config WHERE cfgname = 'chat_search' UNION ALL \
         SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'search_vector'"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'messages_fts%'"
    };
    for row in db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            leftovers,
        ))
        .await
        .expect("leftovers")
    {
        assert_eq!(row.try_get_by_index::<i64>(0).expect("count"), 0);
    }
}

/// How many migrations `down` takes back to before the search migration.
fn steps_back_to_search() -> u32 {
    let search = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20260301_000001_message_search")
        .expect("the search migration");
    (Migrator::migrations().len() - search) as u32
}

/// SQLite: the index keeps no word of an erased message (FTS5 secure-delete
/// on a contentless table: the entries go, not only a tombstone for a later
/// merge), while the words other messages share stay.
#[tokio::test]
async fn an_erased_message_leaves_no_word_in_the_sqlite_index() {
    let f = fixture().await;
    if f.chat.db().get_database_backend() != sea_orm::DbBackend::Sqlite {
        return;
    }
    let id = send(&f.chat, f.alice, f.team, "chatter zqxj4417 confidential").await;
    let terms = |term: &'static str| {
        let db = f.chat.db().clone();
        async move {
            db.execute_unprepared(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms \
                 USING fts5vocab(main, messages_fts, 'instance')",
            )
            .await
            .expect("vocabulary");
            let sql = format!("SELECT COUNT(*) FROM temp.search_terms WHERE term = '{term}'");
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                sql,
            ))
            .await
            .expect("count")
            .map(|r| r.try_get_by_index::<i64>(0).expect("count"))
            .unwrap_or(0)
        }
    };
    assert_eq!(terms("zqxj4417").await, 1);
    let shared = terms("chatter").await;
    f.chat
        .delete_message(f.alice, id, None)
        .await
        .expect("delete");
    assert_eq!(terms("zqxj4417").await, 0);
    assert_eq!(terms("confidential").await, 0);
    assert_eq!(terms("chatter").await, shared - 1);
}
