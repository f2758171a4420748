//! fanout, groups and churn: the plan of a run, and the run itself from setup through sending and
//! draining to its results and summary line.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::{mpsc, watch};

use super::accounting::{TrafficResults, account};
use super::client_state::{ClientState, ClientTally, ConvState, Shared};
use super::client_task::run_client;
use super::pacing::{self, churn_rounds, schedule};
use super::setup::{Setup, connect_all, seat};
use super::{Env, pct, progress, rate, round3};
use crate::server::{self, CpuMeter, ServerKind};
use crate::stats::now_us;

/// How the traffic of a run is shaped.
#[derive(Debug, Clone)]
pub struct TrafficPlan {
    /// Scenario name for the report.
    pub name: &'static str,
    /// Number of groups.
    pub groups: usize,
    /// Members per group.
    pub members: usize,
    /// Users, one connection each.
    pub users: usize,
    /// Messages per second over all groups.
    pub rate: f64,
    /// Seconds of sending.
    pub duration: f64,
    /// Content bytes.
    pub content_size: usize,
    /// Seconds to wait for stragglers.
    pub drain: f64,
    /// Seconds between connecting and sending.
    pub settle: f64,
    /// Seconds the connections stay open and quiet after the drain.
    pub hold: f64,
    /// Churn: (share, interval s, down s).
    pub churn: Option<(f64, f64, f64)>,
}

/// Runs fanout, groups or churn.
pub async fn traffic(env: &Env, plan: &TrafficPlan) -> Result<(TrafficResults, String)> {
    if plan.members < 2 || plan.groups == 0 || plan.users < plan.members {
        bail!(
            "need at least one group of at least 2 members, and at least as many users as members"
        );
    }
    let bare = env.kind == ServerKind::Bare;
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

    let shared = Arc::new(Shared::new(env, plan, bare));
    let convs_of = ConvState::per_client(&groups, plan.users);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders = Vec::with_capacity(plan.users);
    let mut tasks = Vec::with_capacity(plan.users);
    let clients = conns.into_iter().zip(convs_of).zip(user_ids).zip(logins);
    for (i, (((ws, convs), user_id), login)) in clients.enumerate() {
        let ws = ws?;
        let (tx, rx) = mpsc::channel(1024);
        let state = ClientState {
            index: i,
            user_id,
            login,
            convs,
            next_ack: 1,
            pending: HashMap::new(),
            tally: ClientTally::default(),
            disconnected_by_server: false,
        };
        senders.push(tx);
        tasks.push(tokio::spawn(run_client(
            state,
            ws,
            shared.clone(),
            rx,
            stop_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs_f64(plan.settle.max(0.0))).await;

    // Sending.
    progress(format!(
        "sending {} msg/s for {} s into {} group(s) of {}",
        plan.rate, plan.duration, plan.groups, plan.members
    ));
    let rss_start = server::rss_kib_sum(&env.server_pids);
    let server_cpu = CpuMeter::start(&env.server_pids);
    let bench_cpu = CpuMeter::start(&[std::process::id()]);
    let start_us = now_us();
    let duration = Duration::from_secs_f64(plan.duration);
    let churner = plan.churn.map(|(share, interval, down)| {
        tokio::spawn(churn_rounds(
            shared.clone(),
            senders.clone(),
            share,
            Duration::from_secs_f64(interval),
            Duration::from_secs_f64(down),
            duration,
        ))
    });
    let skipped = schedule(&shared, &groups, &senders, plan.rate, duration).await;
    if let Some(churner) = churner {
        let _ = churner.await;
    }

    // Drain: until every handed message was sent and acked and every expected delivery is held,
    // or the drain time ends.
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
    let last_delivery_us = shared.last_delivery_us.load(Ordering::Relaxed);

    let mut r = account(&groups, clients, |i| env.instances.of(i));
    r.setup = setup;
    r.target_rate = plan.rate;
    r.duration_s = plan.duration;
    r.skipped += skipped;
    r.sent_per_s = rate(r.sent as f64, plan.duration);
    r.drain_s = round3(drain_s);
    r.server_cpu_pct = server_cpu_pct;
    r.bench_cpu_pct = bench_cpu_pct;
    r.server_rss_start_kib = rss_start;
    r.server_rss_end_kib = rss_end;
    r.server_rss_held_kib = rss_held;
    let span_s = last_delivery_us.saturating_sub(start_us) as f64 / 1e6;
    r.delivered_per_s = rate(r.e2e_latency.count as f64, span_s);

    let summary = summary(env, plan, &r);
    Ok((r, summary))
}

/// The summary line of a traffic run.
fn summary(env: &Env, plan: &TrafficPlan, r: &TrafficResults) -> String {
    let failed: u64 = r.ack_failed.values().sum();
    let churn = if plan.churn.is_some() {
        format!(
            ", socket-only {:.3}%, {} reconnects, {} recovered by catch-up",
            r.socket_delivery_pct, r.reconnects, r.recovered_by_catch_up
        )
    } else {
        String::new()
    };
    format!(
        "{}: {}, {} group(s) x {} members ({} connections), {} msg/s x {} s: sent {} \
         ({:.1}/s), acked {} ({} failed), delivered {}/{} ({:.3}%{churn}), {:.0} deliveries/s, \
         e2e p50 {:.2} p99 {:.2} max {:.2} ms, ack p50 {:.2} p99 {:.2} ms, lost {}, dup {}, \
         disconnected by the server {}, server CPU {}, generator CPU {}",
        plan.name,
        env.target(),
        plan.groups,
        plan.members,
        r.setup.connections,
        plan.rate,
        plan.duration,
        r.sent,
        r.sent_per_s,
        r.acked,
        failed,
        r.delivered,
        r.expected_deliveries,
        r.delivery_pct,
        r.delivered_per_s,
        r.e2e_latency.p50_ms,
        r.e2e_latency.p99_ms,
        r.e2e_latency.max_ms,
        r.ack_latency.p50_ms,
        r.ack_latency.p99_ms,
        r.lost,
        r.duplicates,
        r.server_disconnects,
        pct(r.server_cpu_pct),
        pct(r.bench_cpu_pct),
    )
}

/// Summarizes a traffic run's parameters for the report.
pub fn traffic_params(plan: &TrafficPlan) -> serde_json::Value {
    serde_json::json!({
        "groups": plan.groups,
        "members": plan.members,
        "users": plan.users,
        "rate": plan.rate,
        "duration_s": plan.duration,
        "content_size": plan.content_size,
        "churn": plan.churn.map(|(share, interval, down)| serde_json::json!({
            "share": share, "interval_s": interval, "down_s": down
        })),
    })
}
