//! The tasks writing this instance's presence: alone, one task storing the
//! users whose first socket opened or last closed, in batches; clustered,
//! one task writing the socket counts to Redis, one announcing the changes it
//! reports, and one keeping the heartbeat and reaping dead instances. All run
//! on the engine's [`Tasks`](crate::tasks::Tasks); when the engine stops, the
//! writers first write what is pending (a closed socket's presence is not
//! lost).
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::ChatHandle;
use crate::cluster::{ClusterError, PendingPresence, PresenceChange, PresenceWriter};
use crate::error::{ChatError, ChatResult};
use crate::protocol as events;
use crate::socket::auth::Identity;
use crate::store::now;
use crate::store::presence as store;

/// Backoff between attempts to write presence to Redis.
const WRITE_RETRY_MIN: Duration = Duration::from_millis(50);
const WRITE_RETRY_MAX: Duration = Duration::from_secs(2);
/// Single instance: least time between two presence batches, which bounds
/// presence writes to a few statements per interval whatever the churn.
const PRESENCE_FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// How long a stopping Redis writer goes on retrying what is pending.
const DRAIN_LIMIT: Duration = Duration::from_secs(3);

impl ChatHandle {
    /// Single instance: hands a user whose first socket opened or last socket
    /// closed here to the batch writer.
    pub(super) fn mark_local_presence(&self, user: &Identity) {
        self.ensure_local_presence_writer();
        self.inner
            .presence_writer
            .mark_changed(user.user_id, &user.username);
    }

    /// Starts, on first use, the task storing and announcing a single
    /// instance's presence changes in batches (see
    /// [`PresenceBatches`](crate::service::presence::PresenceBatches)).
    fn ensure_local_presence_writer(&self) {
        let batches = self.inner.presence_writer.clone();
        if batches.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn_draining(|stop| async move {
            // Users stored as online by this task.
            let mut online = HashSet::new();
            loop {
                if !batches.has_work() {
                    if stop.is_cancelled() {
                        break;
                    }
                    tokio::select! {
                        () = batches.wake.notified() => {}
                        () = stop.cancelled() => {}
                    }
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
                    ChatHandle::from_inner(inner)
                        .announce_changes(changes)
                        .await;
                }
                batches.done();
                if wrote {
                    // A stop ends the pause: what is left is written at once.
                    tokio::select! {
                        () = tokio::time::sleep(PRESENCE_FLUSH_INTERVAL) => {}
                        () = stop.cancelled() => {}
                    }
                }
            }
        });
    }

    /// Clustered: keeps this instance's presence heartbeat alive, takes over
    /// the users of instances that died without a goodbye, and runs the
    /// presence writer.
    pub(crate) fn spawn_presence_tasks(&self) {
        let Some(cluster) = &self.inner.cluster else {
            return;
        };
        let period = (cluster.ttl / 3).max(Duration::from_millis(200));
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let chat = ChatHandle::from_inner(inner);
                if let Err(err) = chat.presence_round().await {
                    tracing::warn!(%err, "presence heartbeat failed");
                }
            }
        });
        self.spawn_presence_writer(cluster.pending.clone());
        self.ensure_online_ticker();
        // Calls whose instance died are ended by the survivors.
        self.ensure_call_sweeper();
    }

    /// The one task writing this instance's presence to Redis. Announcements
    /// run on their own task, batch after batch (so a user's changes are
    /// announced in order), while the writer goes on with the next batch; the
    /// announcer ends once the writer has ended and everything is announced.
    fn spawn_presence_writer(&self, pending: std::sync::Arc<PendingPresence>) {
        let (announce_tx, mut announce_rx) =
            tokio::sync::mpsc::unbounded_channel::<Vec<PresenceChange>>();
        let weak = std::sync::Arc::downgrade(&self.inner);
        let announced = pending.clone();
        self.inner.tasks.spawn_until_done(async move {
            while let Some(changes) = announce_rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                ChatHandle::from_inner(inner)
                    .announce_changes(changes)
                    .await;
                announced.announcing.fetch_sub(1, Ordering::AcqRel);
            }
        });
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn_draining(|stop| async move {
            let mut writer = PresenceWriter::default();
            let mut backoff = WRITE_RETRY_MIN;
            // Set once stopping: pending work is written until then.
            let mut drain_until: Option<Instant> = None;
            loop {
                let idle = !pending.has_work() && !writer.has_retry();
                if stop.is_cancelled() {
                    let until = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN_LIMIT);
                    if idle || Instant::now() >= until {
                        break;
                    }
                } else if idle {
                    tokio::select! {
                        () = pending.wake.notified() => {}
                        () = stop.cancelled() => continue,
                    }
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

    /// One heartbeat: refreshes this instance's, then announces offline the
    /// users that instances found dead left with no socket anywhere.
    async fn presence_round(&self) -> ChatResult<()> {
        let Some(cluster) = &self.inner.cluster else {
            return Ok(());
        };
        let adapter = |e: ClusterError| ChatError::Adapter(e.to_string());
        cluster.heartbeat().await.map_err(adapter)?;
        let reaped = cluster.reap_dead_instances().await.map_err(adapter)?;
        if !reaped.is_empty() {
            self.online_changed(&reaped).await;
        }
        for user_id in reaped {
            let user = self.user_row(user_id).await?;
            let identity = Identity {
                user_id,
                username: user.username,
                session_id: None,
                expires_at: None,
            };
            let at = now();
            store::set_offline(self.db(), &[user_id], at).await?;
            self.announce(&identity, events::USER_OFFLINE, Some(at))
                .await?;
        }
        Ok(())
    }

    /// Whether the presence changes of this instance's sockets are all
    /// stored and announced.
    #[cfg(test)]
    pub(crate) fn presence_idle(&self) -> bool {
        match &self.inner.cluster {
            Some(cluster) => cluster.pending.is_idle(),
            None => self.inner.presence_writer.is_idle(),
        }
    }
}
