//! The statements of the writer's batches: lookups of retried sends, `seq`
//! blocks, message and mention inserts, reply counts and sender profiles
//! (the writer orders and batches them; see
//! [`service::writer`](crate::service::writer)).
//!
//! On PostgreSQL the batch statements take their rows as one `jsonb`
//! parameter, so the statement text is the same whatever the batch size
//! (prepared once per connection) and a batch costs a fixed number of round
//! trips. SQLite runs in-process: a statement per row costs no round trip.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Value};
use serde_json::json;

use super::messages::{MESSAGE_COLUMNS, MESSAGE_JOINS, message_from_row};
use super::sql;
use crate::db::Sql;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Message, MessageSender, MessageType};

/// A message to insert, with its `seq` taken.
pub(crate) struct NewMessageRow<'a> {
    pub(crate) conversation_id: ConversationId,
    pub(crate) seq: i64,
    pub(crate) rev: i64,
    pub(crate) sender_id: UserId,
    pub(crate) content: &'a str,
    pub(crate) message_type: MessageType,
    pub(crate) file_url: Option<&'a str>,
    /// The attachment as JSON.
    pub(crate) attachment: Option<String>,
    /// The call summary as JSON (`call` messages).
    pub(crate) call_info: Option<String>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) reply_to_id: Option<MessageId>,
    /// JSON array of the mentioned user ids, `None` for none.
    pub(crate) mentions: Option<String>,
}

/// PostgreSQL: appends the lookup of stored messages by a `jsonb` list of
/// `{sender_id, client_id}`. A lateral lookup with LIMIT keeps the plan on the
/// unique index: as a plain join the planner picks a hash join over all of
/// `messages` whenever its statistics lag behind a fast-growing table.
pub(crate) fn push_pg_by_client_ids(q: &mut Sql, keys: serde_json::Value) {
    q.push("SELECT ")
        .push(MESSAGE_COLUMNS)
        .push(" FROM jsonb_to_recordset(")
        .bind(keys)
        .push(
            "::jsonb) AS k(sender_id bigint, client_id text) \
             CROSS JOIN LATERAL (SELECT * FROM messages x \
             WHERE x.sender_id = k.sender_id AND x.client_id = k.client_id LIMIT 1) m",
        )
        .push(MESSAGE_JOINS);
}

/// Stored messages with these `(sender, client_id)` keys, by key.
pub(crate) async fn by_client_ids<C: ConnectionTrait>(
    conn: &C,
    keys: &[(UserId, &str)],
) -> Result<HashMap<(UserId, String), Message>, DbErr> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = sql(conn);
    match q.backend() {
        DbBackend::Postgres => {
            let keys = keys
                .iter()
                .map(|(sender, client_id)| json!({"sender_id": sender, "client_id": client_id}))
                .collect();
            push_pg_by_client_ids(&mut q, serde_json::Value::Array(keys));
        }
        _ => {
            q.push("SELECT ")
                .push(MESSAGE_COLUMNS)
                .push(" FROM messages m")
                .push(MESSAGE_JOINS)
                .push(" WHERE ");
            for (i, (sender, client_id)) in keys.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                q.push("(m.sender_id = ")
                    .bind(*sender)
                    .push(" AND m.client_id = ")
                    .bind(*client_id)
                    .push(")");
            }
        }
    }
    collect_by_client_id(&conn.query_all_raw(q.build()).await?)
}

fn collect_by_client_id(rows: &[QueryResult]) -> Result<HashMap<(UserId, String), Message>, DbErr> {
    let mut found = HashMap::new();
    for row in rows {
        let message = message_from_row(row, "")?;
        if let Some(client_id) = message.client_id.clone() {
            found.insert((message.sender_id, client_id), message);
        }
    }
    Ok(found)
}

/// A JSON array parameter (PostgreSQL batches).
fn json_value(items: Vec<serde_json::Value>) -> Value {
    serde_json::Value::Array(items).into()
}

/// Takes `count` new `seq` numbers and as many revisions in each conversation
/// and records the activity time; returns each conversation's new
/// `(last_seq, last_rev)` (missing conversations are absent). Rows are locked in ascending id order, the lock
/// order of every batch, so concurrent batches never deadlock.
pub(crate) async fn take_seq_blocks<C: ConnectionTrait>(
    conn: &C,
    counts: &BTreeMap<ConversationId, i64>,
    at: DateTime<Utc>,
) -> Result<HashMap<ConversationId, (i64, i64)>, DbErr> {
    let mut last = HashMap::with_capacity(counts.len());
    match conn.get_database_backend() {
        DbBackend::Postgres => {
            let blocks = json_value(
                counts
                    .iter()
                    .map(|(id, n)| json!({"id": id, "n": n}))
                    .collect(),
            );
            // Two statements, not one: a CTE that locks and an update
            // joined to it (one round trip) measured slower under load
            // (docs/performance.md, *PostgreSQL today*).
            let mut lock = sql(conn);
            lock.push("SELECT c.id FROM conversations c JOIN jsonb_to_recordset(")
                .bind(blocks.clone())
                .push(
                    "::jsonb) AS v(id bigint, n bigint) ON v.id = c.id ORDER BY c.id FOR NO KEY UPDATE OF c",
                );
            conn.execute_raw(lock.build()).await?;
            let mut update = sql(conn);
            update
                .push(
                    "UPDATE conversations c SET last_seq = c.last_seq + v.n, \
                     last_rev = c.last_rev + v.n, last_message_at = ",
                )
                .bind(at)
                .push(" FROM jsonb_to_recordset(")
                .bind(blocks)
                .push("::jsonb) AS v(id bigint, n bigint) WHERE c.id = v.id RETURNING c.id, c.last_seq, c.last_rev");
            for row in conn.query_all_raw(update.build()).await? {
                last.insert(
                    row.try_get_by_index::<ConversationId>(0)?,
                    (row.try_get_by_index(1)?, row.try_get_by_index(2)?),
                );
            }
        }
        _ => {
            for (&conversation_id, &count) in counts {
                let mut q = sql(conn);
                q.push("UPDATE conversations SET last_seq = last_seq + ")
                    .bind(count)
                    .push(", last_rev = last_rev + ")
                    .bind(count)
                    .push(", last_message_at = ")
                    .bind(at)
                    .push(" WHERE id = ")
                    .bind(conversation_id)
                    .push(" RETURNING last_seq, last_rev");
                if let Some(row) = conn.query_one_raw(q.build()).await? {
                    last.insert(
                        conversation_id,
                        (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
                    );
                }
            }
        }
    }
    Ok(last)
}

/// What [`insert_batch`] returns: each new id by `(conversation_id, seq)`,
/// which is unique (RETURNING does not promise the order of the rows), and
/// the profile of each sender.
#[derive(Debug, Default)]
pub(crate) struct InsertedBatch {
    pub(crate) ids: HashMap<(ConversationId, i64), MessageId>,
    pub(crate) senders: HashMap<UserId, MessageSender>,
}

/// Inserts the rows in one statement, then reads their senders' profiles in
/// another ([`sender_profiles`]). One statement for both (the insert in a
/// CTE joined to `users`) measured slower under load on PostgreSQL.
pub(crate) async fn insert_batch<C: ConnectionTrait>(
    conn: &C,
    rows: &[NewMessageRow<'_>],
    created_at: DateTime<Utc>,
) -> Result<InsertedBatch, DbErr> {
    let mut inserted = InsertedBatch {
        ids: HashMap::with_capacity(rows.len()),
        senders: HashMap::new(),
    };
    if rows.is_empty() {
        return Ok(inserted);
    }
    let mut q = sql(conn);
    q.push(
        "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, reply_to_id, mentions, \
         file_url, attachment, call_info, client_id, created_at) ",
    );
    match q.backend() {
        DbBackend::Postgres => {
            let items = rows
                .iter()
                .map(|r| {
                    json!({
                        "conversation_id": r.conversation_id,
                        "seq": r.seq,
                        "rev": r.rev,
                        "sender_id": r.sender_id,
                        "content": r.content,
                        "message_type": r.message_type.as_str(),
                        "file_url": r.file_url,
                        "attachment": r.attachment,
                        "call_info": r.call_info,
                        "client_id": r.client_id,
                        "reply_to_id": r.reply_to_id,
                        "mentions": r.mentions,
                    })
                })
                .collect();
            q.push(
                "SELECT x.conversation_id, x.seq, x.rev, x.sender_id, x.content, x.message_type, x.reply_to_id, x.mentions, \
                 x.file_url, x.attachment, x.call_info, x.client_id, ",
            )
            .bind(created_at)
            .push(" FROM jsonb_to_recordset(")
            .bind(json_value(items))
            .push(
                "::jsonb) AS x(conversation_id bigint, seq bigint, rev bigint, sender_id bigint, content text, \
                 message_type text, reply_to_id bigint, mentions text, file_url text, attachment text, call_info text, client_id text)",
            );
        }
        _ => {
            q.push("VALUES ");
            for (i, r) in rows.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .bind(r.conversation_id)
                    .push(", ")
                    .bind(r.seq)
                    .push(", ")
                    .bind(r.rev)
                    .push(", ")
                    .bind(r.sender_id)
                    .push(", ")
                    .bind(r.content)
                    .push(", ")
                    .bind(r.message_type.as_str())
                    .push(", ")
                    .bind(r.reply_to_id)
                    .push(", ")
                    .bind(r.mentions.clone())
                    .push(", ")
                    .bind(r.file_url.map(str::to_owned))
                    .push(", ")
                    .bind(r.attachment.clone())
                    .push(", ")
                    .bind(r.call_info.clone())
                    .push(", ")
                    .bind(r.client_id.map(str::to_owned))
                    .push(", ")
                    .bind(created_at)
                    .push(")");
            }
        }
    }
    q.push(" RETURNING id, conversation_id, seq");
    for row in conn.query_all_raw(q.build()).await? {
        let id: MessageId = row.try_get_by_index(0)?;
        let conversation_id: ConversationId = row.try_get_by_index(1)?;
        let seq: i64 = row.try_get_by_index(2)?;
        inserted.ids.insert((conversation_id, seq), id);
    }
    inserted.senders = sender_profiles(conn, rows.iter().map(|r| r.sender_id)).await?;
    Ok(inserted)
}

fn sender_from_row(row: &QueryResult) -> Result<MessageSender, DbErr> {
    Ok(MessageSender {
        id: row.try_get("", "sender_id")?,
        username: row.try_get("", "username")?,
        display_name: row.try_get("", "display_name")?,
        avatar_url: row.try_get("", "avatar_url")?,
    })
}

/// Records who the new messages mention, `(conversation, seq, user)`, in
/// one statement per 500 (what a member's unread mentions are counted from).
pub(crate) async fn insert_mentions<C: ConnectionTrait>(
    conn: &C,
    mentions: &[(ConversationId, i64, UserId)],
) -> Result<(), DbErr> {
    for chunk in mentions.chunks(500) {
        let mut q = sql(conn);
        q.push("INSERT INTO message_mentions (conversation_id, seq, user_id) VALUES ");
        for (i, &(conversation_id, seq, user_id)) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(conversation_id)
                .push(", ")
                .bind(seq)
                .push(", ")
                .bind(user_id)
                .push(")");
        }
        conn.execute_raw(q.build()).await?;
    }
    Ok(())
}

/// Adds new replies to their parents' `reply_count` (a statement per parent,
/// in id order like every lock of a batch).
pub(crate) async fn count_replies<C: ConnectionTrait>(
    conn: &C,
    replies: &BTreeMap<MessageId, i64>,
) -> Result<(), DbErr> {
    for (&parent, &count) in replies {
        let mut q = sql(conn);
        q.push("UPDATE messages SET reply_count = reply_count + ")
            .bind(count)
            .push(" WHERE id = ")
            .bind(parent);
        conn.execute_raw(q.build()).await?;
    }
    Ok(())
}

/// Username, display name and avatar of each distinct sender, in one query.
pub(crate) async fn sender_profiles<C: ConnectionTrait>(
    conn: &C,
    senders: impl Iterator<Item = UserId>,
) -> Result<HashMap<UserId, MessageSender>, DbErr> {
    let mut ids: Vec<UserId> = senders.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = sql(conn);
    q.push("SELECT id AS sender_id, username, display_name, avatar_url FROM users WHERE id IN (");
    match q.backend() {
        DbBackend::Postgres => q
            .push("SELECT value::bigint FROM jsonb_array_elements_text(")
            .bind(json_value(ids.iter().map(|&id| json!(id)).collect()))
            .push("::jsonb)"),
        _ => q.bind_list(ids.iter().copied()),
    };
    q.push(")");
    let mut profiles = HashMap::with_capacity(ids.len());
    for row in conn.query_all_raw(q.build()).await? {
        let sender = sender_from_row(&row)?;
        profiles.insert(sender.id, sender);
    }
    Ok(profiles)
}
