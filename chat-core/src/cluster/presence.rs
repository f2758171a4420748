//! Presence over all instances. Socket events only mark their user in
//! [`PendingPresence`]; the one writer task of the instance calls
//! [`Cluster::flush_presence`], which writes the marked users' absolute
//! counts in batches and reports who went online or offline over all
//! instances. This file holds the marks and the reads of the counts; the
//! Redis protocol (the [`WRITE_PRESENCE`](script::WRITE_PRESENCE) script and
//! what it answers) is in `script`, the writer side in `writer`. Liveness and
//! reaping are in [`reaper`](super::reaper).
mod script;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use fred::interfaces::{HashesInterface, KeysInterface};

pub(super) use script::WRITE_PRESENCE;
pub(crate) use writer::PresenceWriter;

use super::{Cluster, ClusterError};
use crate::ids::UserId;

/// Users written to Redis in one script call: large enough that a burst of
/// thousands of sockets takes a handful of calls, small enough that one call
/// holds Redis for a few milliseconds only.
const PRESENCE_BATCH: usize = 1000;

/// Users whose sockets on this instance changed since their counts were last
/// written to Redis. Socket events only mark the user here; one writer task
/// ([`Cluster::flush_presence`]) writes the marked users in batches, so a
/// burst of thousands of sockets opening or closing is a few Redis calls
/// instead of thousands queued behind each other (which timed out).
#[derive(Default)]
pub(crate) struct PendingPresence {
    /// User id -> username (for the announcement).
    users: std::sync::Mutex<HashMap<UserId, String>>,
    /// Everything must be written again (Redis lost this instance's counts).
    rebuild: AtomicBool,
    /// The writer is writing (for a shutdown waiting until all is written).
    writing: AtomicBool,
    /// Batches of changes written but not yet announced.
    pub(crate) announcing: std::sync::atomic::AtomicUsize,
    /// Wakes the writer.
    pub(crate) wake: tokio::sync::Notify,
}

impl PendingPresence {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, String>> {
        // A panic while holding the lock left a valid map.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_changed(&self, user_id: UserId, username: &str) {
        self.users()
            .entry(user_id)
            .or_insert_with(|| username.to_owned());
        self.wake.notify_one();
    }

    pub(super) fn request_rebuild(&self) {
        self.rebuild.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether something waits to be written.
    pub(crate) fn has_work(&self) -> bool {
        self.rebuild.load(Ordering::Acquire) || !self.users().is_empty()
    }

    /// Whether everything marked so far is in Redis and announced.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        !self.has_work()
            && !self.writing.load(Ordering::Acquire)
            && self.announcing.load(Ordering::Acquire) == 0
    }
}

/// A user's first socket over all instances opened (`online`), or their last
/// closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresenceChange {
    pub(crate) user_id: UserId,
    pub(crate) username: String,
    pub(crate) online: bool,
}

impl Cluster {
    /// Notes that a socket of the user opened or closed here (the local count
    /// is already updated); the writer task brings Redis up to date and
    /// announces the user when their presence over all instances changed.
    pub(crate) fn socket_changed(&self, user_id: UserId, username: &str) {
        self.pending.mark_changed(user_id, username);
    }

    /// The users' sockets over all instances, as Redis has them now.
    pub(crate) async fn totals(&self, users: &[UserId]) -> Result<Vec<i64>, ClusterError> {
        let mut totals = Vec::with_capacity(users.len());
        for chunk in users.chunks(PRESENCE_BATCH) {
            let keys: Vec<String> = chunk.iter().map(|&u| self.keys.count(u)).collect();
            let values: Vec<Option<i64>> = self.client.mget(keys).await?;
            totals.extend(values.into_iter().map(|v| v.unwrap_or(0)));
        }
        Ok(totals)
    }

    /// Every user with a live socket on some instance: the users named in the
    /// instances' hashes whose total is above zero.
    pub(crate) async fn online_users(
        &self,
    ) -> Result<std::collections::HashSet<UserId>, ClusterError> {
        use fred::interfaces::SetsInterface;
        let instances: Vec<String> = self.client.smembers(self.keys.instances()).await?;
        let mut named = std::collections::HashSet::new();
        for instance in instances {
            let users: Vec<String> = self
                .client
                .hkeys(self.keys.instance_counts(&instance))
                .await?;
            named.extend(users.iter().filter_map(|u| u.parse::<UserId>().ok()));
        }
        let named: Vec<UserId> = named.into_iter().collect();
        let totals = self.totals(&named).await?;
        Ok(named
            .into_iter()
            .zip(totals)
            .filter(|&(_, total)| total > 0)
            .map(|(user_id, _)| user_id)
            .collect())
    }
}
