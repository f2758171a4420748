//! Ending login sessions: recorded in `revoked_sessions`, so credentials
//! issued for them are refused before they expire (checked through the
//! [`session_cache`](super::session_cache)), announced to every instance, and
//! their sockets closed.
use super::session_cache::{session_message, user_message};
use crate::ChatHandle;
use crate::error::ChatResult;
use crate::fanout::{Target, session_room, user_room};
use crate::ids::UserId;
use crate::socket::auth::Identity;
use crate::store::{self, now};

impl ChatHandle {
    /// Whether credentials of `identity` are still accepted: its user exists
    /// and its login session (if it has one) was not ended with
    /// [`end_session`](Self::end_session) or
    /// [`end_user_sessions`](Self::end_user_sessions).
    ///
    /// The answer is cached for [`session_check_ttl`](crate::ChatConfig::session_check_ttl)
    /// and dropped at once when a session ends on any instance, so calling it
    /// for every REST request costs no query. chat-core calls it on every
    /// handshake and `session:refresh`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// use chat_core::socket::auth::Identity;
    ///
    /// // A REST host, after verifying the token's signature and expiry:
    /// let identity = Identity {
    ///     user_id: me,
    ///     username: "alice".into(),
    ///     session_id: Some("4f1c9e2a".into()),
    ///     expires_at: Some(1_800_000_000),
    /// };
    /// if !chat.session_active(&identity).await? {
    ///     // 401: logged out, or the account is gone.
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn session_active(&self, identity: &Identity) -> ChatResult<bool> {
        Ok(self.inner.sessions.active(self.db(), identity).await?)
    }

    /// Ends one login session: its credentials are refused from now on (on
    /// every instance; see [`session_active`](Self::session_active)) and its
    /// sockets get `session:ended {reason}` and are disconnected. Call it after
    /// revoking the session's refresh tokens (logout, a replayed refresh token).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// // On logout, with the `sid` the access tokens of this login carry:
    /// chat.end_session("4f1c9e2a", "logged_out").await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_session(&self, session_id: &str, reason: &str) -> ChatResult<()> {
        let db = self.db();
        let at = now();
        store::sessions::revoke(db, session_id, at).await?;
        // Its devices stop getting notifications: whoever signs in there next
        // must not see this account's.
        store::push::delete_session_subscriptions(db, session_id).await?;
        self.prune_revoked_sessions().await;
        self.inner.sessions.invalidate_session(session_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster
                .publish_session_change(session_message(session_id))
                .await;
        }
        self.disconnect_session(session_id, reason).await;
        Ok(())
    }

    /// Ends every login session of a user ("log out everywhere", a password
    /// reset): every session with a refresh token that has not expired (see
    /// [`refresh_token`](crate::entity::refresh_token)) is ended as with
    /// [`end_session`](Self::end_session), and every socket of the user gets
    /// `session:ended {reason}` and is disconnected.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// // After a password reset of user 7:
    /// chat.end_user_sessions(me, "password_reset").await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_user_sessions(&self, user_id: UserId, reason: &str) -> ChatResult<()> {
        let db = self.db();
        let at = now();
        store::sessions::revoke_all_of_user(db, user_id, at).await?;
        store::push::delete_user_subscriptions(db, user_id, None).await?;
        self.prune_revoked_sessions().await;
        self.inner.sessions.invalidate_user(user_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_session_change(user_message(user_id)).await;
        }
        self.disconnect_user(user_id, reason).await;
        Ok(())
    }

    /// Ends every login session of a user but `keep` (the caller's own, e.g.
    /// after a password change): the others end as with
    /// [`end_user_sessions`](Self::end_user_sessions), and every socket of the
    /// user outside session `keep` gets `session:ended {reason}` and is
    /// disconnected, on every instance. Sockets of `keep` stay connected and
    /// its credentials stay valid. With `keep` `None`, the same as
    /// `end_user_sessions`.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId) -> Result<(), chat_core::ChatError> {
    /// // After user 7 changed their password from the session "4f1c9e2a":
    /// chat.end_other_sessions(me, Some("4f1c9e2a"), "password_changed").await?;
    /// # Ok(()) }
    /// ```
    pub async fn end_other_sessions(
        &self,
        user_id: UserId,
        keep: Option<&str>,
        reason: &str,
    ) -> ChatResult<()> {
        let Some(keep) = keep else {
            return self.end_user_sessions(user_id, reason).await;
        };
        let db = self.db();
        let at = now();
        store::sessions::revoke_all_of_user_but(db, user_id, Some(keep), at).await?;
        store::push::delete_user_subscriptions(db, user_id, Some(keep)).await?;
        self.prune_revoked_sessions().await;
        // Dropping the user's entries drops the kept session's too: it is
        // looked up again, and found active.
        self.inner.sessions.invalidate_user(user_id);
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_session_change(user_message(user_id)).await;
        }
        let target = Target {
            rooms: vec![user_room(user_id)],
            except_socket: None,
            except_rooms: vec![session_room(keep)],
        };
        self.end_target(target, reason).await;
        Ok(())
    }

    /// Forgets sessions ended long enough ago that no credentials of theirs
    /// can still be valid. A failure only leaves the rows for the next time.
    async fn prune_revoked_sessions(&self) {
        let db = self.db();
        let retention = chrono::Duration::from_std(self.config().revoked_session_retention)
            .unwrap_or(chrono::Duration::days(1));
        let pruned = store::sessions::prune(db, now() - retention).await;
        if let Err(err) = pruned {
            tracing::warn!(%err, "old revoked sessions not pruned");
        }
    }
}
