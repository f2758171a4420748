//! Who is typing where ([`TypingTracker`]): indicators that stop by
//! themselves, each `start` arming a timer on the engine's tasks. The events
//! are sent by [`typing_relay`](super::activity).
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::ids::{ConversationId, UserId};
use crate::tasks::Tasks;

/// Who is typing where. Each `start` bumps a generation; the expiry timer only
/// fires if no later `start` or `stop` happened, so a refreshed indicator lives
/// on and a stopped one is never stopped twice.
pub(crate) struct TypingTracker {
    active: DashMap<(ConversationId, UserId), u64>,
    generation: AtomicU64,
    timeout: Duration,
    expired: mpsc::UnboundedSender<Expired>,
    /// Where the expiry timers run.
    tasks: Tasks,
}

/// A typing state that ran out: `typing:stop` must be sent for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired {
    pub(crate) conversation_id: ConversationId,
    pub(crate) user_id: UserId,
    pub(crate) username: String,
}

impl TypingTracker {
    pub(crate) fn new(
        timeout: Duration,
        tasks: Tasks,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Expired>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let tracker = Arc::new(TypingTracker {
            active: DashMap::new(),
            generation: AtomicU64::new(0),
            timeout,
            expired: tx,
            tasks,
        });
        (tracker, rx)
    }

    /// Records a `typing:start`; returns whether the user was not typing there before.
    pub(crate) fn start(
        self: &Arc<Self>,
        conversation_id: ConversationId,
        user_id: UserId,
        username: &str,
    ) -> bool {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let fresh = self
            .active
            .insert((conversation_id, user_id), generation)
            .is_none();
        let tracker = Arc::downgrade(self);
        let username = username.to_owned();
        let timeout = self.timeout;
        self.tasks.spawn(async move {
            tokio::time::sleep(timeout).await;
            let Some(tracker) = tracker.upgrade() else {
                return;
            };
            let removed = tracker
                .active
                .remove_if(&(conversation_id, user_id), |_, g| *g == generation)
                .is_some();
            if removed {
                let _ = tracker.expired.send(Expired {
                    conversation_id,
                    user_id,
                    username,
                });
            }
        });
        fresh
    }

    /// Records a stop; returns whether the user was typing.
    pub(crate) fn stop(&self, conversation_id: ConversationId, user_id: UserId) -> bool {
        self.active.remove(&(conversation_id, user_id)).is_some()
    }

    #[cfg(test)]
    fn is_typing(&self, conversation_id: ConversationId, user_id: UserId) -> bool {
        self.active.contains_key(&(conversation_id, user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::{c, u};

    #[tokio::test(start_paused = true)]
    async fn typing_stops_by_itself_after_the_timeout() {
        let (tracker, mut expired) = TypingTracker::new(Duration::from_secs(5), Tasks::new());
        assert!(tracker.start(c(1), u(7), "bob"));
        tokio::time::sleep(Duration::from_millis(4900)).await;
        assert!(expired.try_recv().is_err(), "still typing before 5 s");
        assert!(tracker.is_typing(c(1), u(7)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stop = expired.recv().await.expect("expiry");
        assert_eq!(
            stop,
            Expired {
                conversation_id: c(1),
                user_id: u(7),
                username: "bob".into()
            }
        );
        assert!(!tracker.is_typing(c(1), u(7)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_extends_and_a_stop_cancels() {
        let (tracker, mut expired) = TypingTracker::new(Duration::from_secs(5), Tasks::new());
        assert!(tracker.start(c(1), u(7), "bob"));
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            !tracker.start(c(1), u(7), "bob"),
            "a refresh is not a new start"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(
            expired.try_recv().is_err(),
            "refreshed at 3 s: alive at 6 s"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            expired.recv().await.map(|e| e.user_id),
            Some(u(7)),
            "expires at 8 s"
        );

        assert!(tracker.start(c(2), u(8), "eve"));
        assert!(tracker.stop(c(2), u(8)));
        assert!(!tracker.stop(c(2), u(8)), "stopping twice is a no-op");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(
            expired.try_recv().is_err(),
            "an explicit stop is not followed by an expiry"
        );
    }
}
