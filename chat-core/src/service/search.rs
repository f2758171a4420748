//! Message search: what a query is ([`SearchQuery`], checked into words),
//! who sees which messages (members only, never deleted or system
//! messages), and the page of results with their snippets.
pub(crate) mod snippet;

use serde::Serialize;

use crate::ChatHandle;
use crate::error::{ChatResult, Invalid};
use crate::ids::{ConversationId, UserId};
use crate::model::Message;
use crate::service::PageLimit;
use crate::store;
use crate::store::search::SearchFilter;
use snippet::{Terms, fold, words};

/// Longest query, in characters after trimming.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest `offset` of a search: deeper pages are not served.
pub const MAX_SEARCH_OFFSET: u64 = 1000;

/// What to search for; see [`ChatHandle::search_messages`].
///
/// ```
/// use chat_core::ids::ConversationId;
/// use chat_core::service::SearchQuery;
///
/// let everywhere = SearchQuery::new("lunch tomor");
/// let in_general = SearchQuery {
///     conversation_id: Some(ConversationId::try_from(7)?),
///     limit: Some(10),
///     ..SearchQuery::new("deploy")
/// };
/// # let _ = (everywhere, in_general);
/// # Ok::<(), chat_core::ChatError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The words to find, as typed: 1 to [`MAX_QUERY_CHARS`] characters
    /// after trimming, with at least one letter or digit. Every word must
    /// occur in a message; the last also matches the words it begins.
    pub query: String,
    /// Only this conversation (the caller must be a member).
    pub conversation_id: Option<ConversationId>,
    /// Only this sender's messages.
    pub sender_id: Option<UserId>,
    /// Page size, as in [`PageLimit::MESSAGE_SEARCH`].
    pub limit: Option<u64>,
    /// Results to skip, at most [`MAX_SEARCH_OFFSET`].
    pub offset: u64,
}

impl SearchQuery {
    /// A search of every conversation of the caller, first page.
    ///
    /// ```
    /// let query = chat_core::service::SearchQuery::new("café");
    /// assert_eq!((query.limit, query.offset), (None, 0));
    /// ```
    pub fn new(query: impl Into<String>) -> SearchQuery {
        SearchQuery {
            query: query.into(),
            ..SearchQuery::default()
        }
    }
}

/// One found message.
///
/// ```
/// use chat_core::service::SearchHit;
/// # fn show(hit: &SearchHit) {
/// let chars: Vec<char> = hit.snippet.chars().collect();
/// for [start, end] in &hit.highlights {
///     let word: String = chars[*start..*end].iter().collect();
///     println!("matched {word} in message {}", hit.message.id);
/// }
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    /// The message as history shows it, with the caller's `my_reactions`.
    pub message: Message,
    /// Plain text from the content around the first match: the whole
    /// content up to 200 characters, else at most 200 characters cut at word
    /// boundaries with `…` at each cut end.
    pub snippet: String,
    /// The matching words of `snippet`, `[start, end)` in characters
    /// (Unicode scalar values), ascending.
    pub highlights: Vec<[usize; 2]>,
}

/// A page of search results, best match first, then newest.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::SearchQuery;
///
/// let mut query = SearchQuery::new("release notes");
/// loop {
///     let page = chat.search_messages(me, query.clone()).await?;
///     for hit in &page.results {
///         println!("{}: {}", hit.message.sender.username, hit.snippet);
///     }
///     if !page.has_more {
///         break;
///     }
///     query.offset += page.results.len() as u64;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchPage {
    /// The results of this page.
    pub results: Vec<SearchHit>,
    /// Whether more results follow.
    pub has_more: bool,
}

/// A valid query: its words as typed (each database folds them as it folds
/// its text) and its page size.
struct CheckedQuery<'a> {
    words: Vec<&'a str>,
    limit: u64,
}

/// Checks every field of `query` at once.
fn check(query: &SearchQuery) -> ChatResult<CheckedQuery<'_>> {
    let mut invalid = Invalid::new();
    let text = query.query.trim();
    let length = text.chars().count();
    let mut found = Vec::new();
    if length == 0 || length > MAX_QUERY_CHARS {
        invalid.add(
            "query",
            format!("must be 1 to {MAX_QUERY_CHARS} characters"),
        );
    } else {
        // A word of combining marks alone folds to nothing.
        found = words(text)
            .into_iter()
            .filter(|w| !fold(w).is_empty())
            .collect();
        invalid.check(
            !found.is_empty(),
            "query",
            "must contain a letter or a digit",
        );
    }
    let limit = match PageLimit::MESSAGE_SEARCH.resolve(query.limit) {
        Ok(limit) => limit,
        Err(err) => {
            if let Some(details) = err.details() {
                invalid.extend(details.clone());
            }
            0
        }
    };
    invalid.check(
        query.offset <= MAX_SEARCH_OFFSET,
        "offset",
        format!("must be between 0 and {MAX_SEARCH_OFFSET}"),
    );
    invalid.finish()?;
    Ok(CheckedQuery {
        words: found,
        limit,
    })
}

impl ChatHandle {
    /// Messages of the caller's conversations containing every word of
    /// `query.query` (the last word as a prefix), best match first, then
    /// newest; case and accents are ignored (accents on PostgreSQL when the
    /// `unaccent` extension was available to the migration). System and
    /// deleted messages never match; edits are found by their new words at
    /// once. Each result carries a snippet and the places of its matching
    /// words.
    ///
    /// `validation_failed` for a query without a letter or digit, empty or
    /// over [`MAX_QUERY_CHARS`] after trimming, a limit outside
    /// [`PageLimit::MESSAGE_SEARCH`] or an offset over
    /// [`MAX_SEARCH_OFFSET`]. With a `conversation_id` the caller is not in,
    /// the answer of history: `not_found` (`not_a_member` for a public room).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::SearchQuery;
    ///
    /// let page = chat.search_messages(me, SearchQuery::new("cafe")).await?;
    /// if let Some(best) = page.results.first() {
    ///     println!("{} (message {})", best.snippet, best.message.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn search_messages(
        &self,
        caller: UserId,
        query: SearchQuery,
    ) -> ChatResult<SearchPage> {
        let checked = check(&query)?;
        if let Some(conversation_id) = query.conversation_id {
            self.require_member(conversation_id, caller).await?;
        }
        let filter = SearchFilter {
            caller,
            words: &checked.words,
            conversation_id: query.conversation_id,
            sender_id: query.sender_id,
            // One more than asked: whether more follow.
            fetch: checked.limit + 1,
            offset: query.offset,
        };
        let mut messages = store::search::search(self.db(), &filter).await?;
        let has_more = messages.len() as u64 > checked.limit;
        messages.truncate(checked.limit as usize);
        self.with_my_reactions(caller, &mut messages).await?;
        let terms = Terms::new(&checked.words);
        let results = messages
            .into_iter()
            .map(|message| {
                let found = snippet::snippet(&message.content, &terms);
                SearchHit {
                    message,
                    snippet: found.text,
                    highlights: found.highlights,
                }
            })
            .collect();
        Ok(SearchPage { results, has_more })
    }
}

#[cfg(test)]
mod tests {
    use super::{SearchQuery, check};

    fn refused(query: SearchQuery) -> Vec<String> {
        match check(&query) {
            Ok(_) => Vec::new(),
            Err(err) => err
                .details()
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn hostile_queries_are_words_or_refused() {
        for query in [
            r#"""#, "*", "(((", "'", "\\", "  ", "", "!?.,;:-", "\u{301}",
        ] {
            assert_eq!(refused(SearchQuery::new(query)), ["query"], "{query:?}");
        }
        for (query, expected) in [
            ("NEAR(", vec!["NEAR"]),
            ("a:b", vec!["a", "b"]),
            (r#"x" OR "y"#, vec!["x", "OR", "y"]),
            ("don't", vec!["don", "t"]),
        ] {
            let query = SearchQuery::new(query);
            let checked = check(&query).expect("valid");
            assert_eq!(checked.words, expected);
        }
        let long = SearchQuery::new("a".repeat(10_000));
        assert_eq!(refused(long), ["query"]);
        let at_most = SearchQuery::new("é".repeat(200));
        assert!(check(&at_most).is_ok(), "200 characters, 400 bytes");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let query = SearchQuery {
            limit: Some(51),
            offset: 1001,
            ..SearchQuery::new("")
        };
        assert_eq!(refused(query), ["limit", "offset", "query"]);
        let query = SearchQuery {
            limit: Some(50),
            offset: 1000,
            ..SearchQuery::new("ok")
        };
        assert!(refused(query).is_empty());
        assert_eq!(
            refused(SearchQuery {
                limit: Some(0),
                ..SearchQuery::new("ok")
            }),
            ["limit"]
        );
    }
}
