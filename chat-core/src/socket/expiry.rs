//! Ends sockets whose credentials expired. One ordered set of (deadline,
//! socket) per engine and one task sweeping it every second, instead of a
//! timer per socket: an idle socket costs one entry (about 40 bytes).
//!
//! The socket's current deadline also sits in its extensions
//! ([`SocketDeadline`]); `session:refresh` moves it and adds a new entry, and
//! an entry that no longer matches its socket's deadline is skipped when due.
//! The sweeping task runs on the engine's [`Tasks`](crate::tasks::Tasks).
use std::sync::{Arc, Weak};
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use tokio::time::Instant;

use super::deadlines::deadline_of;
use crate::ChatHandle;

/// How often due sockets are looked for: a socket ends at most this long
/// after its credentials expired.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub(crate) use crate::fanout::SocketDeadline;

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
