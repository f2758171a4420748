//! `lifecycle`: groups running a mix of operations over the message lifecycle (sends, edits,
//! reaction toggles, deletes), from setup through the operations and draining to the results:
//! ack latency per operation and the events delivered per second.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::lifecycle_client::{LifeClient, run_client};
use super::lifecycle_ops::{Cmd, Event, LifeShared, Op};
use super::pacing::{self, pace};
use super::setup::{Setup, connect_all, seat};
use super::traffic::TrafficPlan;
use super::{Env, MAX_ERRORS_KEPT, pct, progress, rate, round3};
use crate::cli::LifecycleArgs;
use crate::mix::Mix;
use crate::server::{self, CpuMeter};
use crate::stats::{LatencySummary, now_us};

/// Results of `lifecycle`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LifecycleResults {
    /// Setup figures.
    pub setup: Setup,
    /// Target operations per second.
    pub target_rate: f64,
    /// Seconds of operations.
    pub duration_s: f64,
    /// The weights operations were drawn with.
    pub mix: Mix,
    /// Operations sent.
    pub ops: u64,
    /// Operations sent per second.
    pub ops_per_s: f64,
    /// Operations the schedule called for that were not sent (no member connected, or left
    /// queued when the run stopped).
    pub skipped: u64,
    /// Edits, reactions and deletes sent as sends instead, for lack of a message to act on.
    pub substituted: u64,
    /// Operations acknowledged with success.
    pub acked: u64,
    /// Operations whose ack failed.
    pub failed: u64,
    /// Acks still outstanding at the end.
    pub ack_unanswered: u64,
    /// Per operation (`send`, `edit`, `react_add`, `react_remove`, `delete`).
    pub per_op: BTreeMap<&'static str, OpResults>,
    /// Events the successful operations owe the other members' sockets, by event.
    pub expected_events: BTreeMap<&'static str, u64>,
    /// Events received, by event.
    pub delivered_events: BTreeMap<&'static str, u64>,
    /// Sum of `expected_events`.
    pub expected_total: u64,
    /// Sum of `delivered_events`.
    pub delivered_total: u64,
    /// Expected events not received, summed over the events.
    pub missing: u64,
    /// (expected - missing) / expected, percent.
    pub delivery_pct: f64,
    /// Events received per second, from the first operation to the last event.
    pub events_per_s: f64,
    /// Connections lost without being asked to.
    pub unexpected_disconnects: u64,
    /// Sockets the server disconnected (not reconnected).
    pub server_disconnects: u64,
    /// Seconds spent waiting for stragglers after the last operation.
    pub drain_s: f64,
    /// Server CPU during operations and drain (summed over instances), percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// This program's CPU during operations and drain, percent of one core.
    pub bench_cpu_pct: Option<f64>,
    /// Server VmRSS before the operations (summed over instances), KiB.
    pub server_rss_start_kib: Option<u64>,
    /// Server VmRSS at the end (summed over instances), KiB.
    pub server_rss_end_kib: Option<u64>,
    /// Server VmRSS at the end of `--hold`, with the connections still open, KiB.
    pub server_rss_held_kib: Option<u64>,
    /// Other server events received (presence, ...).
    pub other_events: u64,
    /// First errors seen by clients.
    pub errors: Vec<String>,
}

/// One operation's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpResults {
    /// Sent.
    pub sent: u64,
    /// Acknowledged with success.
    pub acked: u64,
    /// Failed acks by code.
    pub failed: BTreeMap<String, u64>,
    /// Send to successful ack.
    pub ack_latency: LatencySummary,
}

/// Runs `lifecycle`.
pub async fn lifecycle(
    env: &Env,
    plan: &TrafficPlan,
    args: &LifecycleArgs,
) -> Result<(LifecycleResults, String)> {
    if plan.members < 2 || plan.groups == 0 || plan.users < plan.members {
        bail!(
            "need at least one group of at least 2 members, and at least as many users as members"
        );
    }
    let mut setup = Setup::default();
    let (user_ids, logins, groups) = seat(env, plan, &mut setup).await?;
    let (conns, first_error) = connect_all(env, &logins, &mut setup).await;
    if setup.connect_failures > 0 {
        bail!(
            "{} of {} connections failed: {}",
            setup.connect_failures,
            setup.connections,
            first_error.unwrap_or_default()
        );
    }

    let shared = Arc::new(LifeShared {
        run_id: env.run_id.clone(),
        padding: "x".repeat(plan.content_size),
        content_size: plan.content_size,
        recent: args.recent.max(1),
        connected: (0..plan.users).map(|_| AtomicBool::new(false)).collect(),
        queued: AtomicI64::new(0),
        pending_acks: AtomicI64::new(0),
        expected: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        last_event_us: AtomicU64::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders = Vec::with_capacity(plan.users);
    let mut tasks = Vec::with_capacity(plan.users);
    for (i, (ws, user_id)) in conns.into_iter().zip(user_ids).enumerate() {
        let (tx, rx) = mpsc::channel(1024);
        senders.push(tx);
        tasks.push(tokio::spawn(run_client(
            LifeClient::new(i, user_id, &groups),
            ws?,
            shared.clone(),
            rx,
            stop_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs_f64(plan.settle.max(0.0))).await;

    progress(format!(
        "running {} ops/s ({}) for {} s in {} group(s) of {}",
        plan.rate, args.mix, plan.duration, plan.groups, plan.members
    ));
    let rss_start = server::rss_kib_sum(&env.server_pids);
    let server_cpu = CpuMeter::start(&env.server_pids);
    let bench_cpu = CpuMeter::start(&[std::process::id()]);
    let start_us = now_us();
    let mut draws = args.mix.draws();
    let skipped = pace(
        &shared.connected,
        &groups,
        plan.rate,
        Duration::from_secs_f64(plan.duration),
        |gi, m| {
            let Some(kind) = draws.next() else {
                return false;
            };
            // Counted before the hand-off, so the client never sees it negative.
            shared.queued.fetch_add(1, Ordering::Relaxed);
            let cmd = Cmd {
                conversation_id: groups[gi].id,
                kind,
            };
            let handed = senders[m].try_send(cmd).is_ok();
            if !handed {
                shared.queued.fetch_sub(1, Ordering::Relaxed);
            }
            handed
        },
    )
    .await;

    // Drain: until every operation was sent and acked and every owed event arrived, or the
    // drain time ends.
    let drain_s = pacing::drain(plan.drain, || {
        let pending =
            shared.pending_acks.load(Ordering::Relaxed) + shared.queued.load(Ordering::Relaxed);
        pending <= 0
            && shared.delivered.load(Ordering::Relaxed) >= shared.expected.load(Ordering::Relaxed)
    })
    .await;
    let server_cpu_pct = server_cpu.and_then(|m| m.percent());
    let bench_cpu_pct = bench_cpu.and_then(|m| m.percent());
    let rss_end = server::rss_kib_sum(&env.server_pids);
    let rss_held = pacing::hold(plan.hold, &env.server_pids).await;
    let _ = stop_tx.send(true);
    drop(senders);
    let mut clients = Vec::with_capacity(tasks.len());
    for t in tasks {
        clients.push(t.await.context("client task")?);
    }

    let mut r = account(clients);
    r.setup = setup;
    r.target_rate = plan.rate;
    r.duration_s = plan.duration;
    r.mix = args.mix;
    r.skipped += skipped;
    r.ops_per_s = rate(r.ops as f64, plan.duration);
    r.drain_s = round3(drain_s);
    r.server_cpu_pct = server_cpu_pct;
    r.bench_cpu_pct = bench_cpu_pct;
    r.server_rss_start_kib = rss_start;
    r.server_rss_end_kib = rss_end;
    r.server_rss_held_kib = rss_held;
    let span_s = shared
        .last_event_us
        .load(Ordering::Relaxed)
        .saturating_sub(start_us) as f64
        / 1e6;
    r.events_per_s = rate(r.delivered_total as f64, span_s);
    let summary = summary(env, plan, &r);
    Ok((r, summary))
}

/// Sums the clients' tallies.
fn account(clients: Vec<LifeClient>) -> LifecycleResults {
    let mut r = LifecycleResults::default();
    let mut ack_us: BTreeMap<Op, Vec<u32>> = BTreeMap::new();
    let (mut expected, mut received) = ([0u64; 4], [0u64; 4]);
    for c in clients {
        let t = c.tally;
        for (op, tally) in t.ops {
            let figures = r.per_op.entry(op.name()).or_default();
            figures.sent += tally.sent;
            figures.acked += tally.acked;
            for (code, n) in tally.failed {
                *figures.failed.entry(code).or_default() += n;
            }
            ack_us.entry(op).or_default().extend(tally.ack_us);
        }
        for i in 0..4 {
            expected[i] += t.expected[i];
            received[i] += t.received[i];
        }
        r.substituted += t.substituted;
        r.skipped += t.unsent;
        r.other_events += t.other_events;
        r.ack_unanswered += t.ack_unanswered;
        r.unexpected_disconnects += t.unexpected_disconnects;
        r.server_disconnects += t.server_disconnects;
        for e in t.errors {
            if r.errors.len() < MAX_ERRORS_KEPT {
                r.errors.push(e);
            }
        }
    }
    for (op, mut samples) in ack_us {
        r.per_op.entry(op.name()).or_default().ack_latency = LatencySummary::from_us(&mut samples);
    }
    for figures in r.per_op.values() {
        r.ops += figures.sent;
        r.acked += figures.acked;
        r.failed += figures.failed.values().sum::<u64>();
    }
    for (i, event) in Event::ALL.into_iter().enumerate() {
        r.expected_events.insert(event.name(), expected[i]);
        r.delivered_events.insert(event.name(), received[i]);
        r.missing += expected[i].saturating_sub(received[i]);
    }
    r.expected_total = expected.iter().sum();
    r.delivered_total = received.iter().sum();
    r.delivery_pct = if r.expected_total == 0 {
        100.0
    } else {
        ((r.expected_total - r.missing) as f64 / r.expected_total as f64 * 1e5).round() / 1e3
    };
    r
}

/// The summary line of a lifecycle run.
fn summary(env: &Env, plan: &TrafficPlan, r: &LifecycleResults) -> String {
    let mut codes: BTreeMap<&str, u64> = BTreeMap::new();
    for figures in r.per_op.values() {
        for (code, n) in &figures.failed {
            *codes.entry(code).or_default() += n;
        }
    }
    let failed = if codes.is_empty() {
        String::new()
    } else {
        let codes: Vec<String> = codes
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect();
        format!(": {}", codes.join(", "))
    };
    let latencies = Op::ALL
        .iter()
        .filter_map(|op| {
            let l = &r.per_op.get(op.name())?.ack_latency;
            Some(format!(
                "{} {:.2}/{:.2}/{:.2}",
                op.name(),
                l.p50_ms,
                l.p95_ms,
                l.p99_ms
            ))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let events = Event::ALL
        .iter()
        .map(|e| {
            let name = e.name();
            format!(
                "{} {}",
                name.trim_start_matches("message:"),
                r.delivered_events.get(name).copied().unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "lifecycle: {}, {} group(s) x {} members ({} connections), {} ops/s x {} s ({}): ops {} \
         ({:.1}/s, {} substituted by sends, {} skipped), acked {} ({} failed{failed}); ack \
         p50/p95/p99 ms: {latencies}; events delivered {}/{} ({:.3}%: {events}), {:.0} events/s; \
         disconnected by the server {}, server CPU {}, generator CPU {}",
        env.target(),
        plan.groups,
        plan.members,
        r.setup.connections,
        plan.rate,
        plan.duration,
        r.mix,
        r.ops,
        r.ops_per_s,
        r.substituted,
        r.skipped,
        r.acked,
        r.failed,
        r.delivered_total,
        r.expected_total,
        r.delivery_pct,
        r.events_per_s,
        r.server_disconnects,
        pct(r.server_cpu_pct),
        pct(r.bench_cpu_pct),
    )
}
