//! Full-text search of messages in the caller's conversations: PostgreSQL's
//! `search_vector` column with its GIN index, SQLite's `messages_fts` table
//! (both created and kept in step by the `message_search` migration).
//!
//! On SQLite each indexed row also holds its conversation as a token, and the
//! caller's conversations are ANDed into the full-text query: FTS5 then skips
//! through a common word's matches to the caller's instead of reading every
//! match in the database (PostgreSQL's planner makes that choice itself,
//! reading the caller's conversations by their index when a word is common).
//!
//! The user's words never become query syntax: on PostgreSQL each is a
//! quoted `tsquery` term, on SQLite a quoted FTS5 string, built from words
//! that hold only letters, digits and combining marks, with quotes escaped
//! all the same; the whole expression is bound as one parameter.
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::members::conversation_ids_after;
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

/// Most conversations a SQLite full-text query names; a caller in more is
/// searched without them (the join on memberships restricts the results all
/// the same, only more slowly for common words).
const MAX_FTS_CONVERSATIONS: u64 = 1000;

/// SQLite FTS5 `MATCH` text: the words as quoted strings (implicitly ANDed),
/// the last with `*`, in the `content` column; and, when given, one of the
/// conversations in the `conversation` column.
pub(crate) fn fts5_match(words: &[&str], conversations: Option<&[ConversationId]>) -> String {
    let mut terms: Vec<String> = words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if let Some(last) = terms.last_mut() {
        last.push('*');
    }
    let mut text = format!("content : ({})", terms.join(" "));
    if let Some(conversations) = conversations {
        let tokens: Vec<String> = conversations.iter().map(|c| format!("\"c{c}\"")).collect();
        text.push_str(&format!(" AND conversation : ({})", tokens.join(" OR ")));
    }
    text
}

/// Appends the search to `q` (separate so its plan can be checked): the
/// matching ids with their relevance are ranked first, and only the page
/// is joined to its senders and quotes. `scope` (SQLite) names the
/// conversations the full-text query is limited to.
pub(crate) fn push_search(
    q: &mut Sql,
    filter: &SearchFilter<'_>,
    scope: Option<&[ConversationId]>,
) {
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
        // The conversation token weighs nothing in the relevance.
        q.push(
            "bm25(messages_fts, 1.0, 0.0) AS score FROM messages_fts \
             JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ",
        )
        .bind(fts5_match(filter.words, scope));
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
    let mut scope = None;
    if conn.get_database_backend() == DbBackend::Sqlite {
        let conversations = match filter.conversation_id {
            Some(id) => vec![id],
            None => {
                conversation_ids_after(conn, filter.caller, 0, MAX_FTS_CONVERSATIONS + 1).await?
            }
        };
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        if conversations.len() as u64 <= MAX_FTS_CONVERSATIONS {
            scope = Some(conversations);
        }
    }
    let mut q = sql(conn);
    push_search(&mut q, filter, scope.as_deref());
    let rows = conn.query_all_raw(q.build()).await?;
    rows.iter().map(|row| message_from_row(row, "")).collect()
}

#[cfg(test)]
mod tests {
    use super::{fts5_match, pg_tsquery};
    use crate::ids::literal::c;

    #[test]
    fn words_are_quoted_terms_and_the_last_a_prefix() {
        assert_eq!(pg_tsquery(&["café", "lun"]), "'café' & 'lun':*");
        assert_eq!(
            fts5_match(&["café", "lun"], None),
            "content : (\"café\" \"lun\"*)"
        );
        let scope = [c(4), c(17)];
        assert_eq!(
            fts5_match(&["c4"], Some(&scope)),
            "content : (\"c4\"*) AND conversation : (\"c4\" OR \"c17\")"
        );
        // Quotes cannot leave their term, should a word ever hold one.
        assert_eq!(pg_tsquery(&["a'b\\"]), "'a''b\\\\':*");
        assert_eq!(
            fts5_match(&["NEAR\"(x"], None),
            "content : (\"NEAR\"\"(x\"*)"
        );
    }
}
