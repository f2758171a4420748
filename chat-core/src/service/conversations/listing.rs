//! Conversations as their members see them: one conversation, the list page
//! by page (keyset paging on last activity), and the ids of a user's
//! conversations in bounded pages (for the handshake).
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::ids::{ConversationId, UserId};
use crate::model::{Conversation, ConversationKind};
use crate::service::PageLimit;
use crate::service::audience::hide_among;
use crate::store;

/// Page size of the conversation list when the client gives none.
pub const CONVERSATION_PAGE_DEFAULT: u64 = PageLimit::CONVERSATIONS.default;
/// Largest page of the conversation list a client may ask for.
pub const CONVERSATION_PAGE_MAX: u64 = PageLimit::CONVERSATIONS.max;

/// A position in the conversation list (newest activity first): a page
/// `before` it holds the conversations that come after it in the list.
///
/// The list is ordered by last activity, then by id, both descending; the
/// cursor carries both, so conversations with the same activity time are
/// neither skipped nor repeated across pages. Its text form,
/// `<unix microseconds>_<id>`, is what `next_before` carries; clients treat it
/// as opaque.
///
/// ```
/// use chat_core::service::ConversationCursor;
///
/// let cursor: ConversationCursor = "1767225600000001_42".parse().unwrap();
/// assert_eq!(cursor.id.get(), 42);
/// assert_eq!(cursor.to_string(), "1767225600000001_42");
/// assert!("yesterday".parse::<ConversationCursor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    /// Last activity (last message, or creation) of the conversation at the position.
    pub last_activity: DateTime<Utc>,
    /// Its id.
    pub id: ConversationId,
}

impl fmt::Display for ConversationCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.last_activity.timestamp_micros(), self.id)
    }
}

impl FromStr for ConversationCursor {
    type Err = ChatError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ChatError::field("before", "not a cursor from next_before");
        let (micros, id) = text.split_once('_').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let id: i64 = id.parse().map_err(|_| invalid())?;
        let id = ConversationId::try_from(id).map_err(|_| invalid())?;
        let last_activity = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        Ok(ConversationCursor { last_activity, id })
    }
}

/// Which page of the conversation list to read; see
/// [`ChatHandle::conversation_page`].
///
/// ```
/// use chat_core::service::ConversationListQuery;
///
/// let first = ConversationListQuery::default();
/// let next = ConversationListQuery { before: Some("1767225600000001_42".parse().unwrap()), limit: Some(50) };
/// # let _ = (first, next);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ConversationListQuery {
    /// Conversations after this position (older activity); the newest when `None`.
    pub before: Option<ConversationCursor>,
    /// Page size, 1..=[`CONVERSATION_PAGE_MAX`]; [`CONVERSATION_PAGE_DEFAULT`] when `None`.
    pub limit: Option<u64>,
}

/// One page of the conversation list.
///
/// ```no_run
/// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
/// use chat_core::service::ConversationListQuery;
///
/// let mut query = ConversationListQuery::default();
/// let mut all = Vec::new();
/// loop {
///     let page = chat.conversation_page(me, query).await?;
///     all.extend(page.conversations);
///     match page.next_before {
///         Some(cursor) => query.before = Some(cursor.parse()?),
///         None => break,
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationPage {
    /// Most recent activity first.
    pub conversations: Vec<Conversation>,
    /// Whether older conversations follow.
    pub has_more: bool,
    /// The `before` of the next page; `null` on the last page.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub next_before: Option<String>,
}

impl ChatHandle {
    /// A page of the caller's conversations, most recent activity first, each
    /// with up to `embedded_members` members, its member count, last message
    /// and unread count. Page with [`ConversationPage::next_before`]; a
    /// `limit` outside 1..=[`CONVERSATION_PAGE_MAX`] is `validation_failed`.
    ///
    /// Two bounded queries: the page's ids (memberships joined with their
    /// conversations, ordered by activity), then the page's details.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::ConversationListQuery;
    ///
    /// let page = chat.conversation_page(me, ConversationListQuery::default()).await?;
    /// let unread: i64 = page.conversations.iter().map(|c| c.unread_count).sum();
    /// # let _ = unread; Ok(()) }
    /// ```
    pub async fn conversation_page(
        &self,
        caller: UserId,
        query: ConversationListQuery,
    ) -> ChatResult<ConversationPage> {
        let limit = PageLimit::CONVERSATIONS.resolve(query.limit)?;
        let after = query.before.map(|c| (c.last_activity, c.id));
        let mut positions =
            store::conversations::list_positions(self.db(), caller, after, limit + 1).await?;
        let has_more = positions.len() as u64 > limit;
        positions.truncate(limit as usize);
        let positions: Vec<ConversationCursor> = positions
            .into_iter()
            .map(|p| ConversationCursor {
                id: p.id,
                last_activity: p.last_activity,
            })
            .collect();
        let ids: Vec<ConversationId> = positions.iter().map(|p| p.id).collect();
        let mut conversations = self.conversation_views(caller, &ids).await?;
        // Both queries order alike; a message committed between them may have
        // moved a conversation, so keep the order the cursor was taken in.
        let rank: HashMap<ConversationId, usize> = positions
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        conversations.sort_by_key(|c| rank.get(&c.id).copied());
        let next_before = match (has_more, positions.last()) {
            (true, Some(last)) => Some(last.to_string()),
            _ => None,
        };
        Ok(ConversationPage {
            conversations,
            has_more,
            next_before,
        })
    }

    /// Up to `limit` ids of the user's conversations greater than `after`
    /// (from the first when `None`), in id order: page through them with the
    /// last id of each page.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, user: chat_core::ids::UserId)
    /// #     -> Result<(), chat_core::ChatError> {
    /// let mut after = None;
    /// loop {
    ///     let ids = chat.conversation_ids_after(user, after, 1000).await?;
    ///     let Some(&last) = ids.last() else { break };
    ///     after = Some(last);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn conversation_ids_after(
        &self,
        user_id: UserId,
        after: Option<ConversationId>,
        limit: u64,
    ) -> ChatResult<Vec<ConversationId>> {
        let after = after.map_or(0, ConversationId::get);
        Ok(store::members::conversation_ids_after(self.db(), user_id, after, limit).await?)
    }
}

impl ChatHandle {
    /// One conversation as `caller` sees it; `not_found` when it does not exist
    /// or is private and the caller is not in it, `not_a_member` for a public
    /// room the caller has not joined.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// let conversation = chat.conversation(me, general).await?;
    /// println!("{} members, {} unread", conversation.member_count, conversation.unread_count);
    /// # Ok(()) }
    /// ```
    pub async fn conversation(
        &self,
        caller: UserId,
        conversation_id: ConversationId,
    ) -> ChatResult<Conversation> {
        match self
            .conversation_views(caller, &[conversation_id])
            .await?
            .pop()
        {
            Some(mut conversation) => {
                if conversation.kind == ConversationKind::Group {
                    conversation.online_count = self.online_count(conversation_id).await?;
                }
                Ok(conversation)
            }
            None => Err(self.outsider(conversation_id).await?),
        }
    }

    /// The conversations of `conversation_ids` the caller is a member of, as
    /// the caller sees them (members who blocked them show no presence), most
    /// recent activity first.
    pub(crate) async fn conversation_views(
        &self,
        caller: UserId,
        conversation_ids: &[ConversationId],
    ) -> ChatResult<Vec<Conversation>> {
        let mut views = self.shared_views(caller, conversation_ids).await?;
        let blockers = &self.blocks_of(caller).await?.blocked_by;
        for view in &mut views {
            hide_among(&mut view.members, blockers);
        }
        Ok(views)
    }

    /// As [`conversation_views`](Self::conversation_views), with every
    /// member's presence: for a payload other members receive too (see
    /// [`broadcast_showing_presence`](Self::broadcast_showing_presence)).
    pub(crate) async fn shared_views(
        &self,
        caller: UserId,
        conversation_ids: &[ConversationId],
    ) -> ChatResult<Vec<Conversation>> {
        let embedded = self.config().embedded_members;
        Ok(store::conversations::views(self.db(), caller, conversation_ids, embedded).await?)
    }
}
