//! The store: every SQL statement chat-core runs and the mapping of its rows,
//! one module per table group. Nothing above this layer writes SQL.
//!
//! Functions take any [`ConnectionTrait`](sea_orm::ConnectionTrait) (a pool
//! or a transaction), return sea-orm's [`DbErr`], and hold no rules: who may
//! do what is decided in [`service`](crate::service), batching and ordering of
//! message writes in the writer. Statements are built with
//! [`Sql`](crate::db::Sql); where PostgreSQL and SQLite need different SQL,
//! both versions sit side by side in the same function.
//!
//! - [`messages`]: message rows and history pages.
//! - [`message_batches`]: the statements of the writer's batches.
//! - [`conversations`]: conversation rows, the conversation list, public rooms.
//! - [`members`]: memberships, member lists.
//! - [`message_changes`]: edits, deletes and the revisions they take.
//! - [`reactions`]: reactions and who reacted.
//! - [`receipts`]: read and delivery pointers.
//! - [`users`]: user rows and user search.
//! - [`sessions`]: ended login sessions.
//! - [`uploads`]: who uploaded a file.
//! - [`presence`]: online status, and who may see it.
//! - [`search`]: full-text search of messages (PostgreSQL `tsvector`, SQLite FTS5).
//! - [`blocks`]: who blocked whom.
//! - [`push`]: Web Push subscriptions and the outbox of notifications.

pub(crate) mod blocks;
pub(crate) mod conversations;
pub(crate) mod members;
pub(crate) mod message_batches;
pub(crate) mod message_changes;
pub(crate) mod messages;
pub(crate) mod presence;
pub(crate) mod push;
pub(crate) mod reactions;
pub(crate) mod receipts;
pub(crate) mod search;
pub(crate) mod sessions;
pub(crate) mod uploads;
pub(crate) mod users;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{ConnectionTrait, DbErr, SqlErr};

use crate::db::Sql;

/// Current time at the precision both databases store (microseconds), so the
/// value acked to a client equals the one read back from history.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Whether the error is a unique-constraint violation (a duplicate the caller
/// turns into its own answer: an existing row, a conflict).
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Runs `sql` and returns the single (id) column of every row.
pub(crate) async fn ids<C: ConnectionTrait, T: sea_orm::TryGetable>(
    conn: &C,
    mut sql: Sql,
) -> Result<Vec<T>, DbErr> {
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter().map(|r| r.try_get_by_index::<T>(0)).collect()
}

/// A new statement for `conn`'s backend.
pub(crate) fn sql<C: ConnectionTrait>(conn: &C) -> Sql {
    Sql::new(conn.get_database_backend())
}

#[cfg(test)]
pub(crate) mod seed;
#[cfg(test)]
mod tests;
