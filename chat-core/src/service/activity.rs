//! Typing indicators and presence announcements.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use super::db::{now, placeholders, query_ids, stmt};
use crate::ChatHandle;
use crate::cluster::{PresenceChange, PresenceWriter};
use crate::error::{ChatError, ChatResult};
use crate::socket::auth::Identity;
use crate::socket::emitter::{Target, conversation_room, user_room};
use crate::socket::events;
use futures_util::StreamExt;
use sea_orm::ConnectionTrait;
use std::sync::atomic::Ordering;

/// Users per presence status update.
const STATUS_BATCH: usize = 500;
/// Presence announcements (a room lookup and a broadcast each) at once.
const ANNOUNCE_CONCURRENCY: usize = 16;
/// Backoff between attempts to write presence to Redis.
const WRITE_RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(50);
const WRITE_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);
/// Single instance: least time between two presence batches, which bounds
/// presence writes to a few statements per interval whatever the churn.
const PRESENCE_FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// `typing:start` / `typing:stop` as relayed to the other members.
///
/// ```
/// use chat_core::service::Typing;
/// let typing: Typing =
///     serde_json::from_str(r#"{"conversation_id": 42, "user_id": 7, "username": "alice"}"#).unwrap();
/// println!("{} is typing...", typing.username);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Typing {
    /// Conversation.
    pub conversation_id: i64,
    /// Who is typing.
    pub user_id: i64,
    /// Their username.
    pub username: String,
}

/// `user:online` / `user:offline`.
///
/// ```
/// use chat_core::service::Presence;
/// let online = Presence { user_id: 7, username: "alice".into(), last_seen: None };
/// let json = serde_json::to_value(&online).unwrap();
/// assert!(json.get("last_seen").is_none()); // only `user:offline` carries it
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Presence {
    /// User.
    pub user_id: i64,
    /// Username.
    pub username: String,
    /// When the last connection closed (`user:offline` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

impl ChatHandle {
    /// Relays `typing:start` to the other members and arms the automatic stop
    /// (`typing_timeout` after the last start); call it again to keep the
    /// indicator alive. The typist's own sockets hear nothing; `origin` is the
    /// socket it came from (`None` for REST or bots). Members only
    /// (`not_found`, or `not_a_member` for a public room).
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// use chat_core::service::SendMessage;
    /// use chat_core::socket::auth::Identity;
    ///
    /// let bot = Identity { user_id: 99, username: "helper-bot".into(), session_id: None, expires_at: None };
    /// chat.typing_start(&bot, 42, None).await?;
    /// // Sending stops the indicator: no `typing_stop` needed.
    /// chat.send_message(bot.user_id, SendMessage::text(42, "Here is the answer."), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn typing_start(
        &self,
        user: &Identity,
        conversation_id: i64,
        origin: Option<Sid>,
    ) -> ChatResult<()> {
        self.require_member(conversation_id, user.user_id).await?;
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
    /// # async fn demo(chat: chat_core::ChatHandle) -> Result<(), chat_core::ChatError> {
    /// # use chat_core::socket::auth::Identity;
    /// # let bot = Identity { user_id: 99, username: "helper-bot".into(), session_id: None, expires_at: None };
    /// chat.typing_start(&bot, 42, None).await?;
    /// // ... decided not to answer after all:
    /// chat.typing_stop(&bot, 42, None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn typing_stop(
        &self,
        user: &Identity,
        conversation_id: i64,
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
        user_id: i64,
        username: &str,
        conversation_id: i64,
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

    fn ensure_typing_expiry_task(&self) {
        let receiver = match self.inner.typing_expired.lock() {
            Ok(mut slot) => slot.take(),
            Err(_) => None,
        };
        let Some(mut receiver) = receiver else { return };
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(expired) = receiver.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                let chat = ChatHandle { inner };
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

    /// Conversations whose members hear about this user's presence: direct
    /// ones and groups of at most `presence_fanout_limit` members.
    async fn presence_rooms(&self, user_id: i64) -> ChatResult<Vec<String>> {
        let ids = query_ids(
            self.db(),
            "SELECT me.conversation_id FROM conversation_members me \
             JOIN conversations c ON c.id = me.conversation_id \
             WHERE me.user_id = $1 AND (c.type = 'direct' OR \
               (SELECT COUNT(*) FROM conversation_members x WHERE x.conversation_id = c.id) <= $2)",
            vec![
                user_id.into(),
                (self.config().presence_fanout_limit as i64).into(),
            ],
        )
        .await?;
        Ok(ids.into_iter().map(conversation_room).collect())
    }

    async fn set_status(&self, user_id: i64, online: bool) -> ChatResult<Option<DateTime<Utc>>> {
        let backend = self.db().get_database_backend();
        let at = now();
        let (sql, values) = if online {
            (
                "UPDATE users SET status = 'online' WHERE id = $1",
                vec![user_id.into()],
            )
        } else {
            (
                "UPDATE users SET status = 'offline', last_seen = $2 WHERE id = $1",
                vec![user_id.into(), at.into()],
            )
        };
        self.db().execute_raw(stmt(backend, sql, values)).await?;
        Ok((!online).then_some(at))
    }

    /// Counts a socket of `user` opening or closing. On the user's first socket
    /// (over all instances when clustered) persists `online`; on the last,
    /// `offline` and `last_seen`; either way tells the users who share a small
    /// conversation with them. Clustered, Redis is updated (and the change
    /// announced) by the presence writer task, shortly after this returns.
    pub(crate) async fn socket_presence(&self, user: &Identity, opened: bool) -> ChatResult<()> {
        metrics::gauge!("chat_connected_sockets").increment(if opened { 1.0 } else { -1.0 });
        let changed = if opened {
            self.inner.presence.connect(user.user_id)
        } else {
            self.inner.presence.disconnect(user.user_id)
        };
        if let Some(cluster) = &self.inner.cluster {
            cluster.socket_changed(user.user_id, &user.username);
            return Ok(());
        }
        if changed {
            self.ensure_local_presence_writer();
            self.inner
                .presence_writer
                .mark(user.user_id, &user.username);
        }
        Ok(())
    }

    /// Starts, on first use, the task storing and announcing a single
    /// instance's presence changes in batches (see
    /// [`PresenceBatches`](super::presence::PresenceBatches)).
    fn ensure_local_presence_writer(&self) {
        let batches = self.inner.presence_writer.clone();
        if batches.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            // Users stored as online by this task.
            let mut online = std::collections::HashSet::new();
            loop {
                if !batches.has_work() {
                    // Wakes now and then to notice the engine is gone.
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        batches.wake.notified(),
                    )
                    .await;
                }
                let Some(inner) = weak.upgrade() else { break };
                let mut changes = Vec::new();
                for (user_id, username) in batches.take() {
                    // A user who came and went since the last batch changed nothing.
                    let now = inner.presence.is_online(user_id);
                    let stored = if now {
                        !online.insert(user_id)
                    } else {
                        online.remove(&user_id)
                    };
                    if now != stored {
                        changes.push(PresenceChange {
                            user_id,
                            username,
                            online: now,
                        });
                    }
                }
                let wrote = !changes.is_empty();
                if wrote {
                    batches.flushes.fetch_add(1, Ordering::Relaxed);
                    ChatHandle { inner }.announce_changes(changes).await;
                }
                batches.done();
                if wrote {
                    tokio::time::sleep(PRESENCE_FLUSH_INTERVAL).await;
                }
            }
        });
    }

    /// Whether the presence changes of this instance's sockets are all
    /// stored and announced.
    pub(crate) fn presence_idle(&self) -> bool {
        match &self.inner.cluster {
            Some(cluster) => cluster.pending.is_idle(),
            None => self.inner.presence_writer.is_idle(),
        }
    }

    /// Stores and announces the presence changes of one Redis write: one
    /// status update per direction (a burst of thousands of users must not
    /// take a database connection each), then the announcements.
    async fn announce_changes(&self, mut changes: Vec<PresenceChange>) {
        let at = now();
        self.store_statuses(&changes, at).await;
        // Another instance may have stored the opposite change of the same
        // user just before this one (their writes race in the database):
        // reading Redis after storing and storing what it says makes the last
        // status stored the one Redis has at the end.
        if let Some(cluster) = &self.inner.cluster {
            let users: Vec<i64> = changes.iter().map(|c| c.user_id).collect();
            match cluster.totals(&users).await {
                Ok(totals) => {
                    let mut stale: Vec<PresenceChange> = Vec::new();
                    for (change, total) in changes.iter_mut().zip(totals) {
                        if change.online != (total > 0) {
                            change.online = total > 0;
                            stale.push(change.clone());
                        }
                    }
                    if !stale.is_empty() {
                        self.store_statuses(&stale, at).await;
                    }
                }
                Err(err) => tracing::warn!(%err, "presence not checked after storing"),
            }
        }
        let announcements = changes.into_iter().map(|change| async move {
            let identity = Identity {
                user_id: change.user_id,
                username: change.username,
                session_id: None,
                expires_at: None,
            };
            let (event, last_seen) = if change.online {
                (events::USER_ONLINE, None)
            } else {
                (events::USER_OFFLINE, Some(at))
            };
            if let Err(err) = self.announce(&identity, event, last_seen).await {
                tracing::error!(%err, user_id = identity.user_id, "presence not announced");
            }
        });
        futures_util::stream::iter(announcements)
            .for_each_concurrent(ANNOUNCE_CONCURRENCY, |a| a)
            .await;
    }

    /// Stores `online`, or `offline` and `last_seen`, for many users at once.
    async fn store_statuses(&self, changes: &[PresenceChange], at: DateTime<Utc>) {
        let backend = self.db().get_database_backend();
        for online in [true, false] {
            let ids: Vec<i64> = changes
                .iter()
                .filter(|c| c.online == online)
                .map(|c| c.user_id)
                .collect();
            for chunk in ids.chunks(STATUS_BATCH) {
                let list = placeholders(if online { 1 } else { 2 }, chunk.len());
                let (sql, mut values) = if online {
                    (
                        format!("UPDATE users SET status = 'online' WHERE id IN ({list})"),
                        Vec::new(),
                    )
                } else {
                    (
                        format!(
                            "UPDATE users SET status = 'offline', last_seen = $1 WHERE id IN ({list})"
                        ),
                        vec![at.into()],
                    )
                };
                values.extend(chunk.iter().map(|&id| sea_orm::Value::from(id)));
                if let Err(err) = self.db().execute_raw(stmt(backend, &sql, values)).await {
                    tracing::error!(%err, users = chunk.len(), online, "presence status not stored");
                }
            }
        }
    }

    async fn announce(
        &self,
        user: &Identity,
        event: &'static str,
        last_seen: Option<DateTime<Utc>>,
    ) -> ChatResult<()> {
        let rooms = self.presence_rooms(user.user_id).await?;
        if rooms.is_empty() {
            return Ok(());
        }
        let presence = Presence {
            user_id: user.user_id,
            username: user.username.clone(),
            last_seen,
        };
        // Users this one blocked share conversations but hear nothing.
        let mut except_rooms = vec![user_room(user.user_id)];
        except_rooms.extend(
            self.blocked_by(user.user_id)
                .await?
                .into_iter()
                .map(user_room),
        );
        let target = Target {
            rooms,
            except_socket: None,
            except_rooms,
        };
        self.broadcast(target, event, &presence).await;
        Ok(())
    }

    /// Keeps this instance's presence heartbeat alive, takes over the users
    /// of instances that died without a goodbye, and runs the presence writer.
    pub(crate) fn spawn_presence_tasks(&self) {
        let Some(cluster) = &self.inner.cluster else {
            return;
        };
        let period = (cluster.ttl / 3).max(std::time::Duration::from_millis(200));
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let chat = ChatHandle { inner };
                if let Err(err) = chat.presence_round().await {
                    tracing::warn!(%err, "presence heartbeat failed");
                }
            }
        });
        self.spawn_presence_writer(cluster.pending.clone());
    }

    /// The one task writing this instance's presence to Redis. Announcements
    /// run on their own task, batch after batch (so a user's changes are
    /// announced in order), while the writer goes on with the next batch.
    fn spawn_presence_writer(&self, pending: std::sync::Arc<crate::cluster::PendingPresence>) {
        let (announce_tx, mut announce_rx) =
            tokio::sync::mpsc::unbounded_channel::<Vec<PresenceChange>>();
        let weak = std::sync::Arc::downgrade(&self.inner);
        let announced = pending.clone();
        tokio::spawn(async move {
            while let Some(changes) = announce_rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                ChatHandle { inner }.announce_changes(changes).await;
                announced.announcing.fetch_sub(1, Ordering::AcqRel);
            }
        });
        let weak = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut writer = PresenceWriter::default();
            let mut backoff = WRITE_RETRY_MIN;
            loop {
                if !pending.has_work() && !writer.has_retry() {
                    // Wakes now and then to notice the engine is gone.
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        pending.wake.notified(),
                    )
                    .await;
                }
                let Some(inner) = weak.upgrade() else { break };
                let Some(cluster) = &inner.cluster else { break };
                let mut changes = Vec::new();
                let written = cluster
                    .flush_presence(&inner.presence, &mut writer, &mut changes)
                    .await;
                drop(inner);
                if !changes.is_empty() {
                    pending.announcing.fetch_add(1, Ordering::AcqRel);
                    if announce_tx.send(changes).is_err() {
                        break;
                    }
                }
                match written {
                    Ok(()) => backoff = WRITE_RETRY_MIN,
                    Err(err) => {
                        // The users are pending again: retried, never dropped.
                        tracing::warn!(%err, "presence write failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(WRITE_RETRY_MAX);
                    }
                }
            }
        });
    }

    async fn presence_round(&self) -> ChatResult<()> {
        let Some(cluster) = &self.inner.cluster else {
            return Ok(());
        };
        let adapter = |e: crate::cluster::ClusterError| ChatError::Adapter(e.to_string());
        cluster.heartbeat().await.map_err(adapter)?;
        for user_id in cluster.reap_dead_instances().await.map_err(adapter)? {
            let user = self.user_row(user_id).await?;
            let identity = Identity {
                user_id,
                username: user.username,
                session_id: None,
                expires_at: None,
            };
            let last_seen = self.set_status(user_id, false).await?;
            self.announce(&identity, events::USER_OFFLINE, last_seen)
                .await?;
        }
        Ok(())
    }

    /// Marks every user offline. For a single instance at start: after a crash
    /// the database may still say `online` for users who are long gone. (With
    /// Redis the survivors' reaper does this for dead instances instead.)
    ///
    /// ```no_run
    /// # async fn demo(db: sea_orm::DatabaseConnection) -> Result<(), chat_core::ChatError> {
    /// let (layer, chat) = chat_core::ChatCore::builder(db).build();
    /// chat.reset_presence().await?; // before accepting connections
    /// # let _ = layer; Ok(()) }
    /// ```
    pub async fn reset_presence(&self) -> ChatResult<()> {
        let backend = self.db().get_database_backend();
        self.db()
            .execute_raw(stmt(
                backend,
                "UPDATE users SET status = 'offline' WHERE status = $1",
                vec!["online".into()],
            ))
            .await?;
        Ok(())
    }

    /// Whether the user has a live socket on this instance. (Over all
    /// instances, read the stored `status` of the user instead.)
    ///
    /// ```
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// if !chat.is_online(7) {
    ///     // e.g. send a push notification instead
    /// }
    /// ```
    pub fn is_online(&self, user_id: i64) -> bool {
        self.inner.presence.is_online(user_id)
    }

    /// Users with a live socket on this instance, in no particular order.
    ///
    /// ```
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// let connected = chat.online_users();
    /// println!("{} users connected here", connected.len());
    /// ```
    pub fn online_users(&self) -> Vec<i64> {
        self.inner.presence.online_users()
    }
}

/// Typing events go to the other members only: not back to the typist's own
/// sockets.
fn typing_target(conversation_id: i64, user_id: i64, origin: Option<Sid>) -> Target {
    Target {
        rooms: vec![conversation_room(conversation_id)],
        except_socket: origin,
        except_rooms: vec![user_room(user_id)],
    }
}
