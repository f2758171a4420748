//! fanout, groups and churn: the plan of a run, and the run itself from setup through sending and
//! draining to its results and summary line.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::accounting::{TrafficResults, account};
use super::client_state::{ClientState, ClientTally, Cmd, ConvState, Shared};
use super::client_task::run_client;
use super::pacing::{self, churn_rounds, schedule};
use super::parts::run_parts;
use super::setup::{Group, Setup, connect_all, seat};
use super::{Env, pct, progress, rate, round3};
use crate::client::{Login, Ws};
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
    /// Generator processes holding the clients (`--procs`).
    pub procs: usize,
}

/// Runs fanout, groups or churn.
pub async fn traffic(env: &Env, plan: &TrafficPlan) -> Result<(TrafficResults, String)> {
    if plan.members < 2 || plan.groups == 0 || plan.users < plan.members {
        bail!(
            "need at least one group of at least 2 members, and at least as many users as members"
        );
    }
    let mut setup = Setup::default();
    let (user_ids, logins, groups) = seat(env, plan, &mut setup).await?;
    let ran = if plan.procs > 1 {
        run_parts(env, plan, user_ids, logins, &groups, &mut setup).await?
    } else {
        run_here(env, plan, user_ids, logins, &groups, &mut setup).await?
    };

    let mut r = account(&groups, ran.clients, |i| env.instances.of(i));
    r.setup = setup;
    r.target_rate = plan.rate;
    r.duration_s = plan.duration;
    r.skipped += ran.skipped;
    r.sent_per_s = rate(r.sent as f64, plan.duration);
    r.drain_s = round3(ran.drain_s);
    r.server_cpu_pct = ran.figures.server_cpu_pct;
    r.bench_cpu_pct = ran.figures.bench_cpu_pct;
    r.server_rss_start_kib = ran.figures.rss_start;
    r.server_rss_end_kib = ran.figures.rss_end;
    r.server_rss_held_kib = ran.figures.rss_held;
    let span_s = ran.last_delivery_us.saturating_sub(ran.start_us) as f64 / 1e6;
    r.delivered_per_s = rate(r.e2e_latency.count as f64, span_s);

    let summary = summary(env, plan, &r);
    Ok((r, summary))
}

/// What the clients of a run did, and the figures taken around the sending, for the accounting.
pub(super) struct Ran {
    /// Every client's state at the end, in client order.
    pub(super) clients: Vec<ClientState>,
    /// Messages the schedule could not hand to a connected client.
    pub(super) skipped: u64,
    pub(super) drain_s: f64,
    pub(super) figures: Figures,
    /// When sending started and when the last first delivery arrived (Unix microseconds).
    pub(super) start_us: u64,
    pub(super) last_delivery_us: u64,
}

/// The servers' CPU and memory and the generator's CPU around the sending.
pub(super) struct Figures {
    pub(super) server_cpu_pct: Option<f64>,
    pub(super) bench_cpu_pct: Option<f64>,
    pub(super) rss_start: Option<u64>,
    pub(super) rss_end: Option<u64>,
    pub(super) rss_held: Option<u64>,
}

/// The meters started when the sending starts.
pub(super) struct Meters {
    rss_start: Option<u64>,
    server_cpu: Option<CpuMeter>,
    bench_cpu: Option<CpuMeter>,
}

impl Meters {
    /// Starts measuring the servers and the generator's processes `bench_pids`.
    pub(super) fn start(env: &Env, bench_pids: &[u32]) -> Self {
        Self {
            rss_start: server::rss_kib_sum(&env.server_pids),
            server_cpu: CpuMeter::start(&env.server_pids),
            bench_cpu: CpuMeter::start(bench_pids),
        }
    }

    /// After the drain: CPU over the sending and the drain, memory at the end, then the
    /// `--hold` with the connections open.
    pub(super) async fn finish(self, env: &Env, hold: f64) -> Figures {
        let server_cpu_pct = self.server_cpu.and_then(|m| m.percent());
        let bench_cpu_pct = self.bench_cpu.and_then(|m| m.percent());
        let rss_end = server::rss_kib_sum(&env.server_pids);
        Figures {
            server_cpu_pct,
            bench_cpu_pct,
            rss_start: self.rss_start,
            rss_end,
            rss_held: pacing::hold(hold, &env.server_pids).await,
        }
    }
}

/// Starts client `i`'s task on its socket; returns its queue and the task.
pub(super) fn spawn_client(
    (i, user_id, login): (usize, i64, Login),
    convs: Vec<ConvState>,
    ws: Ws,
    shared: &Arc<Shared>,
    stop: &watch::Receiver<bool>,
) -> (mpsc::Sender<Cmd>, JoinHandle<ClientState>) {
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
    let task = tokio::spawn(run_client(state, ws, shared.clone(), rx, stop.clone()));
    (tx, task)
}

/// Waits for the client tasks after `stop`, in order.
pub(super) async fn join_clients(tasks: Vec<JoinHandle<ClientState>>) -> Result<Vec<ClientState>> {
    let mut clients = Vec::with_capacity(tasks.len());
    for t in tasks {
        clients.push(t.await.context("client task")?);
    }
    Ok(clients)
}

/// Every client in this process.
async fn run_here(
    env: &Env,
    plan: &TrafficPlan,
    user_ids: Vec<i64>,
    logins: Vec<Login>,
    groups: &[Group],
    setup: &mut Setup,
) -> Result<Ran> {
    let (conns, first_error) = connect_all(env, &logins, setup).await;
    if setup.connect_failures > 0 {
        bail!(
            "{} of {} connections failed: {}",
            setup.connect_failures,
            setup.connections,
            first_error.unwrap_or_default()
        );
    }

    let shared = Arc::new(Shared::new(env, plan, env.kind == ServerKind::Bare));
    let convs_of = ConvState::per_client(groups, plan.users);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders = Vec::with_capacity(plan.users);
    let mut tasks = Vec::with_capacity(plan.users);
    let clients = conns.into_iter().zip(convs_of).zip(user_ids).zip(logins);
    for (i, (((ws, convs), user_id), login)) in clients.enumerate() {
        let (tx, task) = spawn_client((i, user_id, login), convs, ws?, &shared, &stop_rx);
        senders.push(tx);
        tasks.push(task);
    }
    tokio::time::sleep(Duration::from_secs_f64(plan.settle.max(0.0))).await;

    // Sending.
    progress(format!(
        "sending {} msg/s for {} s into {} group(s) of {}",
        plan.rate, plan.duration, plan.groups, plan.members
    ));
    let meters = Meters::start(env, &[std::process::id()]);
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
    let handles: Vec<_> = senders.iter().cloned().map(Some).collect();
    let skipped = schedule(&shared, groups, &handles, plan.rate, duration).await;
    drop(handles);
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
    let figures = meters.finish(env, plan.hold).await;
    let _ = stop_tx.send(true);
    drop(senders);
    Ok(Ran {
        clients: join_clients(tasks).await?,
        skipped,
        drain_s,
        figures,
        start_us,
        last_delivery_us: shared.last_delivery_us.load(Ordering::Relaxed),
    })
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
         disconnected by the server {}, server CPU {}, generator CPU {}{}",
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
        if plan.procs > 1 {
            format!(" ({} processes)", plan.procs)
        } else {
            String::new()
        },
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
        "procs": plan.procs,
        "churn": plan.churn.map(|(share, interval, down)| serde_json::json!({
            "share": share, "interval_s": interval, "down_s": down
        })),
    })
}
