//! Presence announcements: a socket opening or closing is counted here
//! ([`socket_opened`](ChatHandle::socket_opened),
//! [`socket_closed`](ChatHandle::socket_closed)) and handed to the presence
//! writer of the instance; the changes it reports are stored (`status`,
//! `last_seen`) and announced (`user:online`, `user:offline`, [`Presence`])
//! to the members of the user's small conversations. Who may see whose
//! presence is decided in [`audience`](crate::service::audience).
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::ChatHandle;
use crate::cluster::PresenceChange;
use crate::error::ChatResult;
use crate::fanout::{Target, conversation_room, user_room};
use crate::ids::UserId;
use crate::protocol as events;
use crate::socket::auth::Identity;
use crate::store::now;
use crate::store::presence as store;

/// Presence announcements (a room lookup and a broadcast each) at once.
const ANNOUNCE_CONCURRENCY: usize = 16;

/// `user:online` / `user:offline`.
///
/// ```
/// use chat_core::ids::UserId;
/// use chat_core::service::Presence;
///
/// let alice = UserId::try_from(7)?;
/// let online = Presence { user_id: alice, username: "alice".into(), last_seen: None };
/// let json = serde_json::to_value(&online)?;
/// assert!(json.get("last_seen").is_none()); // only `user:offline` carries it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Presence {
    /// User.
    pub user_id: UserId,
    /// Username.
    pub username: String,
    /// When the last connection closed (`user:offline` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_seen: Option<DateTime<Utc>>,
}

impl ChatHandle {
    /// Counts a socket of `user` that opened. On the user's first socket (over
    /// all instances when clustered) the presence writer stores `online` and
    /// tells the users who share a small conversation with them, shortly
    /// after this returns.
    pub(crate) async fn socket_opened(&self, user: &Identity) -> ChatResult<()> {
        metrics::gauge!("chat_connected_sockets").increment(1.0);
        self.ensure_online_ticker();
        let first = self.inner.presence.connect(user.user_id);
        match &self.inner.cluster {
            // Redis keeps the counts of every socket.
            Some(cluster) => cluster.socket_changed(user.user_id, &user.username),
            None if first => {
                // Marked here too, after the change: the writer skips a user
                // who came and went between its batches, and the online
                // counts must read the final state (see `online_counts`).
                self.inner.online.mark_changed_users([user.user_id]);
                self.mark_local_presence(user);
            }
            None => {}
        }
        Ok(())
    }

    /// Counts a socket of `user` that closed. On the user's last socket (over
    /// all instances when clustered) the presence writer stores `offline` and
    /// `last_seen` and tells the users who share a small conversation with
    /// them, shortly after this returns.
    pub(crate) async fn socket_closed(&self, user: &Identity) -> ChatResult<()> {
        metrics::gauge!("chat_connected_sockets").decrement(1.0);
        let last = self.inner.presence.disconnect(user.user_id);
        match &self.inner.cluster {
            Some(cluster) => cluster.socket_changed(user.user_id, &user.username),
            None if last => {
                self.inner.online.mark_changed_users([user.user_id]);
                self.mark_local_presence(user);
            }
            None => {}
        }
        Ok(())
    }

    /// Stores and announces a batch of presence changes (one Redis write, or
    /// one flush interval of a single instance): one status update per
    /// direction (a burst of thousands of users must not
    /// take a database connection each), then the announcements.
    pub(super) async fn announce_changes(&self, mut changes: Vec<PresenceChange>) {
        let users: Vec<UserId> = changes.iter().map(|c| c.user_id).collect();
        self.online_changed(&users).await;
        let at = now();
        self.store_statuses(&changes, at).await;
        // Another instance may have stored the opposite change of the same
        // user just before this one (their writes race in the database):
        // reading Redis after storing and storing what it says makes the last
        // status stored the one Redis has at the end.
        if let Some(cluster) = &self.inner.cluster {
            let users: Vec<UserId> = changes.iter().map(|c| c.user_id).collect();
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
        // Whom each of them blocked, read for the whole batch at once.
        let users: Vec<UserId> = changes.iter().map(|c| c.user_id).collect();
        if let Err(err) = self.inner.blocks.load_missing(self.db(), &users).await {
            tracing::warn!(%err, "blocks not read for the presence batch");
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
                tracing::error!(%err, user_id = %identity.user_id, "presence not announced");
            }
        });
        futures_util::stream::iter(announcements)
            .for_each_concurrent(ANNOUNCE_CONCURRENCY, |a| a)
            .await;
    }

    /// Stores `online`, or `offline` and `last_seen`, for many users at once
    /// (a statement per direction and [`store::MAX_USERS_PER_UPDATE`] users).
    pub(super) async fn store_statuses(&self, changes: &[PresenceChange], at: DateTime<Utc>) {
        for online in [true, false] {
            let ids: Vec<UserId> = changes
                .iter()
                .filter(|c| c.online == online)
                .map(|c| c.user_id)
                .collect();
            for chunk in ids.chunks(store::MAX_USERS_PER_UPDATE) {
                let stored = if online {
                    store::set_online(self.db(), chunk).await
                } else {
                    store::set_offline(self.db(), chunk, at).await
                };
                if let Err(err) = stored {
                    tracing::error!(%err, users = chunk.len(), online, "presence status not stored");
                }
            }
        }
    }

    /// Conversations whose members hear about this user's presence: direct
    /// ones and groups of at most `presence_fanout_limit` members.
    async fn presence_rooms(&self, user_id: UserId) -> ChatResult<Vec<String>> {
        let limit = self.config().presence_fanout_limit as i64;
        let ids = store::presence_conversations(self.db(), user_id, limit).await?;
        Ok(ids.into_iter().map(conversation_room).collect())
    }

    /// Sends `event` about `user` to the members of their small
    /// conversations, except the users they blocked.
    pub(super) async fn announce(
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
            self.blocks_of(user.user_id)
                .await?
                .blocked
                .iter()
                .map(|&blocked| user_room(blocked)),
        );
        let target = Target {
            rooms,
            except_socket: None,
            except_rooms,
        };
        self.broadcast(target, event, &presence).await;
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
        store::set_everyone_offline(self.db()).await?;
        Ok(())
    }

    /// Whether the user has a live socket on this instance. (Over all
    /// instances, read the stored `status` of the user instead.)
    ///
    /// ```
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// let me = chat_core::ids::UserId::try_from(7)?;
    /// if !chat.is_online(me) {
    ///     // e.g. send a push notification instead
    /// }
    /// # Ok::<(), chat_core::ChatError>(())
    /// ```
    pub fn is_online(&self, user_id: UserId) -> bool {
        self.inner.presence.is_online(user_id)
    }

    /// Users with a live socket on this instance, in no particular order.
    ///
    /// ```
    /// # let (_layer, chat) = chat_core::ChatCore::builder(Default::default()).build();
    /// let connected = chat.online_users();
    /// println!("{} users connected here", connected.len());
    /// ```
    pub fn online_users(&self) -> Vec<UserId> {
        self.inner.presence.online_users()
    }
}
