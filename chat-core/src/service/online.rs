//! Online counts of groups, as this instance knows them: who is online on any
//! instance ([`OnlineCounts::online`]), the last count of each group asked
//! about or changed, and what this instance last told its sockets. The task
//! keeping them up to date and the [`ChatHandle`](crate::ChatHandle) methods
//! are in [`online_counts`](super::activity).
//!
//! Socket events only mark users here (a set insert); everything else runs on
//! one ticker per instance, in batches: the users' presence is resolved at
//! once (the local socket counts, or one Redis read over all instances), the
//! groups of those whose presence changed are read in one query, and each
//! such group is counted again from its cached member set. Memory: a set of
//! the users online anywhere, and a few integers per counted group (at most
//! [`MAX_COUNTED`]).
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use tokio::time::Instant;

use crate::ids::{ConversationId, UserId};
use crate::service::membership::Members;

/// Most groups whose count is kept; beyond it the least recently used are
/// forgotten (and counted again when asked for).
pub(crate) const MAX_COUNTED: usize = 50_000;

/// One group's count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    /// Members online, as last counted.
    pub(crate) count: u32,
    /// The count this instance's sockets last heard (or read, for a count
    /// first computed for a request): an event goes out only when it differs.
    pub(crate) emitted: Option<u32>,
    /// When this instance last emitted the group's count.
    pub(crate) last_emit: Option<Instant>,
    /// Last read or changed (for forgetting the least used).
    pub(crate) used: Instant,
}

/// What the ticker works on; see the module docs.
#[derive(Default)]
pub(crate) struct OnlineState {
    /// Users with a live socket on some instance.
    pub(crate) online: HashSet<UserId>,
    /// Users whose presence may have changed since the last tick.
    pub(crate) dirty: HashSet<UserId>,
    /// The whole online set must be read again (start, or presence changes
    /// from other instances were missed).
    pub(crate) resync: bool,
    /// Counts per group.
    pub(crate) counts: HashMap<ConversationId, Counted>,
    /// Groups whose count changed but whose event waits for the next second.
    pub(crate) held_back: HashSet<ConversationId>,
}

impl OnlineState {
    /// How many of `members` are online.
    pub(crate) fn count(&self, members: &Members) -> u32 {
        // Whichever set is smaller is walked.
        let n = if members.ids.len() <= self.online.len() {
            members
                .ids
                .iter()
                .filter(|u| self.online.contains(u))
                .count()
        } else {
            self.online
                .iter()
                .filter(|u| members.ids.contains(u))
                .count()
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Forgets the least recently used counts beyond [`MAX_COUNTED`] (a
    /// tenth more at once, so this runs rarely).
    pub(crate) fn trim(&mut self) {
        if self.counts.len() <= MAX_COUNTED {
            return;
        }
        let mut by_use: Vec<(Instant, ConversationId)> =
            self.counts.iter().map(|(&id, c)| (c.used, id)).collect();
        by_use.sort_unstable();
        let excess = self.counts.len() - MAX_COUNTED + MAX_COUNTED / 10;
        for (_, id) in by_use.into_iter().take(excess) {
            if !self.held_back.contains(&id) {
                self.counts.remove(&id);
            }
        }
    }
}

/// The online counts of one instance.
#[derive(Default)]
pub(crate) struct OnlineCounts {
    state: std::sync::Mutex<OnlineState>,
    /// The ticker was started.
    pub(crate) started: AtomicBool,
}

impl OnlineCounts {
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, OnlineState> {
        // A panic while holding the lock left valid maps.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that these users' presence over all instances may have changed.
    pub(crate) fn mark_changed_users(&self, users: impl IntoIterator<Item = UserId>) {
        self.state().dirty.extend(users);
    }

    /// Notes that presence changes were missed: everything is read again.
    pub(crate) fn request_resync(&self) {
        self.state().resync = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::u;

    #[test]
    fn a_count_is_the_members_online() {
        let mut state = OnlineState::default();
        state.online.extend([u(1), u(2), u(3)]);
        let members = Members {
            ids: [u(2), u(3), u(4)].into_iter().collect(),
            ..Members::default()
        };
        assert_eq!(state.count(&members), 2);
        state.online.extend((10..1000).map(u));
        assert_eq!(state.count(&members), 2, "walking the smaller set");
    }
}
