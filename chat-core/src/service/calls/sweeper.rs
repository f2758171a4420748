//! The task that ends calls on time: every tick it reads the deadlines that
//! passed (a ring nobody answered, a side away past its grace) and ends
//! their calls; every instance runs one, and the store lets only one of them
//! end each call. When the store is shared, it also renews the liveness of
//! this instance's sides every second, so a side whose instance died fails
//! a little after the grace.
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::ending::ended_now;
use super::store::{Deadline, DeadlineKind};
use crate::ChatHandle;
use crate::error::ChatResult;
use crate::model::{CallEndReason, CallState};

/// How often deadlines are read.
const TICK: Duration = Duration::from_millis(500);

/// How often this instance's live sides are renewed (shared store).
const RENEW_EVERY: Duration = Duration::from_secs(1);

/// How much later than the grace a live side's deadline falls, so a renewal
/// a little late never fails a call whose socket is still there.
pub(crate) const LIVENESS_SLACK_MS: i64 = 2_000;

/// Deadlines handled per tick at most.
const PER_TICK: usize = 200;

impl ChatHandle {
    /// Starts the sweeper once (building the engine needs no runtime; the
    /// first call or a clustered build starts it).
    pub(crate) fn ensure_call_sweeper(&self) {
        if self.inner.calls.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_renew = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let chat = ChatHandle::from_inner(inner);
                if chat.inner.calls.store.shared() && last_renew.elapsed() >= RENEW_EVERY {
                    last_renew = tokio::time::Instant::now();
                    chat.renew_call_sides().await;
                }
                chat.sweep_calls().await;
            }
        });
    }

    async fn renew_call_sides(&self) {
        let sides = self.live_call_sides();
        if sides.is_empty() {
            return;
        }
        let at = chrono::Utc::now().timestamp_millis()
            + self.config().call_grace.as_millis() as i64
            + LIVENESS_SLACK_MS;
        match self.inner.calls.store.renew(&sides, at).await {
            Ok(gone) => self.forget_call_sides(&gone),
            Err(err) => tracing::warn!(%err, "call liveness not renewed"),
        }
    }

    async fn sweep_calls(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        let due = match self.inner.calls.store.due(now, PER_TICK).await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "call deadlines not read");
                return;
            }
        };
        for deadline in due {
            if let Err(err) = self.call_deadline_passed(deadline, now).await {
                tracing::warn!(%err, "call deadline not handled");
            }
        }
    }

    /// Ends the call of a passed deadline, if it is still due: `missed` for
    /// a ring, `failed` for a side.
    async fn call_deadline_passed(&self, deadline: Deadline, at: i64) -> ChatResult<()> {
        let Some(old) = self.calls().store.load(&deadline.call).await? else {
            return self.calls().store.forget(&[deadline]).await;
        };
        let reason = match (&deadline.kind, old.call.state) {
            (_, CallState::Ended) => None,
            (DeadlineKind::Ring, CallState::Ringing) => Some(CallEndReason::Missed),
            (DeadlineKind::Ring, _) => None,
            (DeadlineKind::Side(_), _) => Some(CallEndReason::Failed),
        };
        let Some(reason) = reason else {
            return self.calls().store.forget(&[deadline]).await;
        };
        let (new, mut deadlines) = ended_now(&old, reason);
        deadlines.due = Some((deadline, at));
        if self.calls().store.replace(&old, &new, &deadlines).await? {
            self.finish_ended(new).await?;
        }
        // Otherwise the call changed (or was resumed) meanwhile: the next
        // sweep sees what is due then.
        Ok(())
    }
}
