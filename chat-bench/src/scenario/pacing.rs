//! Pacing of a traffic run: the open-loop schedule that hands messages (or, in lifecycle,
//! operations) to the clients, and the churn rounds that drop some of them.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use tokio::sync::mpsc;

use super::client_state::{Cmd, Shared};
use super::progress;
use super::setup::Group;

/// Open-loop pacing: every millisecond, hand out the messages due by now. `senders[i]` is client
/// `i`'s queue, `None` for a client of another generator process (`--procs`), whose message that
/// process sends: every process runs this same schedule. Returns how many could not be handed to
/// a connected client.
pub(super) async fn schedule(
    shared: &Shared,
    groups: &[Group],
    senders: &[Option<mpsc::Sender<Cmd>>],
    rate: f64,
    duration: Duration,
) -> u64 {
    // The bare server does not number messages: each room's numbers are handed out here, in
    // order, as the chat server would. A number is used up even when its hand-off fails, so
    // that every process numbers alike.
    let mut next_seq = vec![1u64; groups.len()];
    pace(&shared.connected, groups, rate, duration, |gi, m| {
        let seq = next_seq[gi];
        next_seq[gi] += 1;
        let Some(sender) = &senders[m] else {
            return true;
        };
        // Counted before the hand-off, so the client never sees it negative.
        shared.queued.fetch_add(1, Ordering::Relaxed);
        let handed = sender
            .try_send(Cmd::Send {
                conversation_id: groups[gi].id,
                seq: shared.bare.then_some(seq),
            })
            .is_ok();
        if !handed {
            shared.queued.fetch_sub(1, Ordering::Relaxed);
        }
        handed
    })
    .await
}

/// Open-loop pacing: every millisecond, the operations due by now at `rate` per second, each for
/// the next group in turn and, within it, the next connected member in turn; `hand` gives it to
/// that member (group index, client index) and says whether it could. Returns how many found no
/// connected member or were refused.
pub(super) async fn pace(
    connected: &[AtomicBool],
    groups: &[Group],
    rate: f64,
    duration: Duration,
    mut hand: impl FnMut(usize, usize) -> bool,
) -> u64 {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut handed, mut skipped, mut k) = (0u64, 0u64, 0u64);
    loop {
        tick.tick().await;
        let elapsed = start.elapsed().min(duration);
        let due = (elapsed.as_secs_f64() * rate) as u64;
        while handed + skipped < due {
            let gi = (k % groups.len() as u64) as usize;
            let g = &groups[gi];
            let turn = (k / groups.len() as u64) as usize;
            k += 1;
            let n = g.members.len();
            let member = (0..n)
                .map(|j| g.members[(turn + j) % n])
                .find(|&m| connected[m].load(Ordering::Relaxed));
            if member.is_some_and(|m| hand(gi, m)) {
                handed += 1;
            } else {
                skipped += 1;
            }
        }
        if elapsed >= duration {
            return skipped;
        }
    }
}

/// Every `interval`, drops a random `share` of the connected clients for `down`, as long as they
/// can be back before sending ends.
pub(super) async fn churn_rounds(
    shared: Arc<Shared>,
    senders: Vec<mpsc::Sender<Cmd>>,
    share: f64,
    interval: Duration,
    down: Duration,
    duration: Duration,
) {
    let start = Instant::now();
    let mut round = 1u32;
    loop {
        let at = interval * round;
        if at + down + Duration::from_secs(2) > duration {
            return;
        }
        tokio::time::sleep_until((start + at).into()).await;
        let mut candidates: Vec<usize> = (0..senders.len())
            .filter(|&i| shared.connected[i].load(Ordering::Relaxed))
            .collect();
        candidates.shuffle(&mut rand::rng());
        let n = ((senders.len() as f64) * share.clamp(0.0, 1.0)).round() as usize;
        progress(format!("churn round {round}: dropping {n} clients"));
        for &i in candidates.iter().take(n) {
            let _ = senders[i].try_send(Cmd::Drop { down });
        }
        round += 1;
    }
}

/// Waits until `settled` (nothing pending, every owed event arrived) or until
/// `limit_s` seconds passed; returns the seconds waited.
pub(super) async fn drain(limit_s: f64, settled: impl Fn() -> bool) -> f64 {
    let start = Instant::now();
    let limit = Duration::from_secs_f64(limit_s.max(0.0));
    while start.elapsed() < limit && !settled() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed().as_secs_f64()
}

/// `--hold`: keeps the connections open and quiet for `seconds` after the drain, then reads the
/// servers' summed RSS (`None` without a hold or without the servers' pids).
pub(super) async fn hold(seconds: f64, server_pids: &[u32]) -> Option<u64> {
    if seconds <= 0.0 {
        return None;
    }
    progress(format!("holding the connections open for {seconds} s"));
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    crate::server::rss_kib_sum(server_pids)
}
