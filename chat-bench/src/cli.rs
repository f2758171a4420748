//! Command-line options.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::mix::Mix;

/// Most connections one process opens in the traffic scenarios (fanout, groups, churn,
/// lifecycle): every client there sends, receives and is accounted for. Ten thousand fit one
/// generator core at churn's rates; at high rates the generator's core saturates earlier, which
/// every report shows as the generator's CPU share.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Most connections one process opens in `idle`, where they only answer pings: a process here
/// may hold at most 20,000 open files, one per connection plus [`RESERVED_FILES`].
pub const MAX_IDLE_CONNECTIONS: usize = 18_000;
/// Open files a run needs besides its client connections: standard streams, the runtime's epoll
/// and wake-up descriptors, REST and Redis clients, `/proc` reads, a spawned server's log.
pub const RESERVED_FILES: u64 = 100;
/// Longest sending phase of a scenario, in seconds.
pub const MAX_DURATION_S: f64 = 300.0;
/// Most server instances one run starts: six, the deployment the capacity model in
/// docs/scaling.md is checked against; beyond that, on a small machine, the instances measure
/// the scheduler more than the server.
pub const MAX_INSTANCES: i64 = 6;
/// Most generator processes of one traffic run (`--procs`).
pub const MAX_PROCS: i64 = 16;
/// Redis for several spawned instances when --redis-url is not given.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Load generator for the chat server: simulated Socket.IO clients (Engine.IO v4 / Socket.IO v5
/// over WebSocket) that register through the REST API, join group conversations, send
/// `message:send` with acks and measure `message:new` delivery (lifecycle: also edits, deletes
/// and reactions, and their events).
///
/// Every scenario is bounded in connections (idle: 18,000 per process, the others: 5,000; the
/// soft open-file limit, `ulimit -n`, must exceed them by 100) and time and stops by itself. Each
/// run prints one summary line on stdout (progress goes to stderr) and, with --out, writes a JSON
/// report.
///
/// The server must allow the load: RATE_LIMIT_PER_SECOND=0 AUTH_RATE_LIMIT_PER_MINUTE=0
/// SOCKET_EVENTS_PER_SECOND=100000 SOCKET_EVENTS_BURST=100000 GROUPS_PER_HOUR=0. --spawn-server starts one so
/// configured (or --instances of them on PostgreSQL and Redis). fanout and groups also run
/// against a bare socketioxide server (--bare), for a reference.
#[derive(Debug, Parser)]
#[command(name = "chat-bench", version)]
pub struct Cli {
    /// Options shared by every scenario.
    #[command(flatten)]
    pub common: Common,
    /// The scenario to run.
    #[command(subcommand)]
    pub scenario: Scenario,
}

/// Options shared by every scenario.
#[derive(Debug, Clone, Args, Serialize)]
#[command(next_help_heading = "Common options")]
pub struct Common {
    /// Base URL of a running server (not used with --spawn-server), or the comma-separated URLs
    /// of several instances sharing one database and Redis: clients are spread over them in turn.
    #[arg(
        long,
        global = true,
        default_value = "http://127.0.0.1:3000",
        value_name = "URL[,URL...]"
    )]
    pub url: String,
    /// Start the chat-server binary (bare-server with --bare) for this run on a free port of
    /// 127.0.0.1, with a fresh data directory and the limits raised for load; it is stopped (by
    /// its PID) at the end.
    #[arg(long, global = true)]
    pub spawn_server: bool,
    /// Run fanout or groups against the bare socketioxide server (bare-server) instead: no users,
    /// tokens, REST or database; clients join their groups' rooms and the server relays each
    /// payload to the room.
    #[arg(long, global = true)]
    pub bare: bool,
    /// chat-server instances to start with --spawn-server. More than one share the PostgreSQL
    /// database of --database-url and Redis (--redis-url, with a key prefix of this run's own),
    /// all pinned to --server-cpus; clients are spread over them in turn.
    #[arg(long, global = true, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_INSTANCES))]
    pub instances: u8,
    /// The server binary for --spawn-server [default: chat-server, or bare-server with --bare,
    /// next to this program, else on PATH].
    #[arg(long, global = true, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// DATABASE_URL for --spawn-server, e.g. postgres://postgres@127.0.0.1:5432/bench [default:
    /// SQLite in the fresh data directory; several instances need PostgreSQL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// REDIS_URL for --spawn-server [default: redis://127.0.0.1:6379 with --instances above 1;
    /// one instance uses Redis only when this is given]. The run's keys are deleted at the end.
    #[arg(long, global = true, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Extra environment for --spawn-server, KEY=VALUE (repeatable; wins over the defaults).
    #[arg(long = "server-env", global = true, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub server_env: Vec<(String, String)>,
    /// CPUs the spawned server (every instance of it) is pinned to (`taskset -c`); `none` to not
    /// pin. Pinning happens only when taskset exists and the machine has at least two CPUs.
    #[arg(long, global = true, default_value = "1", value_name = "CPUS")]
    pub server_cpus: String,
    /// CPUs this program is pinned to when it spawns the server (`taskset -p -c`); `none` to not
    /// pin.
    #[arg(long, global = true, default_value = "0", value_name = "CPUS")]
    pub bench_cpus: String,
    /// PID of the server, or comma-separated PIDs of its instances, for memory and CPU readings
    /// (summed over instances) [default: the spawned servers, else the processes listening on the
    /// URLs' ports, found through /proc].
    #[arg(
        long,
        global = true,
        value_name = "PID[,PID...]",
        value_delimiter = ','
    )]
    pub server_pid: Vec<u32>,
    /// Write the JSON report to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Spread connections over this many source addresses 127.0.0.2.. (at most 250; 0: don't
    /// bind). Applies when the server is on IPv4 loopback.
    #[arg(long, global = true, default_value_t = 250, value_parser = clap::value_parser!(u8).range(0..=250))]
    pub source_ips: u8,
    /// WebSocket read buffer per simulated client, in bytes.
    #[arg(long, global = true, default_value_t = 4096)]
    pub ws_read_buffer: usize,
    /// Registrations in flight at once (each costs the server an argon2id hash of 19 MiB; on a
    /// server pinned to one core, more in flight is slower, not faster).
    #[arg(long, global = true, default_value_t = 2)]
    pub register_concurrency: usize,
    /// Socket handshakes in flight at once.
    #[arg(long, global = true, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Seconds allowed for one connection (TCP, WebSocket upgrade, Socket.IO CONNECT).
    #[arg(long, global = true, default_value_t = 10.0)]
    pub connect_timeout: f64,
}

/// The base URLs in a comma-separated `--url` list (blanks between commas ignored).
pub fn split_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_owned())
        .collect()
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// The scenarios.
#[derive(Debug, Clone, Subcommand, Serialize)]
#[serde(tag = "scenario", rename_all = "lowercase")]
pub enum Scenario {
    /// K idle connections: connects per second and server memory (VmRSS) per connection.
    Idle(IdleArgs),
    /// One group of R members, X messages per second for T seconds from its members in turn:
    /// deliveries per second, end-to-end and ack latency, lost and duplicated messages.
    Fanout(FanoutArgs),
    /// C groups of M members, X messages per second in total spread over the groups.
    Groups(GroupsArgs),
    /// Groups with messages flowing while a share of the clients is dropped and reconnected
    /// every interval; reconnected clients catch up with `GET .../messages?after_seq=` and the
    /// run reports delivery after catch-up and duplicates.
    Churn(ChurnArgs),
    /// C groups of M members running X operations per second in total over the message
    /// lifecycle: sends, edits and deletes of the client's own recent messages, reaction toggles
    /// on recent messages (--mix): ack latency per operation and events delivered per second.
    Lifecycle(LifecycleArgs),
    /// N messages in C conversations written straight into the server's database (a Zipf
    /// vocabulary), then searches through `GET /api/search/messages` by a member of some of
    /// them, one at a time: latency per kind of query. Needs a fresh database: the spawned
    /// server's SQLite file, or --database-url.
    Search(SearchArgs),
    /// One generator process of a `--procs` run, started by chat-bench itself: its clients, told
    /// by the spec file, and their results written next to it.
    #[command(hide = true)]
    Part(PartArgs),
}

/// The hidden `part` scenario's options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct PartArgs {
    /// The part's spec (JSON), written by the process that started it.
    pub spec: PathBuf,
}

impl Scenario {
    /// Whether the scenario can run against the bare socketioxide server.
    pub fn supports_bare(&self) -> bool {
        matches!(self, Self::Fanout(_) | Self::Groups(_) | Self::Idle(_))
    }
}

/// `idle` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct IdleArgs {
    /// Connections to open (at most 18000). Each is an open file: the soft open-file limit
    /// (`ulimit -n`) must exceed the connections by 100, and a server instance holds its share
    /// of them too.
    #[arg(long, short = 'k', default_value_t = 2000)]
    pub connections: usize,
    /// Users the connections belong to, in turn (each registration costs an argon2id hash)
    /// [default: connections, at most 100].
    #[arg(long)]
    pub users: Option<usize>,
    /// Seconds to wait after the last connection before reading the server's memory.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
}

/// Message traffic options shared by fanout, groups, churn and lifecycle.
#[derive(Debug, Clone, Args, Serialize)]
pub struct TrafficArgs {
    /// Bytes of message content (a send timestamp, the sender and padding).
    #[arg(long, default_value_t = 100)]
    pub content_size: usize,
    /// Seconds to wait after the last send for outstanding acks and deliveries.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Seconds between connecting the clients and the first message (presence events settle).
    #[arg(long, default_value_t = 1.0)]
    pub settle: f64,
    /// Seconds to keep the connections open and quiet after the drain, before closing them:
    /// time to read the server's memory, or to signal a heap profile, after the traffic. The
    /// server's RSS at the end of the hold is reported as well.
    #[arg(long, default_value_t = 0.0)]
    pub hold: f64,
    /// Generator processes holding the clients (fanout and groups): client `i` lives in process
    /// `i % N`, each process counting its own deliveries, so that counting is not bound to one
    /// core. This process sets up, paces and accounts; the others are started from this binary
    /// and inherit its CPUs (`--bench-cpus`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=MAX_PROCS))]
    pub procs: u8,
}

/// `fanout` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct FanoutArgs {
    /// Members of the group (R), one user and one connection each.
    #[arg(long, short = 'r', default_value_t = 100)]
    pub members: usize,
    /// Messages per second into the group (X).
    #[arg(long, short = 'x', default_value_t = 200.0)]
    pub rate: f64,
    /// Seconds of sending (T).
    #[arg(long, short = 't', default_value_t = 10.0)]
    pub duration: f64,
    /// Traffic options.
    #[command(flatten)]
    #[serde(flatten)]
    pub traffic: TrafficArgs,
}

/// `groups` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct GroupsArgs {
    /// Number of groups (C).
    #[arg(long, short = 'c', default_value_t = 200)]
    pub groups: usize,
    /// Members per group (M).
    #[arg(long, short = 'm', default_value_t = 5)]
    pub members: usize,
    /// Users (one connection each) the group seats are drawn from; a user sits in about
    /// C*M/users groups [default: C*M, at most 250].
    #[arg(long)]
    pub users: Option<usize>,
    /// Messages per second over all groups (X).
    #[arg(long, short = 'x', default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of sending (T).
    #[arg(long, short = 't', default_value_t = 10.0)]
    pub duration: f64,
    /// Traffic options.
    #[command(flatten)]
    #[serde(flatten)]
    pub traffic: TrafficArgs,
}

/// `lifecycle` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct LifecycleArgs {
    /// Number of groups (C).
    #[arg(long, short = 'c', default_value_t = 50)]
    pub groups: usize,
    /// Members per group (M).
    #[arg(long, short = 'm', default_value_t = 5)]
    pub members: usize,
    /// Users (one connection each) the group seats are drawn from [default: C*M, at most 250].
    #[arg(long)]
    pub users: Option<usize>,
    /// Operations per second over all groups (X).
    #[arg(long, short = 'x', default_value_t = 500.0)]
    pub rate: f64,
    /// Seconds of operations (T).
    #[arg(long, short = 't', default_value_t = 10.0)]
    pub duration: f64,
    /// Relative weights of the operations: `send` (message:send), `edit` (message:edit of one of
    /// the client's recent messages), `react` (reaction:add, or reaction:remove when the client
    /// has that reaction, on a recent message of the conversation), `delete` (message:delete of
    /// one of the client's recent messages). An edit, reaction or delete without a message to
    /// act on is made a send (counted as substituted).
    #[arg(long, default_value_t = Mix::default(), value_name = "KIND=WEIGHT,...")]
    pub mix: Mix,
    /// Messages of each conversation a client keeps as targets (the most recent ones).
    #[arg(long, default_value_t = 20)]
    pub recent: usize,
    /// Traffic options.
    #[command(flatten)]
    #[serde(flatten)]
    pub traffic: TrafficArgs,
}

/// `search` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct SearchArgs {
    /// Messages to store (N), spread evenly over the conversations.
    #[arg(long, short = 'n', default_value_t = 1_000_000)]
    pub messages: u64,
    /// Conversations (C): groups of four users.
    #[arg(long, short = 'c', default_value_t = 10_000)]
    pub conversations: usize,
    /// Conversations the searching user is a member of.
    #[arg(long, default_value_t = 50)]
    pub member_of: usize,
    /// Users the members and senders are drawn from.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    /// Distinct words of the vocabulary (drawn with a Zipf distribution).
    #[arg(long, default_value_t = 5000)]
    pub vocabulary: usize,
    /// Measured searches (after 20 to warm up), in turn one word, two words and a prefix.
    #[arg(long, default_value_t = 600)]
    pub searches: usize,
    /// Rows in one INSERT statement.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Seed of the data set and the queries.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `churn` options.
#[derive(Debug, Clone, Args, Serialize)]
pub struct ChurnArgs {
    /// Number of groups (C).
    #[arg(long, short = 'c', default_value_t = 50)]
    pub groups: usize,
    /// Members per group (M).
    #[arg(long, short = 'm', default_value_t = 5)]
    pub members: usize,
    /// Users (one connection each) the group seats are drawn from [default: C*M, at most 250].
    #[arg(long)]
    pub users: Option<usize>,
    /// Messages per second over all groups (X).
    #[arg(long, short = 'x', default_value_t = 200.0)]
    pub rate: f64,
    /// Seconds of sending (T).
    #[arg(long, short = 't', default_value_t = 40.0)]
    pub duration: f64,
    /// Share of the clients dropped at each churn round (0..1).
    #[arg(long, default_value_t = 0.2)]
    pub share: f64,
    /// Seconds between churn rounds (the first one after this long).
    #[arg(long, default_value_t = 15.0)]
    pub interval: f64,
    /// Seconds a dropped client stays away before reconnecting.
    #[arg(long, default_value_t = 2.0)]
    pub down: f64,
    /// Traffic options.
    #[command(flatten)]
    #[serde(flatten)]
    pub traffic: TrafficArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_scenarios() {
        let cli = Cli::try_parse_from([
            "chat-bench",
            "--spawn-server",
            "fanout",
            "-r",
            "10",
            "--rate",
            "50",
            "--out",
            "x.json",
        ])
        .expect("valid command line");
        assert!(cli.common.spawn_server);
        assert_eq!(cli.common.out, Some(PathBuf::from("x.json")));
        let Scenario::Fanout(args) = cli.scenario else {
            panic!("not fanout");
        };
        assert_eq!((args.members, args.rate, args.duration), (10, 50.0, 10.0));
        assert!(Cli::try_parse_from(["chat-bench", "idle", "--source-ips", "300"]).is_err());
        assert!(Cli::try_parse_from(["chat-bench", "idle", "--server-env", "NOEQUALS"]).is_err());
        assert_eq!(cli.common.instances, 1);
        assert!(cli.common.redis_url.is_none());
        assert!(cli.common.server_pid.is_empty());
    }

    #[test]
    fn parses_instances_and_bare() {
        let cli = Cli::try_parse_from([
            "chat-bench",
            "--spawn-server",
            "--instances",
            "3",
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/b",
            "groups",
            "--server-pid",
            "10,11,12",
        ])
        .expect("valid command line");
        assert_eq!(cli.common.instances, 3);
        assert_eq!(cli.common.server_pid, vec![10, 11, 12]);
        assert!(!cli.common.bare);
        for bad in ["0", "7"] {
            assert!(Cli::try_parse_from(["chat-bench", "--instances", bad, "idle"]).is_err());
        }
        for line in [
            &["chat-bench", "fanout", "--bare", "-r", "20"][..],
            &[
                "chat-bench",
                "--spawn-server",
                "--bare",
                "fanout",
                "-r",
                "20",
            ][..],
        ] {
            let cli = Cli::try_parse_from(line).expect("valid command line");
            assert!(cli.common.bare && cli.scenario.supports_bare());
        }
        let cli = Cli::try_parse_from(["chat-bench", "--bare", "churn"]).expect("parses");
        assert!(cli.common.bare && !cli.scenario.supports_bare());
    }

    #[test]
    fn parses_lifecycle() {
        let cli = Cli::try_parse_from(["chat-bench", "lifecycle"]).expect("defaults");
        let Scenario::Lifecycle(args) = cli.scenario else {
            panic!("not lifecycle");
        };
        assert_eq!((args.groups, args.members, args.recent), (50, 5, 20));
        assert_eq!(args.mix, Mix::default());
        assert!(!Scenario::Lifecycle(args).supports_bare());
        let cli = Cli::try_parse_from([
            "chat-bench",
            "lifecycle",
            "--mix",
            "send=1,react=1",
            "-x",
            "20",
        ])
        .expect("a mix");
        let Scenario::Lifecycle(args) = cli.scenario else {
            panic!("not lifecycle");
        };
        assert_eq!((args.mix.send, args.mix.edit, args.mix.react), (1, 0, 1));
        assert!(Cli::try_parse_from(["chat-bench", "lifecycle", "--mix", "edit=5"]).is_err());
    }

    #[test]
    fn splits_url_lists() {
        assert_eq!(split_urls("http://a:1"), vec!["http://a:1"]);
        assert_eq!(
            split_urls("http://a:1/, http://a:2 ,,http://a:3"),
            vec!["http://a:1", "http://a:2", "http://a:3"]
        );
        assert!(split_urls(" , ").is_empty());
    }
}
