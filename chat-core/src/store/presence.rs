//! SQL of presence: the stored `status` and `last_seen` of users, and who
//! shares a conversation small enough to hear about a user's presence. The
//! statements are the same on PostgreSQL and SQLite.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::db::Sql;
use crate::ids::{ConversationId, UserId};

/// Most users one status update names (its parameter count stays far below
/// both databases' limits).
pub(crate) const MAX_USERS_PER_UPDATE: usize = 500;

/// Stores `online` for `users` (at most [`MAX_USERS_PER_UPDATE`]).
pub(crate) async fn set_online<C: ConnectionTrait>(
    conn: &C,
    users: &[UserId],
) -> Result<(), DbErr> {
    if users.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE users SET status = 'online' WHERE id IN (")
        .bind_list(users.iter().copied())
        .push(")");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// Stores `offline` and `last_seen = at` for `users` (at most
/// [`MAX_USERS_PER_UPDATE`]).
pub(crate) async fn set_offline<C: ConnectionTrait>(
    conn: &C,
    users: &[UserId],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if users.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE users SET status = 'offline', last_seen = ")
        .bind(at)
        .push(" WHERE id IN (")
        .bind_list(users.iter().copied())
        .push(")");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// Stores `offline` for every user stored as `online` (`last_seen` is left
/// as it was).
pub(crate) async fn set_everyone_offline<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("UPDATE users SET status = 'offline' WHERE status = ")
        .bind("online");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// The conversations of `user_id` whose members hear about the user's
/// presence: direct ones, and groups of at most `fanout_limit` members.
pub(crate) async fn presence_conversations<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    fanout_limit: i64,
) -> Result<Vec<ConversationId>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "SELECT me.conversation_id FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         WHERE me.user_id = ",
    )
    .bind(user_id)
    .push(
        " AND (c.type = 'direct' OR \
         (SELECT COUNT(*) FROM conversation_members x WHERE x.conversation_id = c.id) <= ",
    )
    .bind(fanout_limit)
    .push(")");
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// Which of `others` share with `viewer` a direct conversation or a group of
/// at most `fanout_limit` members (each once, in no particular order).
pub(crate) async fn sharing_small_conversations<C: ConnectionTrait>(
    conn: &C,
    viewer: UserId,
    others: &[UserId],
    fanout_limit: i64,
) -> Result<Vec<UserId>, DbErr> {
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "SELECT DISTINCT other.user_id FROM conversation_members me \
         JOIN conversation_members other ON other.conversation_id = me.conversation_id \
         JOIN conversations c ON c.id = me.conversation_id \
         WHERE me.user_id = ",
    )
    .bind(viewer)
    .push(" AND other.user_id IN (")
    .bind_list(others.iter().copied())
    .push(
        ") AND (c.type = 'direct' OR \
         (SELECT COUNT(*) FROM conversation_members x WHERE x.conversation_id = c.id) <= ",
    )
    .bind(fanout_limit)
    .push(")");
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter()
        .map(|r| r.try_get::<UserId>("", "user_id"))
        .collect()
}

/// The groups (public rooms included) any of `users` is a member of, each
/// once, in no particular order: the conversations whose online count a
/// batch of presence changes may have changed. At most
/// [`MAX_USERS_PER_UPDATE`] users per call.
pub(crate) async fn groups_of<C: ConnectionTrait>(
    conn: &C,
    users: &[UserId],
) -> Result<Vec<ConversationId>, DbErr> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push(
        "SELECT DISTINCT me.conversation_id FROM conversation_members me \
         JOIN conversations c ON c.id = me.conversation_id \
         WHERE c.type = 'group' AND me.user_id IN (",
    )
    .bind_list(users.iter().copied())
    .push(")");
    let rows = conn.query_all_raw(sql.build()).await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}
