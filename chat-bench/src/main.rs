//! chat-bench command line: see `chat-bench --help`.
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use serde_json::json;

use chat_bench::api::Api;
use chat_bench::cli::{
    Cli, Common, DEFAULT_REDIS_URL, MAX_CONNECTIONS, MAX_DURATION_S, MAX_IDLE_CONNECTIONS,
    RESERVED_FILES, Scenario, TrafficArgs, split_urls,
};
use chat_bench::client::ConnectConfig;
use chat_bench::redis;
use chat_bench::scenario::{self, Env, Instances, TrafficPlan};
use chat_bench::server::{
    self, Cluster, FileLimit, RedisSetup, ServerInfo, ServerKind, SpawnOptions,
};
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

fn check_idle(connections: usize) -> Result<()> {
    if connections == 0 || connections > MAX_IDLE_CONNECTIONS {
        bail!(
            "--connections must be 1..={MAX_IDLE_CONNECTIONS} per process; run several \
             generators for more (scripts/connections.sh)"
        );
    }
    Ok(())
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

/// Refuses a run whose connections (one open file each) do not fit under the open-file limit
/// (`None`: unknown, not checked).
fn check_open_files(connections: usize, limit: Option<FileLimit>) -> Result<()> {
    let Some(FileLimit {
        soft: Some(soft),
        hard,
    }) = limit
    else {
        return Ok(());
    };
    let needed = connections as u64 + RESERVED_FILES;
    if needed <= soft {
        return Ok(());
    }
    let advice = match hard {
        Some(hard) if hard < needed => format!(
            "the hard limit is {hard}: open fewer connections per process (-k) and run several \
             generators"
        ),
        Some(hard) => format!(
            "raise the soft limit to the hard one ({hard}) in the shell that starts chat-bench: \
             `ulimit -n {hard}`"
        ),
        None => format!("raise it in the shell that starts chat-bench: `ulimit -n {needed}`"),
    };
    bail!(
        "{connections} connections need about {needed} open files, but this process may hold \
         {soft} (soft RLIMIT_NOFILE, `ulimit -n`); {advice}"
    )
}

/// A traffic scenario of `groups` groups of `members` (seated from `users` users).
fn traffic_plan(
    name: &'static str,
    (groups, members): (usize, usize),
    users: Option<usize>,
    rate: f64,
    duration: f64,
    traffic: &TrafficArgs,
) -> TrafficPlan {
    TrafficPlan {
        name,
        groups,
        members,
        // Each registration costs the server an argon2id hash.
        users: users.unwrap_or((groups * members).min(250)),
        rate,
        duration,
        content_size: traffic.content_size,
        drain: traffic.drain,
        settle: traffic.settle,
        churn: None,
    }
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
            check_idle(a.connections)?;
            None
        }
        Scenario::Fanout(a) => Some(traffic_plan(
            "fanout",
            (1, a.members),
            Some(a.members),
            a.rate,
            a.duration,
            &a.traffic,
        )),
        Scenario::Groups(a) => Some(traffic_plan(
            "groups",
            (a.groups, a.members),
            a.users,
            a.rate,
            a.duration,
            &a.traffic,
        )),
        Scenario::Churn(a) => {
            if !(0.0..=1.0).contains(&a.share) || a.interval <= 0.0 || a.down < 0.0 {
                bail!("--share must be in 0..1, --interval positive, --down not negative");
            }
            Some(TrafficPlan {
                churn: Some((a.share, a.interval, a.down)),
                ..traffic_plan(
                    "churn",
                    (a.groups, a.members),
                    a.users,
                    a.rate,
                    a.duration,
                    &a.traffic,
                )
            })
        }
    };
    if let Some(p) = &plan {
        check_traffic(p.users, p.rate, p.duration)?;
    }
    let connections = match (&cli.scenario, &plan) {
        (Scenario::Idle(a), _) => a.connections,
        (_, Some(p)) => p.users,
        (_, None) => 0,
    };
    check_open_files(connections, server::open_file_limit())?;

    let kind = match (common.bare, cli.scenario.supports_bare()) {
        (false, _) => ServerKind::Chat,
        (true, true) => ServerKind::Bare,
        (true, false) => bail!("--bare applies to fanout and groups only"),
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

/// The servers a run measures: started by this program, or already running.
enum Target {
    Spawn(SpawnOptions),
    Running(Vec<String>),
}

/// Checks the server options together and decides what to start or where to connect.
fn plan_target(
    common: &Common,
    kind: ServerKind,
    run_id: &str,
    server_cpus: Option<String>,
) -> Result<Target> {
    let instances = usize::from(common.instances);
    if !common.spawn_server {
        let urls = split_urls(&common.url);
        if urls.is_empty() {
            bail!("--url names no server");
        }
        if kind == ServerKind::Bare && urls.len() > 1 {
            bail!("the bare server keeps its rooms in its process: give it one --url");
        }
        if instances > 1 {
            bail!("--instances applies to --spawn-server; list running instances in --url");
        }
        return Ok(Target::Running(urls));
    }
    let postgres = common
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    if kind == ServerKind::Bare {
        if instances > 1 {
            bail!(
                "--bare runs one instance: the bare server keeps its rooms in its process (no \
                 adapter between instances)"
            );
        }
        if common.database_url.is_some() || common.redis_url.is_some() {
            bail!("--bare uses neither a database nor Redis: drop --database-url and --redis-url");
        }
    } else if instances > 1 && !postgres {
        bail!(
            "--instances {instances} needs one database they all share: give --database-url \
             postgres://... (a SQLite file cannot be shared between server processes)"
        );
    }
    let redis_url = match (&common.redis_url, kind, instances) {
        (Some(url), ServerKind::Chat, _) => Some(url.clone()),
        (None, ServerKind::Chat, n) if n > 1 => Some(DEFAULT_REDIS_URL.to_owned()),
        _ => None,
    };
    Ok(Target::Spawn(SpawnOptions {
        kind,
        binary: common
            .server_bin
            .clone()
            .unwrap_or_else(|| server::default_binary(kind)),
        instances,
        database_url: common.database_url.clone(),
        redis: redis_url.map(|url| RedisSetup {
            url,
            prefix: format!("cb-{run_id}"),
        }),
        // Every instance gets the same list: on a small machine the generator keeps its own core
        // and the instances share what a single server had, so the figures stay comparable.
        cpus: server_cpus,
        env: common.server_env.clone(),
    }))
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
            ConnectConfig::new(
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
        (Scenario::Idle(a), _) => {
            let (r, s) = scenario::idle(&env, a).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(args: &[&str]) -> Result<Target> {
        let cli = Cli::try_parse_from(args).map_err(|e| anyhow!("{e}"))?;
        let kind = if cli.common.bare {
            ServerKind::Bare
        } else {
            ServerKind::Chat
        };
        plan_target(&cli.common, kind, "run1", Some("1".into()))
    }

    const PG: &str = "postgres://postgres@127.0.0.1:5432/b";

    #[test]
    fn several_instances_need_postgres_and_get_redis() {
        let Target::Spawn(opts) = target(&[
            "chat-bench",
            "--spawn-server",
            "--instances",
            "3",
            "--database-url",
            PG,
            "fanout",
        ])
        .expect("valid") else {
            panic!("not spawned");
        };
        assert_eq!((opts.instances, opts.kind), (3, ServerKind::Chat));
        assert_eq!(opts.cpus.as_deref(), Some("1"));
        let redis = opts.redis.expect("Redis for several instances");
        assert_eq!(
            (redis.url.as_str(), redis.prefix.as_str()),
            (DEFAULT_REDIS_URL, "cb-run1")
        );
        for db in [&[][..], &["--database-url", "sqlite:///tmp/x.db"][..]] {
            let mut args = vec!["chat-bench", "--spawn-server", "--instances", "2"];
            args.extend_from_slice(db);
            args.push("groups");
            let err = target(&args).err().expect("refused");
            assert!(format!("{err}").contains("postgres"), "{err}");
        }
    }

    #[test]
    fn one_instance_uses_redis_only_when_asked() {
        let Target::Spawn(opts) = target(&["chat-bench", "--spawn-server", "idle"]).expect("valid")
        else {
            panic!("not spawned");
        };
        assert!(opts.redis.is_none() && opts.database_url.is_none());
        let Target::Spawn(opts) = target(&[
            "chat-bench",
            "--spawn-server",
            "--redis-url",
            "redis://127.0.0.1:6380",
            "idle",
        ])
        .expect("valid") else {
            panic!("not spawned");
        };
        assert_eq!(
            opts.redis.map(|r| r.url).as_deref(),
            Some("redis://127.0.0.1:6380")
        );
    }

    #[test]
    fn bare_runs_alone() {
        let Target::Spawn(opts) =
            target(&["chat-bench", "--spawn-server", "--bare", "fanout"]).expect("valid")
        else {
            panic!("not spawned");
        };
        assert_eq!((opts.kind, opts.instances), (ServerKind::Bare, 1));
        assert!(opts.redis.is_none());
        for extra in [
            &["--instances", "3", "--database-url", PG][..],
            &["--database-url", PG][..],
            &["--redis-url", DEFAULT_REDIS_URL][..],
        ] {
            let mut args = vec!["chat-bench", "--spawn-server", "--bare"];
            args.extend_from_slice(extra);
            args.push("fanout");
            assert!(target(&args).is_err(), "{args:?}");
        }
        assert!(
            target(&[
                "chat-bench",
                "--bare",
                "--url",
                "http://a:1,http://a:2",
                "fanout"
            ])
            .is_err()
        );
    }

    #[test]
    fn idle_goes_further_than_traffic() {
        let idle = Cli::try_parse_from(["chat-bench", "idle", "-k", "18000"]).expect("parses");
        let Scenario::Idle(a) = idle.scenario else {
            panic!("not idle");
        };
        assert_eq!(a.connections, MAX_IDLE_CONNECTIONS);
        assert!(check_idle(a.connections).is_ok());
        assert!(check_idle(MAX_IDLE_CONNECTIONS + 1).is_err());
        assert!(check_idle(0).is_err());
        assert!(check_traffic(MAX_CONNECTIONS, 100.0, 10.0).is_ok());
        assert!(check_traffic(MAX_CONNECTIONS + 1, 100.0, 10.0).is_err());
    }

    #[test]
    fn connections_must_fit_the_open_file_limit() {
        let limit = |soft, hard| Some(FileLimit { soft, hard });
        assert!(check_open_files(18_000, limit(Some(20_000), Some(20_000))).is_ok());
        assert!(check_open_files(18_000, limit(None, None)).is_ok());
        assert!(check_open_files(18_000, None).is_ok());
        assert!(check_open_files(900, limit(Some(1024), Some(1024))).is_ok());
        let err = |k, soft, hard| {
            format!(
                "{}",
                check_open_files(k, limit(soft, hard)).expect_err("refused")
            )
        };
        let raise = err(18_000, Some(1024), Some(20_000));
        assert!(
            raise.contains("1024") && raise.contains("ulimit -n 20000"),
            "{raise}"
        );
        let fewer = err(18_000, Some(10_000), Some(10_000));
        assert!(fewer.contains("fewer connections"), "{fewer}");
        let unlimited = err(5_000, Some(1024), None);
        assert!(unlimited.contains("ulimit -n 5100"), "{unlimited}");
    }

    #[test]
    fn running_servers_from_a_url_list() {
        let Target::Running(urls) =
            target(&["chat-bench", "--url", "http://a:1,http://a:2/", "groups"]).expect("valid")
        else {
            panic!("spawned");
        };
        assert_eq!(urls, vec!["http://a:1", "http://a:2"]);
        assert!(target(&["chat-bench", "--instances", "2", "groups"]).is_err());
        assert!(target(&["chat-bench", "--url", ",", "groups"]).is_err());
    }
}
