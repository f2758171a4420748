//! Blocks (`user_blocks`): which user blocked which. The statements are the
//! same on PostgreSQL and SQLite.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::sql;
use super::users::user_from_row;
use crate::db::Sql;
use crate::ids::UserId;
use crate::model::User;

/// Stores that `blocker` blocked `blocked`, unless `blocker` already blocked
/// `limit` users; whether a row was added (not when it existed, nor over the
/// limit). The count and the insert are one statement, so concurrent blocks
/// overshoot the limit at most by those committing at the same moment.
pub(crate) async fn insert_within<C: ConnectionTrait>(
    conn: &C,
    blocker: UserId,
    blocked: UserId,
    at: DateTime<Utc>,
    limit: usize,
) -> Result<bool, DbErr> {
    // `WHERE` before `ON CONFLICT` keeps SQLite from reading it as a join.
    let mut q = sql(conn);
    q.push("INSERT INTO user_blocks (blocker_id, blocked_id, created_at) SELECT ")
        .bind(blocker)
        .push(", ")
        .bind(blocked)
        .push(", ")
        .bind(at)
        .push(" WHERE (SELECT COUNT(*) FROM user_blocks WHERE blocker_id = ")
        .bind(blocker)
        .push(") < ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .push(" ON CONFLICT DO NOTHING");
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}

/// Whether `blocker` blocked `blocked`, as the database says now.
pub(crate) async fn exists<C: ConnectionTrait>(
    conn: &C,
    blocker: UserId,
    blocked: UserId,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT 1 FROM user_blocks WHERE blocker_id = ")
        .bind(blocker)
        .push(" AND blocked_id = ")
        .bind(blocked);
    Ok(conn.query_one_raw(q.build()).await?.is_some())
}

/// Removes the block; whether there was one.
pub(crate) async fn delete<C: ConnectionTrait>(
    conn: &C,
    blocker: UserId,
    blocked: UserId,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM user_blocks WHERE blocker_id = ")
        .bind(blocker)
        .push(" AND blocked_id = ")
        .bind(blocked);
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}

/// Most users [`involving`] takes at once (each is bound twice).
pub(crate) const MAX_USERS_PER_QUERY: usize = 250;

/// Every block on either side of one of `users` (at most
/// [`MAX_USERS_PER_QUERY`]), as (blocker, blocked); a block between two of
/// them may come twice. One query; each half is read from its own index.
pub(crate) async fn involving<C: ConnectionTrait>(
    conn: &C,
    users: &[UserId],
) -> Result<Vec<(UserId, UserId)>, DbErr> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sql(conn);
    push_involving(&mut q, users);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("", "blocker_id")?,
                row.try_get("", "blocked_id")?,
            ))
        })
        .collect()
}

/// Appends the query of [`involving`] (separate so its plan can be checked).
pub(crate) fn push_involving(q: &mut Sql, users: &[UserId]) {
    q.push("SELECT blocker_id, blocked_id FROM user_blocks WHERE blocker_id IN (")
        .bind_list(users.iter().copied())
        .push(") UNION ALL SELECT blocker_id, blocked_id FROM user_blocks WHERE blocked_id IN (")
        .bind_list(users.iter().copied())
        .push(")");
}

/// The users `blocker` blocked, the latest block first.
pub(crate) async fn blocked_users<C: ConnectionTrait>(
    conn: &C,
    blocker: UserId,
) -> Result<Vec<User>, DbErr> {
    let mut q = sql(conn);
    q.push(
        "SELECT u.id, u.username, u.display_name, u.bio, u.avatar_url, u.status, u.last_seen \
         FROM user_blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = ",
    )
    .bind(blocker)
    .push(" ORDER BY b.created_at DESC, b.blocked_id DESC");
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(user_from_row).collect()
}
