//! Ends sockets whose credentials expired. One ordered set of (deadline,
//! socket) per engine and one task sweeping it every second, instead of a
//! timer per socket: an idle socket costs one entry (about 40 bytes).
//!
//! The socket's current deadline also sits in its extensions
//! ([`SocketDeadline`]); `session:refresh` moves it and adds a new entry, and
//! an entry that no longer matches its socket's deadline is skipped when due.
//! The sweeping task runs on the engine's [`Tasks`](crate::tasks::Tasks).
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;
use tokio::time::Instant;

use crate::ChatHandle;

/// How often due sockets are looked for: a socket ends at most this long
/// after its credentials expired.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The deadline a socket is tracked with, kept in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketDeadline(pub(crate) Instant);

/// Deadlines of every socket of this instance whose credentials expire.
#[derive(Default)]
pub(crate) struct ExpiryWheel {
    due: Mutex<BTreeSet<(Instant, Sid)>>,
    started: AtomicBool,
}

/// The moment `expires_at` (seconds since the Unix epoch) on tokio's clock.
pub(crate) fn deadline_of(expires_at: u64) -> Instant {
    let at = UNIX_EPOCH + Duration::from_secs(expires_at);
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}

impl ExpiryWheel {
    fn due(&self) -> std::sync::MutexGuard<'_, BTreeSet<(Instant, Sid)>> {
        // A panic while holding the lock left a valid set.
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tracks a socket until `deadline`.
    pub(crate) fn schedule(&self, sid: Sid, deadline: Instant) {
        self.due().insert((deadline, sid));
    }

    /// Stops tracking a socket (it disconnected, or got a new deadline).
    pub(crate) fn cancel(&self, sid: Sid, deadline: Instant) {
        self.due().remove(&(deadline, sid));
    }

    /// Removes and returns the entries due at `now`, earliest first.
    pub(crate) fn take_due(&self, now: Instant) -> Vec<(Instant, Sid)> {
        let mut due = self.due();
        let mut taken = Vec::new();
        while let Some(&first) = due.first() {
            if first.0 > now {
                break;
            }
            due.pop_first();
            taken.push(first);
        }
        taken
    }

    /// Sockets tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.due().len()
    }

    /// Whether the sweeping task still has to be started (true once).
    pub(crate) fn claim_start(&self) -> bool {
        !self.started.swap(true, Ordering::AcqRel)
    }
}

/// Tracks `socket` until `expires_at` (seconds since the Unix epoch), in
/// place of any earlier deadline; `None` stops tracking it.
pub(crate) fn track<A: Adapter>(chat: &ChatHandle, socket: &SocketRef<A>, expires_at: Option<u64>) {
    let wheel = &chat.inner.expiry;
    if let Some(SocketDeadline(previous)) = socket.extensions.remove::<SocketDeadline>() {
        wheel.cancel(socket.id, previous);
    }
    let Some(expires_at) = expires_at else {
        return;
    };
    let deadline = deadline_of(expires_at);
    socket.extensions.insert(SocketDeadline(deadline));
    wheel.schedule(socket.id, deadline);
    ensure_sweeper(chat);
}

/// Starts, on first use, the task sweeping the engine's deadlines.
pub(crate) fn ensure_sweeper(chat: &ChatHandle) {
    if chat.inner.expiry.claim_start() {
        chat.inner.tasks.spawn(sweep(Arc::downgrade(&chat.inner)));
    }
}

/// Stops tracking a socket that disconnected.
pub(crate) fn untrack<A: Adapter>(chat: &ChatHandle, socket: &SocketRef<A>) {
    if let Some(SocketDeadline(deadline)) = socket.extensions.get::<SocketDeadline>() {
        chat.inner.expiry.cancel(socket.id, deadline);
    }
}

/// Every [`SWEEP_EVERY`], ends the sockets whose deadline passed, until the
/// engine stops.
async fn sweep(chat: Weak<crate::handle::Inner>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = chat.upgrade() else { break };
        let due = inner.expiry.take_due(Instant::now());
        if due.is_empty() {
            continue;
        }
        let Some(emitter) = inner.emitter.get() else {
            continue;
        };
        for (deadline, sid) in due {
            emitter.expire(sid, SocketDeadline(deadline));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn only_due_entries_are_taken_in_deadline_order() {
        let wheel = ExpiryWheel::default();
        let start = Instant::now();
        let (a, b, c) = (Sid::new(), Sid::new(), Sid::new());
        wheel.schedule(a, start + Duration::from_secs(60));
        wheel.schedule(b, start + Duration::from_secs(30));
        wheel.schedule(c, start + Duration::from_secs(90));
        assert!(wheel.take_due(Instant::now()).is_empty());
        tokio::time::advance(Duration::from_secs(61)).await;
        let due: Vec<Sid> = wheel
            .take_due(Instant::now())
            .into_iter()
            .map(|e| e.1)
            .collect();
        assert_eq!(due, vec![b, a]);
        // Refreshed: moved later, the old entry gone.
        wheel.cancel(c, start + Duration::from_secs(90));
        wheel.schedule(c, start + Duration::from_secs(200));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(wheel.take_due(Instant::now()).is_empty());
        assert_eq!(wheel.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_wall_clock_expiry() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let soon = deadline_of(now + 120);
        let left = soon - Instant::now();
        assert!(left > Duration::from_secs(118) && left <= Duration::from_secs(120));
        assert_eq!(deadline_of(now.saturating_sub(10)), Instant::now());
    }
}
