//! The database side chat-core shares with its host: connection settings the
//! pool needs for chat traffic ([`tune_connect_options`]) and the statement
//! builder every hand-written query goes through ([`Sql`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), sea_orm::DbErr> {
//! let mut options = sea_orm::ConnectOptions::new("postgres://chat@127.0.0.1/chat");
//! chat_core::db::tune_connect_options(&mut options);
//! let db = sea_orm::Database::connect(options).await?;
//! # let _ = db; Ok(()) }
//! ```

mod nodelay;
mod sql;

use sea_orm::ConnectOptions;

pub use sql::Sql;

/// Adjusts `options` for chat-core. On PostgreSQL, each new pooled connection
/// runs without JIT compilation (`jit = off`: chat statements are short, and
/// compiling one costs more than it saves) and,
/// over TCP, gets `TCP_NODELAY` (see the `nodelay` module for why and until
/// when); SQLite options are left as they are.
///
/// It installs sqlx's per-connection `after_connect` hook, which replaces one
/// set earlier by the caller through `map_sqlx_postgres_pool_opts`. Behind a
/// pooler in transaction mode a session setting does not stick: set
/// `jit = off` on the database or role there instead.
///
/// ```
/// let mut options = sea_orm::ConnectOptions::new("postgres://chat@127.0.0.1/chat");
/// chat_core::db::tune_connect_options(&mut options).max_connections(32);
/// assert_eq!(options.get_max_connections(), Some(32));
/// ```
pub fn tune_connect_options(options: &mut ConnectOptions) -> &mut ConnectOptions {
    if !options.get_url().starts_with("postgres") {
        return options;
    }
    options.map_sqlx_postgres_pool_opts(|pool| {
        pool.after_connect(|conn, _meta| {
            Box::pin(async move {
                sea_orm::sqlx::raw_sql(SESSION_SETTINGS)
                    .execute(&mut *conn)
                    .await?;
                nodelay::after_connect(conn).await
            })
        })
    })
}

/// What each pooled PostgreSQL session sets before its first statement.
///
/// JIT compilation pays off for long analytic queries; chat statements run in
/// a millisecond or less, and compiling one costs 5-40 ms of CPU. PostgreSQL
/// compiles whenever a plan's estimated cost passes `jit_above_cost`, and
/// estimates grow with the tables, or jump while their statistics lag behind:
/// the presence lookup of a connecting user measured 4-38 ms with JIT and
/// 0.2-0.5 ms without, once `conversation_members` held 44,000 unanalyzed rows
/// (docs/performance.md, *The planner's cost and JIT*).
const SESSION_SETTINGS: &str = "SET jit = off";

#[cfg(test)]
mod tests {
    use sea_orm::ConnectOptions;

    use super::tune_connect_options;
    use crate::testing::TestDb;

    async fn jit_of(options: ConnectOptions) -> Vec<String> {
        let db = sea_orm::Database::connect(options).await.expect("connect");
        let pool = db.get_postgres_connection_pool();
        let mut held = Vec::new();
        for _ in 0..2 {
            held.push(pool.acquire().await.expect("acquire"));
        }
        let mut settings = Vec::new();
        for conn in &mut held {
            let (jit,): (String,) = sea_orm::sqlx::query_as("SHOW jit")
                .fetch_one(&mut **conn)
                .await
                .expect("SHOW jit");
            settings.push(jit);
        }
        settings
    }

    /// Every pooled session runs without JIT, whatever the server's default
    /// (on, unless configured otherwise, as on the test server).
    #[tokio::test]
    async fn postgres_sessions_run_without_jit() {
        let Some(test_db) = TestDb::postgres().await else {
            return;
        };
        let plain = || {
            let mut options = ConnectOptions::new(test_db.url.clone());
            options
                .min_connections(2)
                .max_connections(2)
                .sqlx_logging(false);
            options
        };
        let default = jit_of(plain()).await;
        let mut tuned = plain();
        tune_connect_options(&mut tuned);
        assert_eq!(
            jit_of(tuned).await,
            ["off", "off"],
            "server default: {default:?}"
        );
    }
}
