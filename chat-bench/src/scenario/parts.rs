//! `--procs N`: fanout and groups with their clients spread over N generator processes, so that
//! receiving and counting the deliveries is not bound to one core.
//!
//! This process registers the users and creates the groups, writes one spec per part and starts
//! `chat-bench part SPEC` N times; client `i` lives in part `i % N`. Each part connects its
//! clients and answers `ready`. On `go START_US` every part runs the same open-loop schedule from
//! that instant and sends the messages that fall to its own clients (the schedule is
//! deterministic; a part counts the other parts' clients as connected). Every 20 ms a part reports
//! its counters (`tick`), which this process sums for the drain. On `stop` a part closes its
//! clients, writes their state next to its spec and answers `done`; this process then accounts for
//! every client as if they had all run here.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use super::client_state::{ClientState, ConvState, Shared};
use super::pacing::{self, schedule};
use super::setup::{Group, Setup};
use super::traffic::{Meters, Ran, TrafficPlan, join_clients, spawn_client};
use super::{Env, Instances, progress, rate, round3};
use crate::api::Api;
use crate::client::{self, Login, connect_config};
use crate::server::ServerKind;
use crate::stats::now_us;

/// How often a part reports its counters.
const TICK: Duration = Duration::from_millis(20);
/// Time between `go` and the first message, for every part to read its `go`.
const START_DELAY_US: u64 = 200_000;

/// What one part is told: the server, the traffic, every group, and its own clients.
#[derive(Serialize, Deserialize)]
struct PartSpec {
    part: usize,
    parts: usize,
    bare: bool,
    run_id: String,
    urls: Vec<String>,
    source_ips: u8,
    read_buffer: usize,
    connect_timeout_s: f64,
    connect_concurrency: usize,
    users: usize,
    rate: f64,
    duration_s: f64,
    content_size: usize,
    groups: Vec<Group>,
    /// The part's clients: index, user id, login.
    clients: Vec<(usize, i64, Login)>,
}

/// Where a part writes its clients' state.
fn out_path(spec: &Path) -> PathBuf {
    spec.with_extension("out.json")
}

/// A part's last report, as read from its stdout.
#[derive(Default)]
struct PartState {
    /// `ready`: seconds connecting, failures, first error.
    ready: Mutex<Option<(f64, usize, String)>>,
    pending: AtomicI64,
    expected: AtomicU64,
    delivered: AtomicU64,
    last_delivery_us: AtomicU64,
    /// Its schedule has ended: every message it will send is counted in `pending`.
    sent_all: AtomicBool,
    /// `done`: messages it could not hand to a connected client.
    done: Mutex<Option<u64>>,
    exited: AtomicBool,
}

impl PartState {
    fn read_line(&self, line: &str) {
        let mut words = line.split(' ');
        let word = words.next().unwrap_or_default();
        let mut num = || {
            words
                .next()
                .and_then(|w| w.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        match word {
            "ready" => {
                let (secs, failures) = (num(), num() as usize);
                let error = line.splitn(4, ' ').nth(3).unwrap_or_default().to_owned();
                *lock(&self.ready) = Some((secs, failures, error));
            }
            "tick" => {
                self.pending.store(num() as i64, Ordering::Relaxed);
                self.expected.store(num() as u64, Ordering::Relaxed);
                self.delivered.store(num() as u64, Ordering::Relaxed);
                self.last_delivery_us.store(num() as u64, Ordering::Relaxed);
                // Stored last: once it reads true, the counters above include every send.
                self.sent_all.store(num() > 0.0, Ordering::Release);
            }
            "done" => *lock(&self.done) = Some(num() as u64),
            _ => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A started part: its process, its stdin and what it last reported.
struct Part {
    child: Child,
    stdin: ChildStdin,
    state: Arc<PartState>,
}

impl Part {
    async fn say(&mut self, line: &str) -> Result<()> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .context("writing to a generator process")?;
        self.stdin
            .flush()
            .await
            .context("writing to a generator process")
    }
}

/// Waits until `done` holds for every part, failing when one exits first or `limit` passes.
async fn wait_all(
    parts: &[Part],
    what: &str,
    limit: Duration,
    done: impl Fn(&PartState) -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        if parts.iter().all(|p| done(&p.state)) {
            return Ok(());
        }
        if let Some(i) = parts
            .iter()
            .position(|p| p.state.exited.load(Ordering::Relaxed) && !done(&p.state))
        {
            bail!("generator process {i} ended before {what} (its errors are above)");
        }
        if start.elapsed() > limit {
            bail!("generator processes not {what} after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The directory of the parts' specs and results, removed with everything in it when dropped.
struct SpecDir(PathBuf);

impl Drop for SpecDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the clients in `plan.procs` processes of this binary (see the module docs).
pub(super) async fn run_parts(
    env: &Env,
    plan: &TrafficPlan,
    user_ids: Vec<i64>,
    logins: Vec<Login>,
    groups: &[Group],
    setup: &mut Setup,
) -> Result<Ran> {
    let spec_dir = SpecDir(std::env::temp_dir().join(format!("chat-bench-{}-parts", env.run_id)));
    let dir = spec_dir.0.as_path();
    // The specs hold the users' tokens: readable by this user only.
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .recursive(true)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let n = plan.procs;
    let first = env.instances.connect(0);
    let mut clients_of: Vec<Vec<(usize, i64, Login)>> = (0..n).map(|_| Vec::new()).collect();
    for (i, (user_id, login)) in user_ids.into_iter().zip(logins).enumerate() {
        clients_of[i % n].push((i, user_id, login));
    }
    let exe = std::env::current_exe().context("finding chat-bench's own binary")?;
    let mut parts = Vec::with_capacity(n);
    for (part, clients) in clients_of.into_iter().enumerate() {
        let spec = PartSpec {
            part,
            parts: n,
            bare: env.kind == ServerKind::Bare,
            run_id: env.run_id.clone(),
            urls: (0..env.instances.len())
                .map(|i| env.instances.api(i).base().to_owned())
                .collect(),
            source_ips: first.source_ips,
            read_buffer: first.read_buffer,
            connect_timeout_s: first.timeout.as_secs_f64(),
            connect_concurrency: env.connect_concurrency.div_ceil(n).max(1),
            users: plan.users,
            rate: plan.rate,
            duration_s: plan.duration,
            content_size: plan.content_size,
            groups: groups.to_vec(),
            clients,
        };
        let path = dir.join(format!("part-{part}.json"));
        std::fs::write(&path, serde_json::to_vec(&spec)?)
            .with_context(|| format!("writing {}", path.display()))?;
        let mut child = Command::new(&exe)
            .arg("part")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stdin = child
            .stdin
            .take()
            .context("generator process without stdin")?;
        let stdout = child
            .stdout
            .take()
            .context("generator process without stdout")?;
        let state = Arc::new(PartState::default());
        let reader = state.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                reader.read_line(&line);
            }
            reader.exited.store(true, Ordering::Relaxed);
        });
        parts.push(Part {
            child,
            stdin,
            state,
        });
    }

    progress(format!(
        "connecting {} sockets from {n} generator processes",
        plan.users
    ));
    wait_all(&parts, "connected", Duration::from_secs(300), |s| {
        lock(&s.ready).is_some()
    })
    .await?;
    let readies: Vec<(f64, usize, String)> = parts
        .iter()
        .filter_map(|p| lock(&p.state.ready).clone())
        .collect();
    setup.connections = plan.users;
    setup.connect_failures = readies.iter().map(|r| r.1).sum();
    setup.connect_s = round3(readies.iter().map(|r| r.0).fold(0.0, f64::max));
    setup.connects_per_s = rate(
        (plan.users - setup.connect_failures) as f64,
        setup.connect_s,
    );
    if setup.connect_failures > 0 {
        let error = readies
            .iter()
            .find(|r| r.1 > 0)
            .map(|r| r.2.clone())
            .unwrap_or_default();
        bail!(
            "{} of {} connections failed: {error}",
            setup.connect_failures,
            setup.connections
        );
    }
    tokio::time::sleep(Duration::from_secs_f64(plan.settle.max(0.0))).await;

    progress(format!(
        "sending {} msg/s for {} s into {} group(s) of {} from {n} generator processes",
        plan.rate, plan.duration, plan.groups, plan.members
    ));
    let mut pids = vec![std::process::id()];
    pids.extend(parts.iter().filter_map(|p| p.child.id()));
    let meters = Meters::start(env, &pids);
    let start_us = now_us() + START_DELAY_US;
    for part in &mut parts {
        part.say(&format!("go {start_us}")).await?;
    }
    tokio::time::sleep(
        Duration::from_micros(START_DELAY_US) + Duration::from_secs_f64(plan.duration),
    )
    .await;
    let drain_s = pacing::drain(plan.drain, || {
        let sum = |f: fn(&PartState) -> u64| parts.iter().map(|p| f(&p.state)).sum::<u64>();
        let pending: i64 = parts
            .iter()
            .map(|p| p.state.pending.load(Ordering::Relaxed))
            .sum();
        // A part's counters are up to a tick old: until it says its schedule has ended, its
        // last messages may be missing from them.
        parts
            .iter()
            .all(|p| p.state.sent_all.load(Ordering::Acquire))
            && pending <= 0
            && sum(|s| s.delivered.load(Ordering::Relaxed))
                >= sum(|s| s.expected.load(Ordering::Relaxed))
    })
    .await;
    let figures = meters.finish(env, plan.hold).await;

    for part in &mut parts {
        part.say("stop").await?;
    }
    wait_all(&parts, "done", Duration::from_secs(120), |s| {
        lock(&s.done).is_some()
    })
    .await?;
    let mut clients: Vec<ClientState> = Vec::with_capacity(plan.users);
    let mut skipped = 0;
    let mut last_delivery_us = 0;
    for (i, part) in parts.iter_mut().enumerate() {
        let _ = part.child.wait().await;
        skipped += lock(&part.state.done).unwrap_or(0);
        last_delivery_us =
            last_delivery_us.max(part.state.last_delivery_us.load(Ordering::Relaxed));
        let path = out_path(&dir.join(format!("part-{i}.json")));
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let part_clients: Vec<ClientState> = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        clients.extend(part_clients);
    }
    clients.sort_by_key(|c| c.index);
    if clients.len() != plan.users || clients.iter().enumerate().any(|(i, c)| c.index != i) {
        bail!(
            "the generator processes returned {} of {} clients",
            clients.len(),
            plan.users
        );
    }
    Ok(Ran {
        clients,
        skipped,
        drain_s,
        figures,
        start_us,
        last_delivery_us,
    })
}

/// `chat-bench part SPEC`: one generator process of a `--procs` run (see the module docs).
pub async fn serve_part(spec_path: &Path) -> Result<()> {
    let bytes =
        std::fs::read(spec_path).with_context(|| format!("reading {}", spec_path.display()))?;
    let spec: PartSpec = serde_json::from_slice(&bytes).context("parsing the part's spec")?;
    let timeout = Duration::from_secs_f64(spec.connect_timeout_s.max(0.1));
    let mut apis = Vec::with_capacity(spec.urls.len());
    let mut connects = Vec::with_capacity(spec.urls.len());
    for url in &spec.urls {
        apis.push(Api::new(url)?);
        connects.push(connect_config(url, spec.source_ips, spec.read_buffer, timeout).await?);
    }
    let env = Env {
        kind: if spec.bare {
            ServerKind::Bare
        } else {
            ServerKind::Chat
        },
        instances: Instances::new(apis, connects)?,
        run_id: spec.run_id.clone(),
        register_concurrency: 1,
        connect_concurrency: spec.connect_concurrency,
        server_pids: Vec::new(),
    };
    let plan = TrafficPlan {
        name: "part",
        groups: spec.groups.len(),
        members: 0,
        users: spec.users,
        rate: spec.rate,
        duration: spec.duration_s,
        content_size: spec.content_size,
        drain: 0.0,
        settle: 0.0,
        hold: 0.0,
        churn: None,
        procs: spec.parts,
    };
    let shared = Arc::new(Shared::new(&env, &plan, spec.bare));
    // The other parts' clients count as connected: the schedule then picks, for every message,
    // the same member in every part.
    for (i, connected) in shared.connected.iter().enumerate() {
        connected.store(i % spec.parts != spec.part, Ordering::Relaxed);
    }

    let t0 = Instant::now();
    let conns: Vec<Result<client::Ws>> = stream::iter(&spec.clients)
        .map(|(i, _, login)| client::connect(env.instances.connect(*i), *i, login))
        .buffered(env.connect_concurrency.max(1))
        .collect()
        .await;
    let failures = conns.iter().filter(|c| c.is_err()).count();
    let error = conns
        .iter()
        .find_map(|c| c.as_ref().err())
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    println!(
        "ready {} {failures} {}",
        t0.elapsed().as_secs_f64(),
        error.replace('\n', " ")
    );
    if failures > 0 {
        return Ok(());
    }

    let mut convs_of = ConvState::per_client(&spec.groups, spec.users);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut senders: Vec<_> = (0..spec.users).map(|_| None).collect();
    let mut tasks = Vec::with_capacity(spec.clients.len());
    for (client, ws) in spec.clients.into_iter().zip(conns) {
        let convs = std::mem::take(&mut convs_of[client.0]);
        let i = client.0;
        let (tx, task) = spawn_client(client, convs, ws?, &shared, &stop_rx);
        senders[i] = Some(tx);
        tasks.push(task);
    }

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let start_us = loop {
        match stdin.next_line().await? {
            Some(line) => {
                if let Some(at) = line
                    .strip_prefix("go ")
                    .and_then(|t| t.trim().parse::<u64>().ok())
                {
                    break at;
                }
            }
            None => bail!("the coordinating chat-bench went away before the start"),
        }
    };
    let sent_all = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (shared, sent_all) = (shared.clone(), sent_all.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            loop {
                every.tick().await;
                println!("{}", tick_line(&shared, sent_all.load(Ordering::Acquire)));
            }
        })
    };
    tokio::time::sleep(Duration::from_micros(start_us.saturating_sub(now_us()))).await;
    let skipped = schedule(
        &shared,
        &spec.groups,
        &senders,
        spec.rate,
        Duration::from_secs_f64(spec.duration_s),
    )
    .await;
    sent_all.store(true, Ordering::Release);
    // Clients stay connected until told to stop (or until the coordinator's pipe closes).
    while let Some(line) = stdin.next_line().await? {
        if line.trim() == "stop" {
            break;
        }
    }
    let _ = stop_tx.send(true);
    drop(senders);
    let clients = join_clients(tasks).await?;
    ticker.abort();
    let out = out_path(spec_path);
    std::fs::write(&out, serde_json::to_vec(&clients)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{}", tick_line(&shared, true));
    println!("done {skipped}");
    Ok(())
}

/// `tick PENDING EXPECTED DELIVERED LAST_DELIVERY_US SENT_ALL`: what the drain needs of a part.
/// `sent_all` is read before the counters, so a 1 comes with counters that include every send.
fn tick_line(shared: &Shared, sent_all: bool) -> String {
    let pending =
        shared.pending_acks.load(Ordering::Relaxed) + shared.queued.load(Ordering::Relaxed);
    format!(
        "tick {pending} {} {} {} {}",
        shared.expected.load(Ordering::Relaxed),
        shared.delivered.load(Ordering::Relaxed),
        shared.last_delivery_us.load(Ordering::Relaxed),
        u8::from(sent_all),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_read_back() {
        let state = PartState::default();
        state.read_line("ready 1.5 2 connect timed out after 10s");
        state.read_line("tick -1 400 398 1700000000000000 0");
        assert!(!state.sent_all.load(Ordering::Relaxed));
        state.read_line("something else");
        assert_eq!(
            lock(&state.ready).clone(),
            Some((1.5, 2, "connect timed out after 10s".to_owned()))
        );
        assert_eq!(state.pending.load(Ordering::Relaxed), -1);
        assert_eq!(state.expected.load(Ordering::Relaxed), 400);
        assert_eq!(state.delivered.load(Ordering::Relaxed), 398);
        assert_eq!(
            state.last_delivery_us.load(Ordering::Relaxed),
            1_700_000_000_000_000
        );
        assert!(lock(&state.done).is_none());
        state.read_line("tick 0 400 400 1700000000000001 1");
        assert!(state.sent_all.load(Ordering::Relaxed));
        state.read_line("done 3");
        assert_eq!(*lock(&state.done), Some(3));
    }
}
