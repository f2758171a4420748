//! Test support: a database that exists for one test. Enabled by the
//! `test-support` feature; used by this crate's tests and by hosts' tests.
//!
//! With `TEST_POSTGRES_URL` (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) each [`TestDb`] is a freshly
//! created PostgreSQL database, dropped afterwards; otherwise a SQLite file in a
//! temporary directory.
//!
//! ```
//! use chat_core::testing::TestDb;
//! use migration::{Migrator, MigratorTrait};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sea_orm::DbErr> {
//! let test_db = TestDb::new().await;
//! let db = sea_orm::Database::connect(&test_db.url).await?;
//! Migrator::up(&db, None).await?;
//! let (_layer, chat) = chat_core::ChatCore::builder(db).build();
//! // ... exercise `chat`; the database is dropped with `test_db`.
//! # let _ = chat; Ok(()) }
//! ```

use sea_orm::ConnectionTrait;

/// A database that exists for one test; dropping it deletes the database.
/// Keep it alive as long as connections to it are in use.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let test_db = chat_core::testing::TestDb::new().await;
/// assert!(test_db.url.starts_with("sqlite://") || test_db.url.starts_with("postgres"));
/// # }
/// ```
pub struct TestDb {
    /// Connection URL.
    pub url: String,
    /// Temporary directory (holds the SQLite file; usable as a data directory).
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// Creates the database (empty: run migrations on it). Panics when
    /// `TEST_POSTGRES_URL` is set but PostgreSQL cannot be reached.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sea_orm::DbErr> {
    /// use chat_core::testing::TestDb;
    ///
    /// let (a, b) = (TestDb::new().await, TestDb::new().await);
    /// assert_ne!(a.url, b.url); // tests never share data
    /// # Ok(()) }
    /// ```
    pub async fn new() -> TestDb {
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => TestDb::create_postgres(&admin)
                .await
                .expect("TEST_POSTGRES_URL must reach PostgreSQL"),
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDb {
                    url: format!("sqlite://{}?mode=rwc", dir.path().join("chat.db").display()),
                    dir,
                    postgres: None,
                }
            }
        }
    }

    /// A PostgreSQL database, whichever database the test run targets, for
    /// tests of PostgreSQL-only behaviour (query plans, socket options).
    ///
    /// Uses `TEST_POSTGRES_URL`, else the local default
    /// `postgres://postgres@127.0.0.1:5432/postgres`. When PostgreSQL cannot be
    /// reached the test is skipped (`None`, with a note on stderr), except
    /// under `CI=true`, where it fails: a CI run never passes by skipping.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let Some(test_db) = chat_core::testing::TestDb::postgres().await else { return };
    /// assert!(test_db.is_postgres());
    /// # }
    /// ```
    pub async fn postgres() -> Option<TestDb> {
        let admin = std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        match TestDb::create_postgres(&admin).await {
            Ok(test_db) => Some(test_db),
            Err(err) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("this test needs PostgreSQL, which is unreachable under CI=true: {err}")
            }
            Err(err) => {
                eprintln!("skipped: this test needs PostgreSQL ({err})");
                None
            }
        }
    }

    async fn create_postgres(admin: &str) -> Result<TestDb, sea_orm::DbErr> {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("chat_test_{}", rand_suffix());
        let conn = sea_orm::Database::connect(admin).await?;
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Ok(TestDb {
            url: format!("{base}/{name}"),
            dir,
            postgres: Some((admin.to_owned(), name)),
        })
    }

    /// Whether this is a PostgreSQL database, for tests of backend-specific
    /// behaviour.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let test_db = chat_core::testing::TestDb::new().await;
    /// if !test_db.is_postgres() {
    ///     println!("SQLite at {}", test_db.dir.path().display());
    /// }
    /// # }
    /// ```
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            // Drop runs outside async context: use a private runtime on a thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok(conn) = sea_orm::Database::connect(&admin).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            let _ = conn.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A random hex suffix for unique names (16 hex digits), e.g. of test users.
///
/// ```
/// let username = format!("u{}", chat_core::testing::rand_suffix());
/// assert_eq!(username.len(), 17);
/// ```
pub fn rand_suffix() -> String {
    use rand::RngCore;
    format!("{:016x}", rand::rng().next_u64())
}

/// The planner's explain command for `backend`, to put before a statement:
/// `EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite.
pub fn explain(backend: sea_orm::DbBackend) -> &'static str {
    if backend == sea_orm::DbBackend::Postgres {
        "EXPLAIN "
    } else {
        "EXPLAIN QUERY PLAN "
    }
}

/// Runs an explain `statement` (see [`explain`]) and returns the plan, one
/// line per plan node: what tests read to check that a query uses an index.
///
/// ```no_run
/// # async fn demo(db: &sea_orm::DatabaseConnection) {
/// use sea_orm::ConnectionTrait;
/// let backend = db.get_database_backend();
/// let mut q = chat_core::db::Sql::new(backend);
/// q.push(chat_core::testing::explain(backend))
///     .push("SELECT id FROM messages WHERE id = ")
///     .bind(7i64);
/// let plan = chat_core::testing::plan_of(db, q.build()).await;
/// assert!(!plan.is_empty());
/// # }
/// ```
pub async fn plan_of<C: ConnectionTrait>(db: &C, statement: sea_orm::Statement) -> String {
    let rows = db.query_all_raw(statement).await.expect("explain");
    rows.iter()
        .map(|r| {
            // PostgreSQL's one column, or SQLite's `detail` (the fourth).
            r.try_get_by_index::<String>(0)
                .or_else(|_| r.try_get_by_index::<String>(3))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
