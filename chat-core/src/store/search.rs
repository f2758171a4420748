//! Full-text search of messages in the caller's conversations: PostgreSQL's
//! `search_vector` column with its GIN index, SQLite's `messages_fts` table
//! (both created and kept in step by the `message_search` migration).
//!
//! The user's words never become query syntax: on PostgreSQL each is a
//! quoted `tsquery` term, on SQLite a quoted FTS5 string, built from words
//! that hold only letters, digits and combining marks, with quotes escaped
//! all the same; the whole expression is bound as one parameter.
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::messages::{MESSAGE_COLUMNS, MESSAGE_JOINS, message_from_row};
use super::sql;
use crate::db::Sql;
use crate::ids::{ConversationId, UserId};
use crate::model::Message;

/// A search as the store runs it: every word must match, the last as a
/// prefix.
pub(crate) struct SearchFilter<'a> {
    pub(crate) caller: UserId,
    /// At least one word, each as typed.
    pub(crate) words: &'a [&'a str],
    pub(crate) conversation_id: Option<ConversationId>,
    pub(crate) sender_id: Option<UserId>,
    pub(crate) fetch: u64,
    pub(crate) offset: u64,
}

/// PostgreSQL `to_tsquery` text: quoted terms ANDed, the last with `:*`.
pub(crate) fn pg_tsquery(words: &[&str]) -> String {
    let mut terms: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''")))
        .collect();
    if let Some(last) = terms.last_mut() {
        last.push_str(":*");
    }
    terms.join(" & ")
}

/// SQLite FTS5 `MATCH` text: quoted strings (implicitly ANDed), the last
/// with `*`.
pub(crate) fn fts5_match(words: &[&str]) -> String {
    let mut terms: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if let Some(last) = terms.last_mut() {
        last.push('*');
    }
    terms.join(" ")
}

/// Appends the search to `q` (separate so its plan can be checked): the
/// matching ids with their relevance are ranked first, and only the page
/// is joined to its senders and quotes.
pub(crate) fn push_search(q: &mut Sql, filter: &SearchFilter<'_>) {
    let postgres = q.backend() == DbBackend::Postgres;
    q.push("SELECT ")
        .push(MESSAGE_COLUMNS)
        .push(" FROM (SELECT m.id, ");
    if postgres {
        // Higher `ts_rank` is better; `bm25` is lower for better matches.
        q.push(
            "-ts_rank(m.search_vector, tsq) AS score \
             FROM messages m CROSS JOIN to_tsquery('chat_search', ",
        )
        .bind(pg_tsquery(filter.words))
        .push(") AS tsq WHERE m.search_vector @@ tsq");
    } else {
        q.push(
            "bm25(messages_fts) AS score FROM messages_fts \
             JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ",
        )
        .bind(fts5_match(filter.words));
    }
    q.push(
        " AND m.deleted_at IS NULL AND m.conversation_id IN \
         (SELECT conversation_id FROM conversation_members WHERE user_id = ",
    )
    .bind(filter.caller)
    .push(")");
    if let Some(conversation_id) = filter.conversation_id {
        q.push(" AND m.conversation_id = ").bind(conversation_id);
    }
    if let Some(sender_id) = filter.sender_id {
        q.push(" AND m.sender_id = ").bind(sender_id);
    }
    q.push(" ORDER BY score, m.id DESC LIMIT ")
        .bind(filter.fetch as i64)
        .push(" OFFSET ")
        .bind(filter.offset as i64)
        .push(") hit JOIN messages m ON m.id = hit.id")
        .push(MESSAGE_JOINS)
        .push(" ORDER BY hit.score, m.id DESC");
}

/// Up to `fetch` matching messages after the first `offset`, best first,
/// then newest.
pub(crate) async fn search<C: ConnectionTrait>(
    conn: &C,
    filter: &SearchFilter<'_>,
) -> Result<Vec<Message>, DbErr> {
    let mut q = sql(conn);
    push_search(&mut q, filter);
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(|row| message_from_row(row, "")).collect()
}

#[cfg(test)]
mod tests {
    use super::{fts5_match, pg_tsquery};

    #[test]
    fn words_are_quoted_terms_and_the_last_a_prefix() {
        assert_eq!(pg_tsquery(&["café", "lun"]), "'café' & 'lun':*");
        assert_eq!(fts5_match(&["café", "lun"]), "\"café\" \"lun\"*");
        // Quotes cannot leave their term, should a word ever hold one.
        assert_eq!(pg_tsquery(&["a'b\\"]), "'a''b\\\\':*");
        assert_eq!(fts5_match(&["NEAR\"(x"]), "\"NEAR\"\"(x\"*");
    }
}
