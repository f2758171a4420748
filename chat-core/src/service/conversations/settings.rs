//! A member's own settings of a conversation: muting.
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::ids::{ConversationId, UserId};
use crate::model::Conversation;
use crate::store;

/// The body of `PUT /api/conversations/:id/settings`.
///
/// ```
/// use chat_core::service::ConversationSettings;
///
/// let mute: ConversationSettings = serde_json::from_str(r#"{"muted_until": "2026-12-24T08:00:00Z"}"#)?;
/// assert!(mute.muted_until.is_some());
/// let unmute: ConversationSettings = serde_json::from_str(r#"{"muted_until": null}"#)?;
/// assert!(unmute.muted_until.is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationSettings {
    /// Until when the conversation is muted for the caller; `None` (or
    /// absent) unmutes it.
    #[serde(default)]
    pub muted_until: Option<DateTime<Utc>>,
    /// While muted, silence mentions too (absent: `false`). A muted group
    /// otherwise still notifies the caller when they are mentioned.
    #[serde(default)]
    pub mute_mentions: bool,
}

impl ChatHandle {
    /// Changes the caller's own settings of a conversation and returns the
    /// conversation as they see it now, with `muted_until`. Members only
    /// (`not_found`, or `not_a_member` for a public room). Muting hides
    /// nothing: a muted conversation still delivers every event; it is what
    /// notifications skip.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
    /// #     noisy: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::ConversationSettings;
    ///
    /// let until = chrono::Utc::now() + chrono::Duration::hours(8);
    /// let settings = ConversationSettings { muted_until: Some(until), mute_mentions: false };
    /// let conversation = chat.update_settings(me, noisy, settings).await?;
    /// assert!(conversation.muted_until.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn update_settings(
        &self,
        caller: UserId,
        conversation_id: ConversationId,
        settings: ConversationSettings,
    ) -> ChatResult<Conversation> {
        self.require_member(conversation_id, caller).await?;
        if !store::members::set_mute(
            self.db(),
            conversation_id,
            caller,
            settings.muted_until,
            settings.mute_mentions,
        )
        .await?
        {
            // Left between the check and the write.
            return Err(ChatError::NotFound("conversation"));
        }
        self.conversation(caller, conversation_id).await
    }
}
