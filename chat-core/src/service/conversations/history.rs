//! Pages of a conversation's messages: backwards from the newest, and forwards
//! from a `seq` (catch-up after a reconnect).
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::Message;
use crate::service::PageLimit;
use crate::store;
use crate::store::messages::HistoryFrom;

/// Which page of history to read; see [`ChatHandle::history`].
///
/// ```
/// use chat_core::ids::MessageId;
/// use chat_core::service::HistoryQuery;
///
/// let newest = HistoryQuery::default();
/// let oldest_shown = MessageId::try_from(1001)?;
/// let older = HistoryQuery { before: Some(oldest_shown), limit: Some(20), ..Default::default() };
/// let catch_up = HistoryQuery { after_seq: Some(17), ..Default::default() };
/// let changes = HistoryQuery { after_rev: Some(23), ..Default::default() };
/// # let _ = (newest, older, catch_up, changes);
/// # Ok::<(), chat_core::ChatError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryQuery {
    /// Messages older than this message id, newest first.
    pub before: Option<MessageId>,
    /// Messages with `seq` greater than this, oldest first (catch-up).
    pub after_seq: Option<i64>,
    /// Messages created or changed after this revision, in revision order:
    /// the catch-up of every change (see [`MessagePage::last_rev`]).
    pub after_rev: Option<i64>,
    /// Page size (1..=history_max_limit); the configured default when `None`.
    pub limit: Option<u64>,
}

/// One page of history.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::HistoryQuery;
///
/// // After a reconnect: everything after the last seq seen, oldest first.
/// let mut last_seq = 17;
/// loop {
///     let query = HistoryQuery { after_seq: Some(last_seq), ..Default::default() };
///     let page = chat.history(me, general, query).await?;
///     if let Some(newest) = page.messages.last() {
///         last_seq = newest.seq;
///     }
///     if !page.has_more {
///         break;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// The messages, newest first (or oldest first with `after_seq`).
    pub messages: Vec<Message>,
    /// Whether more messages exist in the paging direction.
    pub has_more: bool,
    /// The conversation's revision when the page was read, read before the
    /// messages: every change up to it is in the conversation's messages as
    /// read. After an `after_rev` page without `has_more`, the client has
    /// applied every change up to the greater of this and its last message's
    /// `rev`, and asks from there next time.
    pub last_rev: i64,
}

impl ChatHandle {
    /// A page of a conversation's history, for members only.
    ///
    /// `before` pages backwards (newest first); `after_seq` catches up (oldest
    /// first); `after_rev` returns every message created or changed after that
    /// revision, in revision order. Two of them at once is a validation
    /// error, as is a `limit` outside
    /// 1..=[`history_max_limit`](crate::ChatConfig::history_max_limit).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::HistoryQuery;
    ///
    /// let newest = chat.history(me, general, HistoryQuery::default()).await?;
    /// if let (true, Some(oldest)) = (newest.has_more, newest.messages.last()) {
    ///     let query = HistoryQuery { before: Some(oldest.id), ..Default::default() };
    ///     let older = chat.history(me, general, query).await?;
    /// #   let _ = older;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn history(
        &self,
        caller: UserId,
        conversation_id: ConversationId,
        query: HistoryQuery,
    ) -> ChatResult<MessagePage> {
        let limit = PageLimit {
            default: self.config().history_default_limit,
            max: self.config().history_max_limit,
        }
        .resolve(query.limit)?;
        if query.before.is_some() && query.after_seq.is_some() {
            return Err(ChatError::field(
                "before",
                "cannot be combined with after_seq",
            ));
        }
        if query.after_rev.is_some() && (query.before.is_some() || query.after_seq.is_some()) {
            return Err(ChatError::field(
                "after_rev",
                "cannot be combined with before or after_seq",
            ));
        }
        if matches!(query.after_seq, Some(s) if s < 0) {
            return Err(ChatError::field("after_seq", "must be 0 or more"));
        }
        if matches!(query.after_rev, Some(r) if r < 0) {
            return Err(ChatError::field("after_rev", "must be 0 or more"));
        }
        self.require_member(conversation_id, caller).await?;
        // Read first: every change up to it committed with its message.
        let last_rev = store::conversations::last_rev(self.db(), conversation_id).await?;
        let from = match (query.before, query.after_seq, query.after_rev) {
            (_, _, Some(after_rev)) => HistoryFrom::AfterRev(after_rev),
            (Some(before), _, _) => {
                let seq = store::messages::seq_of(self.db(), conversation_id, before).await?;
                let Some(seq) = seq else {
                    return Err(ChatError::field(
                        "before",
                        "no such message in this conversation",
                    ));
                };
                HistoryFrom::Before(seq)
            }
            (None, Some(after), None) => HistoryFrom::After(after),
            (None, None, None) => HistoryFrom::Newest,
        };
        // One more than asked: whether more follow.
        let mut messages =
            store::messages::history(self.db(), conversation_id, from, limit + 1).await?;
        let has_more = messages.len() as u64 > limit;
        messages.truncate(limit as usize);
        self.with_my_reactions(caller, &mut messages).await?;
        Ok(MessagePage {
            messages,
            has_more,
            last_rev,
        })
    }
}
