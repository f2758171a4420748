//! Web Push for the host: the public key, devices subscribing and leaving,
//! starting the senders; and, on the send path, who is to be notified.
//! The delivery itself is in [`push`](crate::push).
use std::sync::atomic::Ordering;

use super::writer::Notify;
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::ids::{ConversationId, UserId};
use crate::model::MessageType;
use crate::push::{NewSubscription, Push, disabled, worker};
use crate::store::{self, now};

impl ChatHandle {
    fn push(&self) -> ChatResult<&Push> {
        self.inner.push.as_deref().ok_or_else(disabled)
    }

    /// The VAPID public key browsers subscribe with (base64url, 65 bytes
    /// uncompressed), when push is configured.
    pub fn push_public_key(&self) -> Option<String> {
        self.inner
            .push
            .as_ref()
            .map(|push| push.config.vapid.public_base64())
    }

    /// Stores a device's subscription for `user_id`, owned by the login
    /// session `session_id` (ending the session drops it). The same
    /// endpoint subscribing again moves to this user and session.
    /// `validation_failed` for an endpoint the server may not post to or
    /// keys it cannot encrypt for; `too_many_subscriptions` past
    /// [`max_subscriptions_per_user`](crate::push::PushConfig::max_subscriptions_per_user);
    /// `push_disabled` when push is not configured.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// let body = r#"{"endpoint": "https://push.example.net/send/abc",
    ///     "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    ///              "auth": "tBHItJI5svbpez7KI4CCXg"}}"#;
    /// let subscription = serde_json::from_str(body).expect("a subscription");
    /// chat.subscribe_push(me, Some("4f1c9e2a"), subscription).await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_push(
        &self,
        user_id: UserId,
        session_id: Option<&str>,
        subscription: NewSubscription,
    ) -> ChatResult<()> {
        let push = self.push()?;
        let row = subscription.validated(push.config.endpoints)?;
        let db = self.db();
        store::push::upsert_subscription(db, user_id, session_id, &row, now()).await?;
        let held = store::push::count_subscriptions(db, user_id).await?;
        if held > push.config.max_subscriptions_per_user {
            store::push::delete_subscription(db, user_id, &row.endpoint).await?;
            return Err(ChatError::Conflict {
                code: "too_many_subscriptions",
                message: "too many devices subscribed: unsubscribe one first",
            });
        }
        Ok(())
    }

    /// Removes `user_id`'s subscription of `endpoint` (sign-out, the user
    /// turning notifications off); whether there was one.
    pub async fn unsubscribe_push(&self, user_id: UserId, endpoint: &str) -> ChatResult<bool> {
        self.push()?;
        Ok(store::push::delete_subscription(self.db(), user_id, endpoint).await?)
    }

    /// Starts this instance's sender (idempotent; needs the Tokio runtime).
    /// It also sends what earlier runs left in the outbox. Stops with the
    /// engine. Does nothing when push is not configured.
    pub fn start_push(&self) {
        let Some(push) = self.inner.push.clone() else {
            return;
        };
        if push.started.swap(true, Ordering::AcqRel) {
            return;
        }
        // Who has no live socket is read from the online set it keeps.
        self.ensure_online_ticker();
        let db = self.db().clone();
        self.inner
            .tasks
            .spawn_draining(move |stop| worker::run(db, push, stop));
    }

    /// Who a new message notifies, when push is on: the members of
    /// `conversation_id` but `sender` with no live socket on any instance
    /// (from memory: the cached member set and the online set); nobody for
    /// a `system` notice (someone joined or left). Whether they have devices,
    /// and muted the conversation, is left to the statement that queues the
    /// notifications.
    pub(crate) async fn to_notify(
        &self,
        conversation_id: ConversationId,
        message_type: MessageType,
        sender: UserId,
    ) -> ChatResult<Option<Notify>> {
        let Some(push) = &self.inner.push else {
            return Ok(None);
        };
        if !push.started.load(Ordering::Acquire) || message_type == MessageType::System {
            return Ok(None);
        }
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        let users: Vec<UserId> = {
            let online = self.inner.online.state();
            members
                .ids
                .iter()
                .copied()
                .filter(|&id| {
                    id != sender
                        && !online.online.contains(&id)
                        && !self.inner.presence.is_online(id)
                })
                .collect()
        };
        Ok((!users.is_empty()).then(|| Notify {
            users,
            after: push.config.collapse,
        }))
    }
}
