//! Plans of the hot queries: each must stay an index lookup.
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend};

use super::conversations::push_list;
use super::messages::{HistoryFrom, push_history};
use crate::db::Sql;
use crate::ids::literal::{c, u};
use crate::testing::TestDb;

/// Fills a database with enough rows that the planner prefers indexes, then
/// returns the plans of the hot queries (history paging, catch-up and the
/// conversation list).
async fn plans() -> (DbBackend, Vec<(&'static str, String)>) {
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    let backend = db.get_database_backend();
    let ts = "'2026-01-01T00:00:00Z'";
    let mut script = Vec::new();
    for u in 1..=50 {
        script.push(format!(
            "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
             VALUES ('u{u}', 'u{u}', 'u{u}@x.io', '', 'offline', {ts})"
        ));
    }
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
    for sql in script {
        db.execute_unprepared(&sql).await.expect("seed");
    }
    db.execute_unprepared("ANALYZE").await.expect("analyze");
    let explain = if backend == DbBackend::Postgres {
        "EXPLAIN"
    } else {
        "EXPLAIN QUERY PLAN"
    };
    let statement = |name: &'static str, push: &dyn Fn(&mut Sql)| {
        let mut q = Sql::new(backend);
        q.push(explain).push(" ");
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
    ];
    let mut out = Vec::new();
    for (name, statement) in queries {
        let rows = db.query_all_raw(statement).await.expect("explain");
        let plan: Vec<String> = rows
            .iter()
            .map(|r| {
                r.try_get_by_index::<String>(0)
                    .or_else(|_| r.try_get_by_index::<String>(3))
                    .unwrap_or_default()
            })
            .collect();
        out.push((name, plan.join("\n")));
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
