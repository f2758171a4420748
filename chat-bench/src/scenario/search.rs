//! `search`: message search over a large stored history. The data set (users, groups, their
//! members and messages whose words follow a Zipf distribution over a synthetic vocabulary) is
//! written straight into the server's database in large multi-row INSERTs, since sending a
//! million messages through the API would take hours; the server's triggers and generated column
//! index them as they would any write. Then one user, a member of some of the groups, searches
//! through the REST API, one search at a time, with one- and two-word queries of mixed frequency
//! and prefixes of the word being typed.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait, Value,
};
use serde::Serialize;

use super::search_words::{Kind, Vocabulary, content, query};
use super::{Env, progress};
use crate::cli::SearchArgs;
use crate::stats::LatencySummary;

/// Searches run before the measured ones (connections and caches warm up).
const WARM_UP: usize = 20;
/// Messages written in one transaction.
const ROWS_PER_TRANSACTION: usize = 20_000;

/// What a search run measured.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// `postgres` or `sqlite`.
    pub database: String,
    /// Messages stored.
    pub messages: u64,
    /// Conversations they are spread over.
    pub conversations: usize,
    /// Conversations the searcher is a member of.
    pub member_of: usize,
    /// Seconds the data set took to write (indexing included).
    pub load_s: f64,
    /// Seconds of `ANALYZE` (and `VACUUM` on PostgreSQL) after writing.
    pub analyze_s: f64,
    /// Every measured search.
    pub all: LatencySummary,
    /// Searches for one whole word (of a frequency drawn from rare to very common) and a prefix.
    pub one_word: LatencySummary,
    /// Searches for two words, the second a prefix.
    pub two_words: LatencySummary,
    /// Searches for the first letters of a word (3 or more), sometimes after a whole word.
    pub prefix: LatencySummary,
    /// Average results on the first page.
    pub mean_results: f64,
    /// Share of searches that found something.
    pub found_share: f64,
}

/// A statement with `?n` or `$n` placeholders for `values`, numbered in order.
struct Batch {
    backend: DbBackend,
    sql: String,
    values: Vec<Value>,
}

impl Batch {
    fn new(backend: DbBackend, head: &str) -> Batch {
        Batch {
            backend,
            sql: head.to_owned(),
            values: Vec::new(),
        }
    }

    /// Appends one row of values, `(v1, v2, ...)`, comma-separated from the previous one.
    fn row(&mut self, row: Vec<Value>) {
        if !self.values.is_empty() {
            self.sql.push_str(", ");
        }
        self.sql.push('(');
        for (i, value) in row.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.values.push(value);
            let n = self.values.len();
            match self.backend {
                DbBackend::Postgres => self.sql.push_str(&format!("${n}")),
                _ => self.sql.push_str(&format!("?{n}")),
            }
        }
        self.sql.push(')');
    }

    fn statement(self, tail: &str) -> Statement {
        Statement::from_sql_and_values(self.backend, self.sql + tail, self.values)
    }
}

/// Inserts rows in statements of `per_statement` rows; returns the ids of `RETURNING id`.
async fn insert_returning(
    db: &impl ConnectionTrait,
    head: &str,
    rows: impl Iterator<Item = Vec<Value>>,
    per_statement: usize,
) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    let rows: Vec<Vec<Value>> = rows.collect();
    for chunk in rows.chunks(per_statement) {
        let mut batch = Batch::new(db.get_database_backend(), head);
        for row in chunk {
            batch.row(row.clone());
        }
        for row in db.query_all_raw(batch.statement(" RETURNING id")).await? {
            ids.push(row.try_get_by_index::<i64>(0)?);
        }
    }
    Ok(ids)
}

/// Writes the data set; the searcher joins `member_of` groups spread over all of them.
async fn load(
    db: &DatabaseConnection,
    args: &SearchArgs,
    run_id: &str,
    searcher: i64,
    vocabulary: &Vocabulary,
    rng: &mut StdRng,
) -> Result<()> {
    let existing: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM messages",
        ))
        .await?
        .map(|r| r.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    if existing > 0 {
        bail!("the database already holds {existing} messages: search needs a fresh one");
    }
    let now = chrono::Utc::now();
    let start = now - chrono::Duration::seconds(args.messages as i64);
    let users = insert_returning(
        db,
        "INSERT INTO users (username, username_key, email, password_hash, status, created_at) VALUES ",
        (0..args.users).map(|i| {
            let name = format!("sb{run_id}_{i}");
            vec![
                name.clone().into(),
                name.clone().into(),
                format!("{name}@bench.example.com").into(),
                "".into(),
                "offline".into(),
                start.into(),
            ]
        }),
        500,
    )
    .await
    .context("users")?;
    let per_conversation = (args.messages / args.conversations as u64).max(1) as i64;
    let conversations = insert_returning(
        db,
        "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, \
         last_rev, last_message_at) VALUES ",
        (0..args.conversations).map(|c| {
            vec![
                "group".into(),
                format!("bench {c}").into(),
                false.into(),
                users[c % users.len()].into(),
                start.into(),
                per_conversation.into(),
                per_conversation.into(),
                now.into(),
            ]
        }),
        500,
    )
    .await
    .context("conversations")?;
    // Four members each (the first the creator), and the searcher in every n-th.
    let every = (args.conversations / args.member_of.max(1)).max(1);
    let mut members: Vec<Vec<i64>> = Vec::with_capacity(conversations.len());
    let mut rows = Vec::new();
    for (c, &id) in conversations.iter().enumerate() {
        let mut seats: Vec<i64> = (0..4).map(|k| users[(c + k * 101) % users.len()]).collect();
        seats.dedup();
        if c % every == every / 2 && c / every < args.member_of {
            seats.push(searcher);
        }
        for &user in &seats {
            rows.push(vec![
                id.into(),
                user.into(),
                start.into(),
                0i64.into(),
                0i64.into(),
            ]);
        }
        members.push(seats);
    }
    for chunk in rows.chunks(1000) {
        let mut batch = Batch::new(
            db.get_database_backend(),
            "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, \
             last_delivered_seq) VALUES ",
        );
        for row in chunk {
            batch.row(row.clone());
        }
        db.execute_raw(batch.statement(""))
            .await
            .context("members")?;
    }
    // Conversation by conversation in turn, so every conversation has old and new messages.
    let total = args.messages;
    let rounds_of = conversations.len() as u64;
    let mut written = 0u64;
    let started = Instant::now();
    while written < total {
        let txn = db.begin().await?;
        let end = (written + ROWS_PER_TRANSACTION as u64).min(total);
        while written < end {
            let mut batch = Batch::new(
                db.get_database_backend(),
                "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, \
                 created_at) VALUES ",
            );
            let stop = (written + args.batch as u64).min(end);
            for i in written..stop {
                let c = (i % rounds_of) as usize;
                let seq = (i / rounds_of) as i64 + 1;
                let sender = members[c][rng.random_range(0..members[c].len())];
                batch.row(vec![
                    conversations[c].into(),
                    seq.into(),
                    seq.into(),
                    sender.into(),
                    content(vocabulary, rng).into(),
                    "text".into(),
                    (start + chrono::Duration::seconds(i as i64)).into(),
                ]);
            }
            txn.execute_raw(batch.statement(""))
                .await
                .context("messages")?;
            written = stop;
        }
        txn.commit().await?;
        if written.is_multiple_of(100_000) || written == total {
            progress(format!(
                "{written} messages written ({:.0} s)",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    Ok(())
}

/// Loads the data set into the database at `database_url` (the server's), then measures
/// `args.searches` searches through the REST API.
pub async fn search(
    env: &Env,
    args: &SearchArgs,
    database_url: &str,
) -> Result<(SearchResults, String)> {
    let api = env.instances.api(0);
    let searcher = api
        .register(
            &format!("sb{}_searcher", env.run_id),
            super::setup::PASSWORD,
        )
        .await?;
    let mut options = ConnectOptions::new(database_url.to_owned());
    options
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(60))
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .context("connecting to the server's database (--database-url)")?;
    let backend = db.get_database_backend();
    let database = if backend == DbBackend::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    let mut rng = StdRng::seed_from_u64(args.seed);
    let vocabulary = Vocabulary::new(args.vocabulary);
    progress(format!(
        "writing {} messages in {} conversations ({database})",
        args.messages, args.conversations
    ));
    let started = Instant::now();
    load(&db, args, &env.run_id, searcher.id, &vocabulary, &mut rng).await?;
    let load_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    // What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would have done by then: fresh
    // statistics, and the GIN index's pending entries merged.
    let upkeep: &[&str] = if backend == DbBackend::Postgres {
        &["VACUUM ANALYZE"]
    } else {
        &["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"]
    };
    for statement in upkeep {
        db.execute_unprepared(statement).await?;
    }
    let analyze_s = started.elapsed().as_secs_f64();
    db.close().await?;
    progress(format!(
        "written in {load_s:.0} s, analyzed in {analyze_s:.0} s; {} searches",
        args.searches
    ));

    let kinds = [Kind::OneWord, Kind::TwoWords, Kind::Prefix];
    let mut samples: [Vec<u32>; 3] = Default::default();
    let (mut results, mut found) = (0usize, 0usize);
    for i in 0..WARM_UP + args.searches {
        let kind = kinds[i % kinds.len()];
        let text = query(kind, &vocabulary, &mut rng);
        let sent = Instant::now();
        let count = api.search_messages(&searcher.token, &text).await?;
        let took = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
        if i >= WARM_UP {
            samples[i % kinds.len()].push(took);
            results += count;
            found += usize::from(count > 0);
        }
    }
    let mut all: Vec<u32> = samples.iter().flatten().copied().collect();
    let [mut one, mut two, mut prefix] = samples;
    let measured = args.searches.max(1) as f64;
    let results = SearchResults {
        database: database.to_owned(),
        messages: args.messages,
        conversations: args.conversations,
        member_of: args.member_of,
        load_s: (load_s * 10.0).round() / 10.0,
        analyze_s: (analyze_s * 10.0).round() / 10.0,
        all: LatencySummary::from_us(&mut all),
        one_word: LatencySummary::from_us(&mut one),
        two_words: LatencySummary::from_us(&mut two),
        prefix: LatencySummary::from_us(&mut prefix),
        mean_results: ((results as f64 / measured) * 10.0).round() / 10.0,
        found_share: ((found as f64 / measured) * 1000.0).round() / 1000.0,
    };
    let summary = format!(
        "search {database}: {} messages in {} conversations written in {:.0} s; {} searches by a \
         member of {}: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (p95 one word {:.1}, two words \
         {:.1}, prefix {:.1}); {:.0}% found something, {:.1} results on average",
        results.messages,
        results.conversations,
        results.load_s,
        results.all.count,
        results.member_of,
        results.all.p50_ms,
        results.all.p95_ms,
        results.all.p99_ms,
        results.one_word.p95_ms,
        results.two_words.p95_ms,
        results.prefix.p95_ms,
        results.found_share * 100.0,
        results.mean_results,
    );
    Ok((results, summary))
}
