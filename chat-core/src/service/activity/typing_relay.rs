//! Typing indicators relayed to the other members of a conversation:
//! [`Typing`], `typing:start` and `typing:stop` (also sent when an indicator
//! runs out, see [`TypingTracker`](crate::service::typing::TypingTracker)).
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::ChatHandle;
use crate::error::ChatResult;
use crate::fanout::{Target, conversation_room, user_room};
use crate::ids::{ConversationId, UserId};
use crate::protocol as events;
use crate::socket::auth::Identity;

/// `typing:start` / `typing:stop` as relayed to the other members.
///
/// ```
/// use chat_core::service::Typing;
/// let typing: Typing =
///     serde_json::from_str(r#"{"conversation_id": 42, "user_id": 7, "username": "alice"}"#).unwrap();
/// println!("{} is typing...", typing.username);
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Typing {
    /// Conversation.
    pub conversation_id: ConversationId,
    /// Who is typing.
    pub user_id: UserId,
    /// Their username.
    pub username: String,
}

impl ChatHandle {
    /// Relays `typing:start` to the other members and arms the automatic stop
    /// (`typing_timeout` after the last start); call it again to keep the
    /// indicator alive. The typist's own sockets hear nothing; `origin` is the
    /// socket it came from (`None` for REST or bots). Members only
    /// (`not_found`, or `not_a_member` for a public room). In a direct
    /// conversation where either user blocked the other it succeeds and
    /// relays nothing.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, bot_id: chat_core::ids::UserId, general: chat_core::ids::ConversationId)
    /// #     -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::SendMessage;
    /// use chat_core::socket::auth::Identity;
    ///
    /// let bot = Identity { user_id: bot_id, username: "helper-bot".into(), session_id: None, expires_at: None };
    /// chat.typing_start(&bot, general, None).await?;
    /// // Sending stops the indicator: no `typing_stop` needed.
    /// chat.send_message(bot.user_id, SendMessage::text(general, "Here is the answer."), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn typing_start(
        &self,
        user: &Identity,
        conversation_id: ConversationId,
        origin: Option<Sid>,
    ) -> ChatResult<()> {
        if self
            .member_block(conversation_id, user.user_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        self.ensure_typing_expiry_task();
        self.inner
            .typing
            .start(conversation_id, user.user_id, &user.username);
        let typing = Typing {
            conversation_id,
            user_id: user.user_id,
            username: user.username.clone(),
        };
        self.broadcast(
            typing_target(conversation_id, user.user_id, origin),
            events::TYPING_START,
            &typing,
        )
        .await;
        Ok(())
    }

    /// Relays `typing:stop` if the user was typing there (nothing otherwise).
    /// Members only (`not_found`, or `not_a_member` for a public room).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, bot_id: chat_core::ids::UserId, general: chat_core::ids::ConversationId)
    /// #     -> Result<(), chat_core::ChatError> {
    /// # use chat_core::socket::auth::Identity;
    /// # let bot = Identity { user_id: bot_id, username: "helper-bot".into(), session_id: None, expires_at: None };
    /// chat.typing_start(&bot, general, None).await?;
    /// // ... decided not to answer after all:
    /// chat.typing_stop(&bot, general, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn typing_stop(
        &self,
        user: &Identity,
        conversation_id: ConversationId,
        origin: Option<Sid>,
    ) -> ChatResult<()> {
        self.require_member(conversation_id, user.user_id).await?;
        self.stop_typing(user.user_id, &user.username, conversation_id, origin)
            .await;
        Ok(())
    }

    /// Sends `typing:stop` when the user was typing in the conversation.
    pub(crate) async fn stop_typing(
        &self,
        user_id: UserId,
        username: &str,
        conversation_id: ConversationId,
        origin: Option<Sid>,
    ) {
        if self.inner.typing.stop(conversation_id, user_id) {
            let typing = Typing {
                conversation_id,
                user_id,
                username: username.to_owned(),
            };
            self.broadcast(
                typing_target(conversation_id, user_id, origin),
                events::TYPING_STOP,
                &typing,
            )
            .await;
        }
    }

    /// Starts, on first use, the task sending `typing:stop` for the typing
    /// states that ran out (building the engine needs no runtime).
    fn ensure_typing_expiry_task(&self) {
        let receiver = match self.inner.typing_expired.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        let Some(mut receiver) = receiver else { return };
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn(async move {
            while let Some(expired) = receiver.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                let chat = ChatHandle::from_inner(inner);
                let typing = Typing {
                    conversation_id: expired.conversation_id,
                    user_id: expired.user_id,
                    username: expired.username,
                };
                chat.broadcast(
                    typing_target(typing.conversation_id, typing.user_id, None),
                    events::TYPING_STOP,
                    &typing,
                )
                .await;
            }
        });
    }
}

/// Typing events go to the other members only: not back to the typist's own
/// sockets.
fn typing_target(conversation_id: ConversationId, user_id: UserId, origin: Option<Sid>) -> Target {
    Target {
        rooms: vec![conversation_room(conversation_id)],
        except_socket: origin,
        except_rooms: vec![user_room(user_id)],
    }
}
