//! The writer side of presence: [`PresenceWriter`], owned by the one writer
//! task of the instance, and [`Cluster::flush_presence`], which writes the
//! marked users' absolute counts in batches, sends a failed batch again as it
//! was, rewrites everything when Redis lost this instance's counts, and
//! reports who went online or offline over all instances.
use std::collections::HashMap;
use std::sync::atomic::Ordering;

use fred::interfaces::{HashesInterface, KeysInterface};

use super::script::{Batch, Written};
use super::{PRESENCE_BATCH, PresenceChange};
use crate::cluster::{Cluster, ClusterError};
use crate::ids::UserId;
use crate::service::presence::LocalPresence;

/// The writer's memory of what it wrote: owned by the one writer task.
#[derive(Default)]
pub(crate) struct PresenceWriter {
    /// Sockets per user as last written to this instance's hash.
    written: HashMap<UserId, usize>,
    /// Usernames of the users in `written` or pending.
    names: HashMap<UserId, String>,
    seq: u64,
    /// A batch whose call failed: sent again, unchanged, before anything else.
    retry: Option<Batch>,
}

impl PresenceWriter {
    /// Whether a failed batch waits to be sent again.
    pub(crate) fn has_retry(&self) -> bool {
        self.retry.is_some()
    }
}

impl Cluster {
    /// Writes the pending users' counts (all users' on a rebuild) to Redis in
    /// batches and pushes onto `changes` the users whose presence over all
    /// instances changed. Only one task may call it (it owns `writer`).
    ///
    /// On an error the users not yet written are pending again, with their
    /// then current counts: nothing is lost, and since counts are absolute a
    /// batch that timed out but ran is not counted twice.
    pub(crate) async fn flush_presence(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        self.pending.writing.store(true, Ordering::Release);
        let result = self.flush_presence_once(local, writer, changes).await;
        // A batch to send again is not written yet.
        self.pending
            .writing
            .store(writer.retry.is_some(), Ordering::Release);
        result
    }

    async fn flush_presence_once(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        if let Some(batch) = writer.retry.take()
            && !self.send_batch(writer, batch, changes).await?
        {
            return Ok(());
        }
        let rebuild = self.pending.rebuild.swap(false, Ordering::AcqRel);
        // Taken before the local counts are read: a socket event after this
        // marks its user again, so no change is missed.
        let taken = std::mem::take(&mut *self.pending.users());
        let mut users: Vec<UserId> = taken.keys().copied().collect();
        writer.names.extend(taken);
        if rebuild {
            let recorded: HashMap<String, i64> = match self
                .client
                .hgetall(self.keys.instance_counts(&self.instance))
                .await
            {
                Ok(recorded) => recorded,
                Err(err) => {
                    self.requeue(writer, &users);
                    self.pending.request_rebuild();
                    return Err(err.into());
                }
            };
            // A survivor took this instance for dead (a stall) and announced
            // its users offline: nothing of what it wrote is left, and the
            // users still here are announced online again.
            let reaper: Result<Option<String>, _> =
                self.client.get(self.keys.reap(&self.instance)).await;
            let reaped = match reaper {
                Ok(reaper) => reaper.is_some(),
                Err(err) => {
                    self.requeue(writer, &users);
                    self.pending.request_rebuild();
                    return Err(err.into());
                }
            };
            let mut all: std::collections::HashSet<UserId> = users.drain(..).collect();
            all.extend(recorded.keys().filter_map(|u| u.parse::<UserId>().ok()));
            all.extend(writer.written.keys().copied());
            all.extend(local.counts().into_iter().map(|(user_id, _)| user_id));
            users = all.into_iter().collect();
            if reaped {
                tracing::warn!("this instance was reaped: announcing its users again");
                writer.written.clear();
            }
            tracing::info!(users = users.len(), "rewriting presence counts in redis");
        }
        let mut first = true;
        let mut done = 0;
        while first || done < users.len() {
            let chunk = &users[done..(done + PRESENCE_BATCH).min(users.len())];
            writer.seq += 1;
            let batch = Batch {
                seq: writer.seq,
                rebuild: rebuild && first,
                counts: chunk
                    .iter()
                    .map(|&user_id| {
                        let written = writer.written.get(&user_id).copied().unwrap_or(0);
                        (user_id, local.sockets(user_id), written)
                    })
                    .collect(),
            };
            first = false;
            done += chunk.len();
            let sent = self.send_batch(writer, batch, changes).await;
            if !matches!(sent, Ok(true)) {
                self.requeue(writer, &users[done..]);
                return sent.map(|_| ());
            }
        }
        Ok(())
    }

    /// Sends one batch and records its answer; returns whether the writer may
    /// go on. A failed batch is kept to be sent again as it is; when the
    /// heartbeat key is missing, its users are pending again for a rebuild.
    async fn send_batch(
        &self,
        writer: &mut PresenceWriter,
        batch: Batch,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<bool, ClusterError> {
        match self.write_batch(&batch).await {
            Ok(Written::Totals(totals)) => {
                for (&(user_id, wanted, _), &(before, after)) in batch.counts.iter().zip(&totals) {
                    self.record(writer, user_id, wanted, before, after, changes);
                }
                Ok(true)
            }
            Ok(Written::Rebuild) => {
                let users: Vec<UserId> = batch.counts.iter().map(|c| c.0).collect();
                self.requeue(writer, &users);
                self.pending.request_rebuild();
                Ok(false)
            }
            Err(err) => {
                writer.retry = Some(batch);
                Err(err)
            }
        }
    }

    /// Marks users pending again after a failed or refused write.
    fn requeue(&self, writer: &PresenceWriter, users: &[UserId]) {
        let mut pending = self.pending.users();
        for user_id in users {
            if let Some(name) = writer.names.get(user_id) {
                pending.entry(*user_id).or_insert_with(|| name.clone());
            }
        }
    }

    /// Remembers what was written for a user and whether their presence over
    /// all instances changed.
    fn record(
        &self,
        writer: &mut PresenceWriter,
        user_id: UserId,
        wanted: usize,
        before: i64,
        after: i64,
        changes: &mut Vec<PresenceChange>,
    ) {
        let online = match (before > 0, after > 0) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        };
        let username = if wanted == 0 {
            writer.written.remove(&user_id);
            writer.names.remove(&user_id)
        } else {
            writer.written.insert(user_id, wanted);
            writer.names.get(&user_id).cloned()
        };
        if let (Some(online), Some(username)) = (online, username) {
            changes.push(PresenceChange {
                user_id,
                username,
                online,
            });
        }
    }
}
