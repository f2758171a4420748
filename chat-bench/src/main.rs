//! chat-bench command line: see `chat-bench --help`.
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use serde_json::json;

use chat_bench::api::Api;
use chat_bench::cli::{Cli, MAX_CONNECTIONS, MAX_DURATION_S, Scenario};
use chat_bench::client::ConnectConfig;
use chat_bench::scenario::{self, Env, TrafficPlan};
use chat_bench::server::{self, ServerInfo, SpawnOptions};
use chat_bench::stats::now_us;

fn cpus_option(s: &str) -> Option<String> {
    (!s.is_empty() && s != "none").then(|| s.to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let can_pin = cli.common.spawn_server && cpus >= 2 && server::on_path("taskset");
    let mut bench_cpus = None;
    if can_pin && let Some(list) = cpus_option(&cli.common.bench_cpus) {
        // Before the runtime starts any thread: threads inherit the affinity.
        match server::pin_self(&list) {
            Ok(()) => bench_cpus = Some(list),
            Err(e) => eprintln!("chat-bench: not pinned: {e:#}"),
        }
    }
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chat-bench: error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server_cpus = if can_pin {
        cpus_option(&cli.common.server_cpus)
    } else {
        None
    };
    match runtime.block_on(run(cli, server_cpus, bench_cpus)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_traffic(users: usize, rate: f64, duration: f64) -> Result<()> {
    if users > MAX_CONNECTIONS {
        bail!("{users} connections asked, at most {MAX_CONNECTIONS} per process");
    }
    if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
        bail!("--rate must be in (0, 1000000]");
    }
    if !(duration.is_finite() && duration > 0.0 && duration <= MAX_DURATION_S) {
        bail!("--duration must be in (0, {MAX_DURATION_S}] seconds");
    }
    Ok(())
}

fn default_users(seats: usize) -> usize {
    seats.min(250)
}

async fn run(cli: Cli, server_cpus: Option<String>, bench_cpus: Option<String>) -> Result<()> {
    let common = &cli.common;
    let run_id = format!(
        "{:08x}",
        (now_us() ^ (u64::from(std::process::id()) << 20)) as u32
    );

    // Check the scenario before starting anything.
    let plan = match &cli.scenario {
        Scenario::Idle(a) => {
            if a.connections == 0 || a.connections > MAX_CONNECTIONS {
                bail!("--connections must be 1..={MAX_CONNECTIONS}");
            }
            None
        }
        Scenario::Fanout(a) => Some(TrafficPlan {
            name: "fanout",
            groups: 1,
            members: a.members,
            users: a.members,
            rate: a.rate,
            duration: a.duration,
            content_size: a.traffic.content_size,
            drain: a.traffic.drain,
            settle: a.traffic.settle,
            churn: None,
        }),
        Scenario::Groups(a) => Some(TrafficPlan {
            name: "groups",
            groups: a.groups,
            members: a.members,
            users: a.users.unwrap_or(default_users(a.groups * a.members)),
            rate: a.rate,
            duration: a.duration,
            content_size: a.traffic.content_size,
            drain: a.traffic.drain,
            settle: a.traffic.settle,
            churn: None,
        }),
        Scenario::Churn(a) => {
            if !(0.0..=1.0).contains(&a.share) || a.interval <= 0.0 || a.down < 0.0 {
                bail!("--share must be in 0..1, --interval positive, --down not negative");
            }
            Some(TrafficPlan {
                name: "churn",
                groups: a.groups,
                members: a.members,
                users: a.users.unwrap_or(default_users(a.groups * a.members)),
                rate: a.rate,
                duration: a.duration,
                content_size: a.traffic.content_size,
                drain: a.traffic.drain,
                settle: a.traffic.settle,
                churn: Some((a.share, a.interval, a.down)),
            })
        }
    };
    if let Some(p) = &plan {
        check_traffic(p.users, p.rate, p.duration)?;
    }

    let mut info = ServerInfo::default();
    let spawned = if common.spawn_server {
        let opts = SpawnOptions {
            binary: common
                .server_bin
                .clone()
                .unwrap_or_else(server::default_server_binary),
            database_url: common.database_url.clone(),
            cpus: server_cpus.clone(),
            env: common.server_env.clone(),
        };
        eprintln!("chat-bench: starting {}", opts.binary.display());
        let s = server::spawn(&opts, &run_id).await?;
        info.spawned = true;
        info.cpus = server_cpus;
        info.database = match &common.database_url {
            Some(u) if u.starts_with("postgres") => "postgres".into(),
            _ => "sqlite".into(),
        };
        Some(s)
    } else {
        info.database = "unknown".into();
        None
    };
    info.url = spawned
        .as_ref()
        .map_or_else(|| common.url.clone(), |s| s.url.clone());
    info.pid = common
        .server_pid
        .or_else(|| spawned.as_ref().map(|s| s.pid()))
        .or_else(|| {
            reqwest::Url::parse(&info.url)
                .ok()
                .and_then(|u| u.port_or_known_default())
                .and_then(server::pid_listening_on)
        });

    let env = Env {
        api: Api::new(&info.url)?,
        connect: ConnectConfig::new(
            &info.url,
            common.source_ips,
            common.ws_read_buffer,
            Duration::from_secs_f64(common.connect_timeout.max(0.1)),
        )
        .await?,
        run_id: run_id.clone(),
        register_concurrency: common.register_concurrency,
        connect_concurrency: common.connect_concurrency,
        server_pid: info.pid,
    };

    let work = async {
        match (&cli.scenario, &plan) {
            (Scenario::Idle(a), _) => scenario::idle(&env, a)
                .await
                .and_then(|(r, s)| Ok((serde_json::to_value(r)?, s))),
            (_, Some(p)) => scenario::traffic(&env, p)
                .await
                .and_then(|(r, s)| Ok((serde_json::to_value(r)?, s))),
            (_, None) => Err(anyhow!("no traffic plan for this scenario")),
        }
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    // Stop our server whatever happened.
    drop(spawned);
    let (results, summary) = outcome?;

    println!("{summary}");
    if let Some(path) = &common.out {
        let report = json!({
            "run_id": run_id,
            "unix_time": now_us() / 1_000_000,
            "scenario": cli.scenario,
            "server": info,
            "bench": {
                "cpus": bench_cpus,
                "source_ips": common.source_ips,
                "ws_read_buffer": common.ws_read_buffer,
                "register_concurrency": common.register_concurrency,
                "connect_concurrency": common.connect_concurrency,
            },
            "traffic": plan.as_ref().map(scenario::traffic_params),
            "results": results,
            "summary": summary,
        });
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
