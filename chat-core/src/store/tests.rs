//! Plans of the hot queries: each must stay an index lookup.
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend};

use super::blocks::push_involving;
use super::conversations::{push_list, push_public_rooms};
use super::message_changes::push_replies;
use super::messages::{HistoryFrom, push_history};
use super::reactions::push_reactors;
use crate::db::Sql;
use crate::ids::literal::{c, m, u};
use crate::testing::{TestDb, explain, plan_of};

/// Fills a database with enough rows that the planner prefers indexes, then
/// returns the plans of the hot queries (history paging, catch-up, the
/// conversation list, who reacted, users' blocks, a thread's replies and the
/// public rooms).
async fn plans() -> (DbBackend, Vec<(&'static str, String)>) {
    let test_db = TestDb::new().await;
    let db = super::seed::migrated_with_users(&test_db, 50).await;
    let backend = db.get_database_backend();
    let ts = super::seed::TS;
    let mut script = Vec::new();
    for c in 1..=200 {
        script.push(format!(
            "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) \
             VALUES ('group', 'g{c}', false, 1, {ts}, 50, 50, {ts})"
        ));
        for u in [1 + c % 50, 1 + (c + 1) % 50, 1 + (c + 7) % 50] {
            script.push(format!(
                "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq) \
                 VALUES ({c}, {u}, {ts}, 0, 0)"
            ));
        }
        let rows: Vec<String> = (1..=50)
            .map(|s| format!("({c}, {s}, {s}, {}, 'hello', 'text', {ts})", 1 + c % 50))
            .collect();
        script.push(format!(
            "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, created_at) VALUES {}",
            rows.join(", ")
        ));
    }
    // 5,000 more conversations without messages, one in 250 a public room.
    for first in (201..=5200).step_by(500) {
        let rows: Vec<String> = (first..first + 500)
            .map(|c| format!("('group', 'x{c}', {}, 1, {ts}, 0, 0, {ts})", c % 250 == 0))
            .collect();
        script.push(format!(
            "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) VALUES {}",
            rows.join(", ")
        ));
    }
    // Reactions on the first 1000 messages, two emoji by 20 users each.
    let counts = r#"'[{"emoji":"a","count":20},{"emoji":"b","count":20}]'"#;
    for first in (1..=1000).step_by(100) {
        let rows: Vec<String> = (first..first + 100)
            .flat_map(|m| {
                (1..=40).map(move |u| format!("({m}, '{}', {u}, {ts})", ["a", "b"][u % 2]))
            })
            .collect();
        script.push(format!(
            "INSERT INTO message_reactions (message_id, emoji, user_id, created_at) VALUES {}",
            rows.join(", ")
        ));
    }
    script.push(format!(
        "UPDATE messages SET reactions = {counts} WHERE id <= 1000"
    ));
    // A thread: conversation 7's later messages reply to its first; the
    // other 9,951 messages reply to nothing.
    script.push(
        "UPDATE messages SET reply_to_id = (SELECT MIN(id) FROM messages WHERE conversation_id = 7) \
         WHERE conversation_id = 7 AND seq > 1"
            .to_owned(),
    );
    // 2000 more users, each of whom blocked 5 others.
    let more: Vec<String> = (51..=2050)
        .map(|u| format!("('u{u}', 'u{u}', 'u{u}@x.io', '', 'offline', {ts})"))
        .collect();
    script.push(format!(
        "INSERT INTO users (username, username_key, email, password_hash, status, created_at) VALUES {}",
        more.join(", ")
    ));
    let blocks: Vec<String> = (1..=2050)
        .flat_map(|b| (1..=5).map(move |k| format!("({b}, {}, {ts})", 1 + (b + k * 7) % 2050)))
        .collect();
    for chunk in blocks.chunks(1000) {
        script.push(format!(
            "INSERT INTO user_blocks (blocker_id, blocked_id, created_at) VALUES {}",
            chunk.join(", ")
        ));
    }
    for sql in script {
        db.execute_unprepared(&sql).await.expect("seed");
    }
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    let statement = |name: &'static str, push: &dyn Fn(&mut Sql)| {
        let mut q = Sql::new(backend);
        q.push(explain(backend));
        push(&mut q);
        (name, q.build())
    };
    let queries = vec![
        statement("history newest", &|q| {
            push_history(q, c(7), HistoryFrom::Newest, 51)
        }),
        statement("history before", &|q| {
            push_history(q, c(7), HistoryFrom::Before(30), 51)
        }),
        statement("catch-up after_seq", &|q| {
            push_history(q, c(7), HistoryFrom::After(10), 101)
        }),
        statement("catch-up after_rev", &|q| {
            push_history(q, c(7), HistoryFrom::AfterRev(10), 101)
        }),
        statement("conversation list", &|q| {
            push_list(q, u(3), &[c(3), c(9), c(17)])
        }),
        statement("who reacted", &|q| push_reactors(q, m(7), 20)),
        statement("blocks of users", &|q| {
            push_involving(q, &[u(7), u(9), u(11)])
        }),
        statement("replies of a message", &|q| push_replies(q, m(301), 0, 51)),
        statement("public rooms", &|q| push_public_rooms(q, u(3), 21, 0)),
    ];
    let mut out = Vec::new();
    for (name, statement) in queries {
        out.push((name, plan_of(&db, statement).await));
    }
    drop(db);
    drop(test_db);
    (backend, out)
}

#[tokio::test]
async fn hot_queries_use_indexes() {
    let (backend, plans) = plans().await;
    for (name, plan) in plans {
        println!("-- {name} ({backend:?})\n{plan}\n");
        if name == "who reacted" {
            // Each emoji's users in reaction order, from the index alone.
            assert!(
                plan.contains("idx_message_reactions_order"),
                "{name} should read reactions in order:\n{plan}"
            );
        }
        if name == "replies of a message" {
            // The partial index (replies only) serves a thread.
            assert!(
                plan.contains("idx_messages_reply_to"),
                "{name} should read the thread by index:\n{plan}"
            );
        }
        if name == "public rooms" {
            // The partial index (public rooms only), not every conversation.
            assert!(
                plan.contains("idx_conversations_public"),
                "{name} should read the public rooms by index:\n{plan}"
            );
        }
        if name == "blocks of users" {
            // Both directions read from an index: the key, and the reverse one.
            assert!(
                plan.contains("idx_user_blocks_blocked"),
                "{name} should find who blocked the user by index:\n{plan}"
            );
        }
        if backend == DbBackend::Postgres {
            assert!(
                plan.contains("Index"),
                "{name} should use an index:\n{plan}"
            );
            assert!(
                !plan.contains("Seq Scan on messages"),
                "{name} scans messages:\n{plan}"
            );
            assert!(
                !plan.contains("Seq Scan on conversation_members"),
                "{name} scans members:\n{plan}"
            );
        } else {
            assert!(
                plan.contains("INDEX"),
                "{name} should use an index:\n{plan}"
            );
            assert!(
                !plan.contains("SCAN m\n") && !plan.ends_with("SCAN m"),
                "{name}:\n{plan}"
            );
        }
    }
}

/// Storing messages rewrites their conversations' rows in place on
/// PostgreSQL (heap-only tuple updates): no column the send path sets is
/// indexed, and the table keeps room on its pages for the new versions, so
/// taking seq blocks writes no index entry. Two batches in a row over the
/// same 20 of 400 conversations, each checked inside its own transaction;
/// the new versions fit in the room the fillfactor leaves, so the check
/// does not depend on when PostgreSQL prunes the old ones (which other
/// databases' open transactions can hold back).
#[tokio::test]
async fn taking_seq_blocks_updates_conversations_in_place() {
    use super::message_batches::take_seq_blocks;
    use sea_orm::TransactionTrait;
    use std::collections::BTreeMap;

    let test_db = TestDb::new().await;
    let db = super::seed::migrated_with_users(&test_db, 2).await;
    if db.get_database_backend() != DbBackend::Postgres {
        // SQLite rewrites a row in its B-tree page whatever is indexed.
        return;
    }
    let ts = super::seed::TS;
    let rows: Vec<String> = (1..=400)
        .map(|c| format!("('group', 'g{c}', {}, 1, {ts}, 0, 0, {ts})", c % 30 == 0))
        .collect();
    db.execute_unprepared(&format!(
        "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) VALUES {}",
        rows.join(", ")
    ))
    .await
    .expect("seed");
    // Every twentieth conversation, public rooms among them.
    let counts: BTreeMap<_, _> = (1..=20).map(|k| (c(k * 20), 3)).collect();
    for batch in 1..=2 {
        let txn = db.begin().await.expect("begin");
        let at = chrono::Utc::now();
        let last = take_seq_blocks(&txn, &counts, at)
            .await
            .expect("seq blocks");
        assert_eq!(last.len(), 20);
        assert!(
            last.values()
                .all(|&(seq, rev)| seq == 3 * batch && rev == 3 * batch)
        );
        let row = txn
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Postgres,
                "SELECT pg_stat_get_xact_tuples_updated('conversations'::regclass), \
                 pg_stat_get_xact_tuples_hot_updated('conversations'::regclass)",
            ))
            .await
            .expect("stats")
            .expect("a row");
        let updated: i64 = row.try_get_by_index(0).expect("updated");
        let in_place: i64 = row.try_get_by_index(1).expect("hot updated");
        assert_eq!(
            (updated, in_place),
            (20, 20),
            "batch {batch}: every conversation's update should be heap-only"
        );
        txn.commit().await.expect("commit");
    }
}

/// Reaction times are taken before the revision lock, so two members adding
/// new emoji at once can commit in the opposite order of their times: the
/// order stored on the message (that of the revisions) wins.
#[tokio::test]
async fn reactions_keep_the_order_they_were_committed_in() {
    use super::reactions::{add, counts, reactors, store_counts};
    use chrono::{TimeZone, Utc};

    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let ts = "'2026-01-01T00:00:00Z'";
    for sql in [
        format!(
            "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
             VALUES ('ann', 'ann', 'ann@x.io', '', 'offline', {ts}), ('ben', 'ben', 'ben@x.io', '', 'offline', {ts})"
        ),
        format!(
            "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) \
             VALUES ('group', 'g', false, 1, {ts}, 1, 1, {ts})"
        ),
        format!(
            "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, created_at) \
             VALUES (1, 1, 1, 1, 'hello', 'text', {ts})"
        ),
    ] {
        db.execute_unprepared(&sql).await.expect("seed");
    }
    let later = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 2)
        .single()
        .expect("time");
    let earlier = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 1)
        .single()
        .expect("time");
    // Ben's 🍕 commits first although Ann's 🍔 was stamped earlier.
    assert!(add(&db, m(1), u(2), "🍕", later).await.expect("add"));
    let first = counts(&db, m(1)).await.expect("counts");
    assert!(store_counts(&db, m(1), &first, 2).await.expect("store"));
    assert!(add(&db, m(1), u(1), "🍔", earlier).await.expect("add"));
    let second = counts(&db, m(1)).await.expect("counts");
    let order: Vec<&str> = second.iter().map(|c| c.emoji.as_str()).collect();
    assert_eq!(order, ["🍕", "🍔"]);
    assert!(store_counts(&db, m(1), &second, 3).await.expect("store"));
    let who = reactors(&db, m(1), 20).await.expect("reactors");
    let listed: Vec<&str> = who.iter().map(|r| r.emoji.as_str()).collect();
    assert_eq!(
        listed,
        ["🍕", "🍔"],
        "who reacted lists them in the same order"
    );

    // A reaction read as allowed before its message was deleted by another
    // transaction: the counts are not written onto the tombstone.
    super::message_changes::erase(&db, m(1), later, 4)
        .await
        .expect("erase");
    assert!(add(&db, m(1), u(2), "🎉", later).await.expect("add"));
    let counts_now = counts(&db, m(1)).await.expect("counts");
    assert!(
        !store_counts(&db, m(1), &counts_now, 5)
            .await
            .expect("store")
    );
    let reactions: Option<String> = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT reactions FROM messages WHERE id = 1",
        ))
        .await
        .expect("read")
        .expect("row")
        .try_get("", "reactions")
        .expect("column");
    assert_eq!(reactions, None, "the tombstone carries no reactions");
}

/// The plans of a search by a member of 50 of 1000 conversations with 100
/// messages each: a rare word is looked up in the full-text index, and only a
/// word of every message may read the whole table on PostgreSQL (on a table
/// this small; with a million messages the planner reads the member's
/// conversations instead, see docs/performance.md). SQLite always searches
/// the full-text index, limited to the member's conversations.
#[tokio::test]
async fn searches_use_the_full_text_index_or_the_member_conversations() {
    use super::search::{SearchFilter, push_search};

    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let backend = db.get_database_backend();
    let ts = "'2026-01-01T00:00:00Z'";
    let mut script = vec![format!(
        "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
         VALUES ('s', 's', 's@x.io', '', 'offline', {ts}), ('t', 't', 't@x.io', '', 'offline', {ts})"
    )];
    let conversations: Vec<String> = (1..=1000)
        .map(|_| format!("('group', 'g', false, 2, {ts}, 100, 100, {ts})"))
        .collect();
    script.push(format!(
        "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) \
         VALUES {}",
        conversations.join(", ")
    ));
    let members: Vec<String> = (1..=1000)
        .map(|c| format!("({c}, 2, {ts}, 0, 0)"))
        .chain(
            (1..=1000)
                .step_by(20)
                .map(|c| format!("({c}, 1, {ts}, 0, 0)")),
        )
        .collect();
    script.push(format!(
        "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq) \
         VALUES {}",
        members.join(", ")
    ));
    for seq in 1..=100 {
        let rows: Vec<String> = (1..=1000)
            .map(|c| {
                let n = seq * 1000 + c;
                format!(
                    "({c}, {seq}, {seq}, 2, 'common w{} v{}', 'text', {ts})",
                    n % 9973,
                    n % 13
                )
            })
            .collect();
        script.push(format!(
            "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, created_at) VALUES {}",
            rows.join(", ")
        ));
    }
    for sql in script {
        db.execute_unprepared(&sql).await.expect("seed");
    }
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    // (words, looked up in the index, may read the table)
    for (words, selective, everywhere) in [
        (&["w1234"][..], true, false),
        (&["v3"][..], false, false),
        (&["common", "w1"][..], false, false),
        (&["common"][..], false, true),
    ] {
        let filter = SearchFilter {
            caller: u(1),
            words,
            conversation_id: None,
            sender_id: None,
            fetch: 21,
            offset: 0,
        };
        let mut q = Sql::new(backend);
        q.push(explain(backend));
        let scope: Vec<_> = (1..=1000).step_by(20).map(c).collect();
        push_search(&mut q, &filter, Some(&scope));
        let plan = plan_of(&db, q.build()).await;
        println!("-- search {words:?} ({backend:?})\n{plan}\n");
        if backend == DbBackend::Postgres {
            assert!(
                everywhere || !plan.contains("Seq Scan on messages"),
                "{words:?}:\n{plan}"
            );
            if selective {
                assert!(plan.contains("idx_messages_search"), "{words:?}:\n{plan}");
            }
        } else {
            assert!(plan.contains("VIRTUAL TABLE INDEX"), "{words:?}:\n{plan}");
            assert!(
                !plan.contains("SCAN m\n") && !plan.ends_with("SCAN m"),
                "{words:?}:\n{plan}"
            );
        }
    }
}
