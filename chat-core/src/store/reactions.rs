//! Reactions (`message_reactions`): one row per user, emoji and message; the
//! counts are kept on the message itself so every read of it carries them.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::sql;
use crate::db::Sql;
use crate::ids::{MessageId, UserId};
use crate::model::{MessageSender, ReactionCount, ReactionUsers};

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

/// The message's reactions, `{emoji, count}` in order of first use: those
/// stored on the message keep their place, a new emoji comes last. Read under
/// the conversation's revision lock, the stored order is that of the
/// revisions (reaction times are taken before the lock and may disagree).
pub(crate) async fn counts<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
) -> Result<Vec<ReactionCount>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT reactions FROM messages WHERE id = ")
        .bind(message_id);
    let stored: Vec<ReactionCount> = match conn.query_one_raw(q.build()).await? {
        Some(row) => row
            .try_get::<Option<String>>("", "reactions")?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut q = sql(conn);
    q.push("SELECT emoji, COUNT(*) AS n FROM message_reactions WHERE message_id = ")
        .bind(message_id)
        .push(" GROUP BY emoji ORDER BY MIN(created_at), emoji");
    let mut counts = conn
        .query_all_raw(q.build())
        .await?
        .iter()
        .map(|row| {
            Ok(ReactionCount {
                emoji: row.try_get("", "emoji")?,
                count: row.try_get("", "n")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    // Stable: emoji not stored yet keep their time order after the others.
    counts.sort_by_key(|c| {
        stored
            .iter()
            .position(|s| s.emoji == c.emoji)
            .unwrap_or(usize::MAX)
    });
    Ok(counts)
}

/// Stores the counts on the message with the revision of the change;
/// whether it did (a message deleted meanwhile is left alone).
pub(crate) async fn store_counts<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    counts: &[ReactionCount],
    rev: i64,
) -> Result<bool, DbErr> {
    let text = (!counts.is_empty()).then(|| serde_json::to_string(counts).unwrap_or_default());
    let mut q = sql(conn);
    q.push("UPDATE messages SET reactions = ")
        .bind(text)
        .push(", rev = ")
        .bind(rev)
        .push(" WHERE id = ")
        .bind(message_id)
        .push(" AND deleted_at IS NULL");
    Ok(conn.execute_raw(q.build()).await?.rows_affected() == 1)
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

/// The message's reactions in order of first use, each with its full count
/// and its first `per_emoji` users in the order they reacted; one statement,
/// so counts and users are of one moment.
pub(crate) async fn reactors<C: ConnectionTrait>(
    conn: &C,
    message_id: MessageId,
    per_emoji: u64,
) -> Result<Vec<ReactionUsers>, DbErr> {
    let mut q = sql(conn);
    push_reactors(&mut q, message_id, per_emoji);
    let mut reactions: Vec<ReactionUsers> = Vec::new();
    for row in conn.query_all_raw(q.build()).await? {
        let emoji: String = row.try_get("", "emoji")?;
        if reactions.last().is_none_or(|r| r.emoji != emoji) {
            reactions.push(ReactionUsers {
                emoji,
                count: row.try_get("", "n")?,
                users: Vec::new(),
            });
        }
        let Some(id) = row.try_get::<Option<UserId>>("", "user_id")? else {
            continue;
        };
        if let Some(reaction) = reactions.last_mut() {
            reaction.users.push(MessageSender {
                id,
                username: row.try_get("", "username")?,
                display_name: row.try_get("", "display_name")?,
                avatar_url: row.try_get("", "avatar_url")?,
            });
        }
    }
    Ok(reactions)
}

/// The statement of [`reactors`]: rows `(emoji, n, user_id, username,
/// avatar_url)`, one emoji's rows together, earliest reactor first; both read
/// each emoji's users from `idx_message_reactions_order` in reaction order.
pub(super) fn push_reactors(q: &mut Sql, message_id: MessageId, per_emoji: u64) {
    let per_emoji = i64::try_from(per_emoji).unwrap_or(i64::MAX);
    match q.backend() {
        // The counts stored on the message give the emoji and their order;
        // each emoji's first users are a bounded index range, however many
        // reacted.
        DbBackend::Postgres => {
            q.push(
                "SELECT e.item->>'emoji' AS emoji, (e.item->>'count')::bigint AS n, \
                 u.id AS user_id, u.username, u.display_name, u.avatar_url \
                 FROM messages m \
                 CROSS JOIN LATERAL jsonb_array_elements(m.reactions::jsonb) WITH ORDINALITY AS e(item, pos) \
                 LEFT JOIN LATERAL (SELECT x.user_id, x.created_at FROM message_reactions x \
                 WHERE x.message_id = m.id AND x.emoji = e.item->>'emoji' \
                 ORDER BY x.created_at, x.user_id LIMIT ",
            )
            .bind(per_emoji)
            .push(") r ON true LEFT JOIN users u ON u.id = r.user_id WHERE m.id = ")
            .bind(message_id)
            .push(" ORDER BY e.pos, r.created_at, r.user_id");
        }
        // No lateral joins: the message's reactions in one pass over the
        // index, numbered per emoji; the emoji in the order stored on the
        // message, as on PostgreSQL.
        _ => {
            q.push(
                "SELECT r.emoji, r.n, r.user_id, u.username, u.display_name, u.avatar_url FROM (\
                 SELECT emoji, user_id, ROW_NUMBER() OVER e AS pos, COUNT(*) OVER e AS n, \
                 FIRST_VALUE(created_at) OVER e AS first_at \
                 FROM message_reactions WHERE message_id = ",
            )
            .bind(message_id)
            // One window for all three: one pass in the index's order.
            .push(
                " WINDOW e AS (PARTITION BY emoji ORDER BY created_at, user_id \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) r \
                 JOIN users u ON u.id = r.user_id \
                 LEFT JOIN (SELECT json_extract(j.value, '$.emoji') AS emoji, j.key AS at \
                 FROM messages m, json_each(m.reactions) j WHERE m.id = ",
            )
            .bind(message_id)
            .push(") o ON o.emoji = r.emoji WHERE r.pos <= ")
            .bind(per_emoji)
            .push(" ORDER BY o.at, r.first_at, r.emoji, r.pos");
        }
    }
}
