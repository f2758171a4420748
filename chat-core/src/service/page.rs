//! [`PageLimit`]: the one rule for the size of every page a client asks for.
use crate::error::{ChatError, ChatResult};

/// The page sizes a paginated operation accepts: 1 to `max`, `default` when
/// the client asks for none. Every paginated operation of [`ChatHandle`](crate::ChatHandle)
/// takes the client's `limit` as it came and applies its `PageLimit`, so an
/// out-of-range size is `validation_failed` everywhere, never silently changed.
///
/// ```
/// use chat_core::service::PageLimit;
///
/// assert_eq!(PageLimit::MEMBERS.resolve(None)?, 100);
/// assert_eq!(PageLimit::MEMBERS.resolve(Some(7))?, 7);
/// let err = PageLimit::MEMBERS.resolve(Some(0)).unwrap_err();
/// assert_eq!(err.details().unwrap()["limit"], ["must be between 1 and 500"]);
/// # Ok::<(), chat_core::ChatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit {
    /// Page size when the client gives none.
    pub default: u64,
    /// Largest page a client may ask for.
    pub max: u64,
}

impl PageLimit {
    /// The conversation list ([`ChatHandle::conversation_page`](crate::ChatHandle::conversation_page)).
    pub const CONVERSATIONS: PageLimit = PageLimit {
        default: 100,
        max: 200,
    };
    /// A conversation's members ([`ChatHandle::list_members`](crate::ChatHandle::list_members)).
    pub const MEMBERS: PageLimit = PageLimit {
        default: 100,
        max: 500,
    };
    /// Public rooms ([`ChatHandle::public_rooms`](crate::ChatHandle::public_rooms)).
    pub const ROOMS: PageLimit = PageLimit {
        default: 50,
        max: 100,
    };
    /// User search ([`ChatHandle::search_users`](crate::ChatHandle::search_users)).
    pub const USER_SEARCH: PageLimit = PageLimit {
        default: 20,
        max: 50,
    };
    /// Message search ([`ChatHandle::search_messages`](crate::ChatHandle::search_messages)).
    pub const MESSAGE_SEARCH: PageLimit = PageLimit {
        default: 20,
        max: 50,
    };

    /// The page size for a client's `requested` size.
    ///
    /// ```
    /// use chat_core::service::PageLimit;
    /// let history = PageLimit { default: 50, max: 100 };
    /// assert_eq!(history.resolve(None)?, 50);
    /// assert!(history.resolve(Some(101)).is_err());
    /// # Ok::<(), chat_core::ChatError>(())
    /// ```
    pub fn resolve(self, requested: Option<u64>) -> ChatResult<u64> {
        let limit = requested.unwrap_or(self.default);
        if limit == 0 || limit > self.max {
            return Err(ChatError::field(
                "limit",
                format!("must be between 1 and {}", self.max),
            ));
        }
        Ok(limit)
    }
}
