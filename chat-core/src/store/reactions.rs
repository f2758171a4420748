//! Reactions (`message_reactions`): one row per user, emoji and message; the
//! counts are kept on the message itself so every read of it carries them.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use super::sql;
use crate::ids::{MessageId, UserId};
use crate::model::ReactionCount;

/// Adds a reaction; whether it is new (the same one again changes nothing).
pub(crate) async fn add<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    user_id: UserId,
    emoji: &str,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("INSERT INTO message_reactions (message_id, emoji, user_id, created_at) VALUES (")
        .bind(message_id)
        .push(", ")
        .bind(emoji)
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(at)
        .push(") ON CONFLICT DO NOTHING");
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}

/// Removes a reaction; whether there was one.
pub(crate) async fn remove<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    user_id: UserId,
    emoji: &str,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM message_reactions WHERE message_id = ")
        .bind(message_id)
        .push(" AND emoji = ")
        .bind(emoji)
        .push(" AND user_id = ")
        .bind(user_id);
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
}

/// The message's reactions, `{emoji, count}` in order of first use.
pub(crate) async fn counts<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
) -> Result<Vec<ReactionCount>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT emoji, COUNT(*) AS n FROM message_reactions WHERE message_id = ")
        .bind(message_id)
        .push(" GROUP BY emoji ORDER BY MIN(created_at), emoji");
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter()
        .map(|row| {
            Ok(ReactionCount {
                emoji: row.try_get("", "emoji")?,
                count: row.try_get("", "n")?,
            })
        })
        .collect()
}

/// Stores the counts on the message with the revision of the change.
pub(crate) async fn store_counts<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    counts: &[ReactionCount],
    rev: i64,
) -> Result<(), DbErr> {
    let text = (!counts.is_empty()).then(|| serde_json::to_string(counts).unwrap_or_default());
    let mut q = sql(conn);
    q.push("UPDATE messages SET reactions = ")
        .bind(text)
        .push(", rev = ")
        .bind(rev)
        .push(" WHERE id = ")
        .bind(message_id);
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// The emoji `user_id` reacted with on each of `message_ids`, in order of use.
pub(crate) async fn mine<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    message_ids: &[MessageId],
) -> Result<HashMap<MessageId, Vec<String>>, DbErr> {
    let mut mine: HashMap<MessageId, Vec<String>> = HashMap::new();
    for chunk in message_ids.chunks(500) {
        let mut q = sql(conn);
        q.push("SELECT message_id, emoji FROM message_reactions WHERE user_id = ")
            .bind(user_id)
            .push(" AND message_id IN (")
            .bind_list(chunk.iter().copied())
            .push(") ORDER BY created_at, emoji");
        for row in conn.query_all_raw(q.build()).await? {
            let message_id: MessageId = row.try_get("", "message_id")?;
            mine.entry(message_id)
                .or_default()
                .push(row.try_get("", "emoji")?);
        }
    }
    Ok(mine)
}
