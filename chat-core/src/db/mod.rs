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

/// Adjusts `options` for chat-core. On PostgreSQL over TCP, each new pooled
/// connection gets `TCP_NODELAY` (see the `nodelay` module for why and until
/// when); SQLite options are left as they are.
///
/// It installs sqlx's per-connection `after_connect` hook, which replaces one
/// set earlier by the caller through `map_sqlx_postgres_pool_opts`.
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
        pool.after_connect(|conn, _meta| Box::pin(nodelay::after_connect(conn)))
    })
}
