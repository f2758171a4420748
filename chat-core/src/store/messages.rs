//! Message rows: the columns every message query reads, their mapping to a
//! [`Message`], and history pages. The writer's batch statements are in
//! [`message_batches`](super::message_batches).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{ids, sql};
use crate::db::Sql;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Message, MessageSender, MessageType, ReplyPreview};

/// The columns of a message row with its sender and the message it replies
/// to (`m` joined as in [`MESSAGE_JOINS`]).
pub(crate) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.rev, m.sender_id, m.content, \
     m.message_type, m.file_url, m.attachment, m.call_info, m.client_id, m.created_at, m.edited_at, m.deleted_at, \
     m.reply_to_id, m.reply_count, m.mentions, m.reactions, \
     su.username AS sender_username, su.display_name AS sender_display_name, su.avatar_url AS sender_avatar_url, \
     rp.seq AS reply_seq, rp.sender_id AS reply_sender_id, rpu.username AS reply_username, rpu.display_name AS reply_display_name, \
     SUBSTR(rp.content, 1, 200) AS reply_content, rp.message_type AS reply_message_type, \
     rp.deleted_at AS reply_deleted_at";

/// What [`MESSAGE_COLUMNS`] reads from, after `messages m`: the sender
/// `su`, and the replied-to message `rp` with its sender `rpu`.
pub(crate) const MESSAGE_JOINS: &str = " JOIN users su ON su.id = m.sender_id \
     LEFT JOIN messages rp ON rp.id = m.reply_to_id LEFT JOIN users rpu ON rpu.id = rp.sender_id";

/// A message from a row of [`MESSAGE_COLUMNS`], each column name preceded by `prefix`.
pub(crate) fn message_from_row(row: &QueryResult, prefix: &str) -> Result<Message, DbErr> {
    let col = |name: &str| format!("{prefix}{name}");
    let message_type: String = row.try_get("", &col("message_type"))?;
    let sender_id: UserId = row.try_get("", &col("sender_id"))?;
    Ok(Message {
        id: row.try_get("", &col("id"))?,
        conversation_id: row.try_get("", &col("conversation_id"))?,
        seq: row.try_get("", &col("seq"))?,
        rev: row.try_get("", &col("rev"))?,
        sender_id,
        sender: MessageSender {
            id: sender_id,
            username: row.try_get("", &col("sender_username"))?,
            display_name: row.try_get("", &col("sender_display_name"))?,
            avatar_url: row.try_get("", &col("sender_avatar_url"))?,
        },
        content: row.try_get("", &col("content"))?,
        message_type: MessageType::parse(&message_type).unwrap_or(MessageType::Text),
        file_url: row.try_get("", &col("file_url"))?,
        attachment: row
            .try_get::<Option<String>>("", &col("attachment"))?
            .and_then(|t| serde_json::from_str(&t).ok()),
        client_id: row.try_get("", &col("client_id"))?,
        created_at: row.try_get("", &col("created_at"))?,
        edited_at: row.try_get("", &col("edited_at"))?,
        deleted_at: row.try_get("", &col("deleted_at"))?,
        reply_to: reply_from_row(row, prefix)?,
        reply_count: row.try_get("", &col("reply_count"))?,
        mentions: mentions_from_text(row.try_get("", &col("mentions"))?),
        reactions: row
            .try_get::<Option<String>>("", &col("reactions"))?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
        call: row
            .try_get::<Option<String>>("", &col("call_info"))?
            .and_then(|t| serde_json::from_str(&t).ok()),
        my_reactions: None,
    })
}

/// The stored JSON array of mentioned user ids (`NULL`: none).
fn mentions_from_text(text: Option<String>) -> Vec<UserId> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The quoted message of a row of [`MESSAGE_COLUMNS`], if it replies to one.
fn reply_from_row(row: &QueryResult, prefix: &str) -> Result<Option<ReplyPreview>, DbErr> {
    let col = |name: &str| format!("{prefix}{name}");
    let Some(id) = row.try_get::<Option<MessageId>>("", &col("reply_to_id"))? else {
        return Ok(None);
    };
    let Some(seq) = row.try_get::<Option<i64>>("", &col("reply_seq"))? else {
        return Ok(None);
    };
    let message_type: String = row.try_get("", &col("reply_message_type"))?;
    Ok(Some(ReplyPreview {
        id,
        seq,
        sender_id: row.try_get("", &col("reply_sender_id"))?,
        username: row.try_get("", &col("reply_username"))?,
        display_name: row.try_get("", &col("reply_display_name"))?,
        content: row.try_get("", &col("reply_content"))?,
        message_type: MessageType::parse(&message_type).unwrap_or(MessageType::Text),
        deleted: row
            .try_get::<Option<DateTime<Utc>>>("", &col("reply_deleted_at"))?
            .is_some(),
    }))
}

/// The `seq` of message `message_id` if it is in the conversation.
pub(crate) async fn seq_of<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<Option<i64>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT seq FROM messages WHERE id = ")
        .bind(message_id)
        .push(" AND conversation_id = ")
        .bind(conversation_id);
    Ok(ids(conn, q).await?.first().copied())
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HistoryFrom {
    /// The newest messages, newest first.
    Newest,
    /// Messages with a smaller `seq`, newest first.
    Before(i64),
    /// Messages with a greater `seq`, oldest first (catch-up).
    After(i64),
    /// Messages changed after this revision, in revision order (catch-up
    /// of every change).
    AfterRev(i64),
}

/// Appends the history query to `q` (separate so its plan can be checked).
pub(crate) fn push_history(
    q: &mut Sql,
    conversation_id: ConversationId,
    from: HistoryFrom,
    fetch: u64,
) {
    q.push("SELECT ")
        .push(MESSAGE_COLUMNS)
        .push(" FROM messages m")
        .push(MESSAGE_JOINS)
        .push(" WHERE m.conversation_id = ")
        .bind(conversation_id);
    let (column, order) = match from {
        HistoryFrom::Newest => ("m.seq", "DESC"),
        HistoryFrom::Before(seq) => {
            q.push(" AND m.seq < ").bind(seq);
            ("m.seq", "DESC")
        }
        HistoryFrom::After(seq) => {
            q.push(" AND m.seq > ").bind(seq);
            ("m.seq", "ASC")
        }
        HistoryFrom::AfterRev(rev) => {
            q.push(" AND m.rev > ").bind(rev);
            ("m.rev", "ASC")
        }
    };
    q.push(" ORDER BY ")
        .push(column)
        .push(" ")
        .push(order)
        .push(" LIMIT ")
        .bind(fetch as i64);
}

/// Up to `fetch` messages of a conversation from `from`.
pub(crate) async fn history<C: ConnectionTrait>(
    conn: &C,
    conversation_id: ConversationId,
    from: HistoryFrom,
    fetch: u64,
) -> Result<Vec<Message>, DbErr> {
    let mut q = sql(conn);
    push_history(&mut q, conversation_id, from, fetch);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(|row| message_from_row(row, "")).collect()
}
