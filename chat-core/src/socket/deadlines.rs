//! The deadlines of an instance's sockets whose credentials expire, in one
//! ordered set: an idle socket costs one entry (about 40 bytes), and one task
//! (see [`expiry`](super::expiry)) takes the due ones every second.
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socketioxide::socket::Sid;
use tokio::time::Instant;

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
