//! Statements that change stored messages (edits, deletes) and hand out
//! the conversation's next revision for each change.
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::messages::{MESSAGE_COLUMNS, MESSAGE_JOINS, message_from_row};
use super::sql;
use crate::db::Sql;
use crate::ids::{ConversationId, MessageId};
use crate::model::Message;

/// A message with its sender, by id.
pub(crate) async fn by_id<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
) -> Result<Option<Message>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT ")
        .push(MESSAGE_COLUMNS)
        .push(" FROM messages m")
        .push(MESSAGE_JOINS)
        .push(" WHERE m.id = ")
        .bind(message_id);
    match conn.query_one_raw(q.build()).await? {
        Some(row) => Ok(Some(message_from_row(&row, "")?)),
        None => Ok(None),
    }
}

/// Takes the conversation's next revision, locking its row until the
/// transaction ends (the lock sends take too, so revisions follow commit
/// order); `None` when the conversation does not exist.
pub(crate) async fn take_rev<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
) -> Result<Option<i64>, DbErr> {
    let mut q = sql(conn);
    q.push("UPDATE conversations SET last_rev = last_rev + 1 WHERE id = ")
        .bind(conversation_id)
        .push(" RETURNING last_rev");
    match conn.query_one_raw(q.build()).await? {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Replaces a message's content unless it is deleted; whether it did.
pub(crate) async fn set_content<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    content: &str,
    at: DateTime<Utc>,
    rev: i64,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("UPDATE messages SET content = ")
        .bind(content)
        .push(", edited_at = ")
        .bind(at)
        .push(", rev = ")
        .bind(rev)
        .push(" WHERE id = ")
        .bind(message_id)
        .push(" AND deleted_at IS NULL");
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}

/// Turns a message into a tombstone: the content and file reference are
/// overwritten in the row (not only hidden), the rest stays; whether it did
/// (an already deleted message is left alone).
pub(crate) async fn erase<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    at: DateTime<Utc>,
    rev: i64,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push(
        "UPDATE messages SET content = '', file_url = NULL, attachment = NULL, call_info = NULL, mentions = NULL, reactions = NULL, \
         deleted_at = ",
    )
    .bind(at)
    .push(", rev = ")
    .bind(rev)
    .push(" WHERE id = ")
    .bind(message_id)
    .push(" AND deleted_at IS NULL");
    if conn.execute_raw(q.build()).await?.rows_affected() != 1 {
        return Ok(false);
    }
    // Its mentions no longer count as unread mentions.
    let mut q = sql(conn);
    q.push("DELETE FROM message_mentions WHERE (conversation_id, seq) IN (SELECT conversation_id, seq FROM messages WHERE id = ")
        .bind(message_id)
        .push(")");
    conn.execute_raw(q.build()).await?;
    let mut q = sql(conn);
    q.push("DELETE FROM message_reactions WHERE message_id = ")
        .bind(message_id);
    conn.execute_raw(q.build()).await?;
    Ok(true)
}

/// SQLite: folds the write-ahead log into the database file and empties it,
/// so the earlier versions of a deleted message's page are no longer in any
/// file (with `secure_delete` on, the page itself holds no trace of it).
/// Nothing to do on PostgreSQL.
pub(crate) async fn fold_log<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    if conn.get_database_backend() == sea_orm::DbBackend::Sqlite {
        conn.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(())
}

/// Up to `fetch` replies to `parent` with an id greater than `after`, oldest
/// first.
pub(crate) async fn replies<C: ConnectionTrait>(
    conn: &C,
    parent: MessageId,
    after: i64,
    fetch: u64,
) -> Result<Vec<Message>, DbErr> {
    let mut q = sql(conn);
    push_replies(&mut q, parent, after, fetch);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(|row| message_from_row(row, "")).collect()
}

/// Appends the replies query (read through the partial index on
/// `reply_to_id`, which holds only replies).
pub(crate) fn push_replies(q: &mut Sql, parent: MessageId, after: i64, fetch: u64) {
    q.push("SELECT ")
        .push(MESSAGE_COLUMNS)
        .push(" FROM messages m")
        .push(MESSAGE_JOINS)
        .push(" WHERE m.reply_to_id = ")
        .bind(parent)
        .push(" AND m.id > ")
        .bind(after)
        .push(" ORDER BY m.id ASC LIMIT ")
        .bind(fetch as i64);
}
