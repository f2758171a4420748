//! A run from start to end: checks, starting or finding the servers, the scenario, cleaning up
//! Redis, the summary line and the JSON report.
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;

use crate::api::Api;
use crate::cli::{Cli, Scenario};
use crate::client::connect_config;
use crate::plan::check_scenario;
use crate::redis;
use crate::scenario::{self, Env, Instances, TrafficPlan};
use crate::server::{self, Cluster, ServerInfo, ServerKind, SpawnOptions};
use crate::stats::now_us;
use crate::target::{Target, plan_target};

pub async fn run(cli: Cli, server_cpus: Option<String>, bench_cpus: Option<String>) -> Result<()> {
    if let Scenario::Part(part) = &cli.scenario {
        return scenario::serve_part(&part.spec).await;
    }
    let common = &cli.common;
    let run_id = format!(
        "{:08x}",
        (now_us() ^ (u64::from(std::process::id()) << 20)) as u32
    );

    // Check the scenario before starting anything.
    let plan = check_scenario(&cli)?;

    let kind = match (common.bare, cli.scenario.supports_bare()) {
        (false, _) => ServerKind::Chat,
        (true, true) => ServerKind::Bare,
        (true, false) => bail!("--bare applies to fanout, groups and idle only"),
    };
    let target = plan_target(common, kind, &run_id, server_cpus.clone())?;
    if let Target::Spawn(SpawnOptions {
        redis: Some(redis), ..
    }) = &target
    {
        redis::ping(&redis.url)
            .await
            .with_context(|| format!("Redis at {} (--redis-url)", redis.url))?;
    }
    let work = async {
        let spawned = match &target {
            Target::Spawn(opts) => {
                eprintln!(
                    "chat-bench: starting {} instance(s) of {}",
                    opts.instances,
                    opts.binary.display()
                );
                Some(server::spawn(opts, &run_id).await?)
            }
            Target::Running(_) => None,
        };
        let outcome = measure(
            &cli,
            kind,
            &target,
            spawned.as_ref(),
            server_cpus,
            &run_id,
            plan.as_ref(),
        )
        .await;
        // Their logs go with their data directories: show what they said about a failed run.
        if let (Err(_), Some(cluster)) = (&outcome, &spawned) {
            for (i, server) in cluster.servers.iter().enumerate() {
                eprintln!(
                    "chat-bench: instance {i} log (last lines):\n{}",
                    server.log_tail(15)
                );
            }
        }
        // Stop our servers whatever happened (dropping this future on Ctrl-C stops them too).
        drop(spawned);
        outcome
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    // Also after a failed start: the instances that did start may have written keys.
    if let Target::Spawn(SpawnOptions {
        redis: Some(redis), ..
    }) = &target
    {
        match redis::delete_matching(&redis.url, &redis::key_patterns(&redis.prefix)).await {
            Ok(n) => eprintln!(
                "chat-bench: deleted {n} Redis keys of prefix {}",
                redis.prefix
            ),
            Err(e) => eprintln!(
                "chat-bench: could not delete the Redis keys of prefix {}: {e:#}",
                redis.prefix
            ),
        }
    }
    let (info, results, summary) = outcome?;

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

/// Connects to the servers, runs the scenario, and returns the report's server part, results and
/// summary.
async fn measure(
    cli: &Cli,
    kind: ServerKind,
    target: &Target,
    spawned: Option<&Cluster>,
    server_cpus: Option<String>,
    run_id: &str,
    plan: Option<&TrafficPlan>,
) -> Result<(ServerInfo, serde_json::Value, String)> {
    let common = &cli.common;
    let urls = match (target, spawned) {
        (_, Some(cluster)) => cluster.urls(),
        (Target::Running(urls), None) => urls.clone(),
        (Target::Spawn(_), None) => bail!("no server was started"),
    };
    if !common.server_pid.is_empty() && common.server_pid.len() != urls.len() {
        bail!(
            "{} --server-pid for {} instance(s): give one per instance, in --url order",
            common.server_pid.len(),
            urls.len()
        );
    }
    let pids: Vec<u32> = if !common.server_pid.is_empty() {
        common.server_pid.clone()
    } else if let Some(cluster) = spawned {
        cluster.pids()
    } else {
        let found: Vec<Option<u32>> = urls
            .iter()
            .map(|u| {
                reqwest::Url::parse(u)
                    .ok()
                    .and_then(|u| u.port_or_known_default())
                    .and_then(server::pid_listening_on)
            })
            .collect();
        found
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    };
    if pids.is_empty() {
        eprintln!("chat-bench: server process(es) not found: no memory or CPU figures");
    }
    let (database, redis_url, redis_prefix) = match target {
        Target::Spawn(opts) => (
            match (kind, &opts.database_url) {
                (ServerKind::Bare, _) => "none".to_owned(),
                (_, Some(u)) if u.starts_with("postgres") => "postgres".to_owned(),
                _ => "sqlite".to_owned(),
            },
            opts.redis.as_ref().map(|r| r.url.clone()),
            opts.redis.as_ref().map(|r| r.prefix.clone()),
        ),
        Target::Running(_) => ("unknown".to_owned(), None, None),
    };
    let info = ServerInfo {
        kind,
        instances: urls.len(),
        url: urls.first().cloned().unwrap_or_default(),
        urls: urls.clone(),
        pid: pids.first().copied(),
        pids: pids.clone(),
        spawned: spawned.is_some(),
        cpus: spawned.and(server_cpus),
        database,
        redis_url,
        redis_prefix,
    };

    let mut apis = Vec::with_capacity(urls.len());
    let mut connects = Vec::with_capacity(urls.len());
    for url in &urls {
        apis.push(Api::new(url)?);
        connects.push(
            connect_config(
                url,
                common.source_ips,
                common.ws_read_buffer,
                Duration::from_secs_f64(common.connect_timeout.max(0.1)),
            )
            .await?,
        );
    }
    let env = Env {
        kind,
        instances: Instances::new(apis, connects)?,
        run_id: run_id.to_owned(),
        register_concurrency: common.register_concurrency,
        connect_concurrency: common.connect_concurrency,
        server_pids: pids,
    };

    let (results, summary) = match (&cli.scenario, plan) {
        (Scenario::Search(a), _) => {
            let url = match (target, spawned, &common.database_url) {
                (_, _, Some(url)) => url.clone(),
                (_, Some(cluster), None) => match cluster.servers.first() {
                    Some(server) => format!(
                        "sqlite://{}?mode=rw",
                        server.data_dir.join("chat.db").display()
                    ),
                    None => bail!("no server was started"),
                },
                (_, None, None) => bail!(
                    "search writes into the server's database: give --database-url, or \
                     --spawn-server"
                ),
            };
            let (r, s) = scenario::search(&env, a, &url).await?;
            (serde_json::to_value(r)?, s)
        }
        (Scenario::Idle(a), _) => {
            let (r, s) = scenario::idle(&env, a).await?;
            (serde_json::to_value(r)?, s)
        }
        (Scenario::Lifecycle(a), Some(p)) => {
            let (r, s) = scenario::lifecycle(&env, p, a).await?;
            (serde_json::to_value(r)?, s)
        }
        (_, Some(p)) => {
            let (r, s) = scenario::traffic(&env, p).await?;
            (serde_json::to_value(r)?, s)
        }
        (_, None) => bail!("no traffic plan for this scenario"),
    };
    Ok((info, results, summary))
}
