//! The server under test: starting it or several instances of it (optional), finding its
//! processes, reading their memory and CPU.
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Which server a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ServerKind {
    /// chat-server: users, tokens, persistence, presence.
    #[serde(rename = "chat-server")]
    Chat,
    /// bare-server: socketioxide relaying payloads to rooms, nothing else.
    #[serde(rename = "bare-server")]
    Bare,
}

impl ServerKind {
    /// The binary's file name.
    pub fn binary_name(self) -> &'static str {
        match self {
            Self::Chat => "chat-server",
            Self::Bare => "bare-server",
        }
    }

    /// How summaries name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Chat => "chat-server",
            Self::Bare => "bare socketioxide",
        }
    }
}

/// Redis shared by spawned instances.
#[derive(Debug, Clone)]
pub struct RedisSetup {
    /// `REDIS_URL`.
    pub url: String,
    /// `REDIS_PREFIX`, unique per run so runs (and other users of the Redis) do not mix.
    pub prefix: String,
}

/// How to start servers of our own.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// chat-server or bare-server.
    pub kind: ServerKind,
    /// The binary.
    pub binary: PathBuf,
    /// How many processes.
    pub instances: usize,
    /// `DATABASE_URL`; SQLite in a fresh data directory when `None`.
    pub database_url: Option<String>,
    /// `REDIS_URL` and `REDIS_PREFIX`; none: the in-process adapter.
    pub redis: Option<RedisSetup>,
    /// CPU list for `taskset -c` (none: not pinned); every instance gets the same list.
    pub cpus: Option<String>,
    /// Extra `KEY=VALUE` environment entries (after the defaults, so they win).
    pub env: Vec<(String, String)>,
}

/// A server process this program started; it is stopped (by its PID) when dropped.
#[derive(Debug)]
pub struct SpawnedServer {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The data directory (removed on drop).
    pub data_dir: PathBuf,
    /// The server's log file (inside the data directory).
    pub log_path: PathBuf,
}

impl SpawnedServer {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Asks the server to stop (SIGTERM through `kill`) without waiting.
    fn terminate(&mut self) {
        if self.running() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data.
    pub fn stop(&mut self) {
        if self.running() {
            self.terminate();
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if self.running() {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
        let _ = fs::remove_dir_all(&self.data_dir);
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(&self.log_path).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.reverse();
        tail.join("\n")
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The instances this program started; all are stopped when dropped.
#[derive(Debug, Default)]
pub struct Cluster {
    /// One per instance, in the order clients are spread over them.
    pub servers: Vec<SpawnedServer>,
}

impl Cluster {
    /// Base URLs, in instance order.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }

    /// Process ids, in instance order.
    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(SpawnedServer::pid).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Signal every instance first so their shutdowns overlap instead of adding up.
        for s in &mut self.servers {
            s.terminate();
        }
        for s in &mut self.servers {
            s.stop();
        }
    }
}

/// Whether a program can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The default binary of `kind`: next to this executable when there, else on PATH.
pub fn default_binary(kind: ServerKind) -> PathBuf {
    let name = kind.binary_name();
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Starts `opts.instances` servers on free ports with limits raised for load, one after the
/// other, each waited for until `/health` answers. Instances share the JWT secret (a token from
/// one is accepted by the others), the database and Redis.
pub async fn spawn(opts: &SpawnOptions, run_id: &str) -> Result<Cluster> {
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..48)
            .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
            .collect()
    };
    let mut cluster = Cluster::default();
    for index in 0..opts.instances.max(1) {
        // One at a time: on PostgreSQL the first applies the migrations while the others would
        // only queue on the migration lock.
        let server = spawn_one(opts, run_id, index, &secret).await?;
        cluster.servers.push(server);
    }
    Ok(cluster)
}

async fn spawn_one(
    opts: &SpawnOptions,
    run_id: &str,
    index: usize,
    secret: &str,
) -> Result<SpawnedServer> {
    let port = free_port()?;
    let data_dir = std::env::temp_dir().join(format!("chat-bench-{run_id}-{index}"));
    fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let log_path = data_dir.join("server.log");
    let log = fs::File::create(&log_path).context("creating the server log")?;
    let log_err = log.try_clone().context("cloning the log handle")?;

    let mut cmd = match &opts.cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(&opts.binary);
            c
        }
        None => Command::new(&opts.binary),
    };
    cmd.env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("REDIS_PREFIX");
    if opts.kind == ServerKind::Chat {
        cmd.env("DATA_DIR", &data_dir)
            .env("CLIENT_DIR", data_dir.join("no-client"))
            .env("JWT_SECRET", secret)
            .env("RATE_LIMIT_PER_SECOND", "0")
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
            .env("SOCKET_EVENTS_PER_SECOND", "100000")
            .env("SOCKET_EVENTS_BURST", "100000")
            .env("HANDSHAKES_PER_MINUTE", "0")
            .env("GROUPS_PER_HOUR", "0")
            // Several instances share the host: no metrics listener each.
            .env("METRICS_ADDR", "");
        if let Some(url) = &opts.database_url {
            cmd.env("DATABASE_URL", url);
        }
        if let Some(redis) = &opts.redis {
            cmd.env("REDIS_URL", &redis.url)
                .env("REDIS_PREFIX", &redis.prefix);
        }
    }
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", opts.binary.display()))?;
    let mut server = SpawnedServer {
        child,
        url: format!("http://127.0.0.1:{port}"),
        data_dir,
        log_path,
    };
    if let Err(e) = wait_healthy(&mut server).await {
        let tail = server.log_tail(20);
        server.stop();
        bail!("instance {index}: {e:#}\nserver log:\n{tail}");
    }
    Ok(server)
}

async fn wait_healthy(server: &mut SpawnedServer) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("the server exited at start ({status})");
        }
        if let Ok(resp) = client.get(format!("{}/health", server.url)).send().await
            && resp.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not answer /health within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pins this process to `cpus` with `taskset` (call before any thread is started: threads inherit).
pub fn pin_self(cpus: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset -p -c {cpus} failed ({status})");
    }
    Ok(())
}

/// The process listening on TCP `port` (IPv4 or IPv6), found through `/proc`.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue; // not LISTEN
            }
            let local_port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let procs = fs::read_dir("/proc").ok()?;
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = fs::read_link(fd.path())
                && inodes.iter().any(|i| Path::new(i) == target)
            {
                return Some(pid);
            }
        }
    }
    None
}

/// A process's resident memory (VmRSS) in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A process's open-file limit (`RLIMIT_NOFILE`); `None` stands for unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit, the one in force (`ulimit -Sn`).
    pub soft: Option<u64>,
    /// The hard limit, up to which the soft one may be raised without privileges (`ulimit -Hn`).
    pub hard: Option<u64>,
}

/// This process's open-file limit, from `/proc/self/limits`; `None` when it cannot be read.
pub fn open_file_limit() -> Option<FileLimit> {
    parse_open_file_limit(&fs::read_to_string("/proc/self/limits").ok()?)
}

/// The `Max open files` line of a `/proc/<pid>/limits` text.
fn parse_open_file_limit(limits: &str) -> Option<FileLimit> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    let mut fields = rest.split_whitespace();
    let mut value = || match fields.next()? {
        "unlimited" => Some(None),
        n => n.parse().ok().map(Some),
    };
    Some(FileLimit {
        soft: value()?,
        hard: value()?,
    })
}

/// A process's CPU time (user + system) in seconds, from `/proc/<pid>/stat` (100 ticks per second).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Resident memory (VmRSS) summed over processes, in KiB; `None` when there are none or one
/// cannot be read (a partial sum would pass for the whole).
pub fn rss_kib_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}

fn cpu_seconds_sum(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&pid| cpu_seconds(pid)).sum()
}

/// CPU use of processes between two points, summed, as a share of one core.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    pids: Vec<u32>,
    cpu0: f64,
    t0: Instant,
}

impl CpuMeter {
    /// Starts measuring `pids` (none: nothing to measure).
    pub fn start(pids: &[u32]) -> Option<Self> {
        if pids.is_empty() {
            return None;
        }
        Some(Self {
            pids: pids.to_vec(),
            cpu0: cpu_seconds_sum(pids)?,
            t0: Instant::now(),
        })
    }

    /// Percent of one core used since the start, over all the processes.
    pub fn percent(&self) -> Option<f64> {
        let used = cpu_seconds_sum(&self.pids)? - self.cpu0;
        let wall = self.t0.elapsed().as_secs_f64();
        (wall > 0.0).then(|| (used / wall * 1000.0).round() / 10.0)
    }
}

/// What is known about the server processes, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// chat-server or bare-server.
    pub kind: ServerKind,
    /// How many instances the clients were spread over.
    pub instances: usize,
    /// Base URL of the first instance.
    pub url: String,
    /// Base URLs of every instance.
    pub urls: Vec<String>,
    /// Process id of the first instance, when found.
    pub pid: Option<u32>,
    /// Process ids of the instances, when all were found (memory and CPU are summed over them).
    pub pids: Vec<u32>,
    /// Whether this program started them.
    pub spawned: bool,
    /// CPUs they were pinned to (all instances on the same list).
    pub cpus: Option<String>,
    /// Database: `sqlite`, `postgres`, `none` (bare) or `unknown` (not spawned).
    pub database: String,
    /// Redis URL the spawned instances shared, if any.
    pub redis_url: Option<String>,
    /// Their key prefix (`REDIS_PREFIX`).
    pub redis_prefix: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_kib(u32::MAX).is_none());
        let one = rss_kib_sum(&[pid]).expect("own memory");
        assert!(rss_kib_sum(&[pid, pid]).is_some_and(|two| two >= one));
        assert!(rss_kib_sum(&[]).is_none());
        assert!(rss_kib_sum(&[pid, u32::MAX]).is_none());
        let meter = CpuMeter::start(&[pid, pid]).expect("own CPU time");
        assert!(meter.percent().is_some_and(|p| p >= 0.0));
        assert!(CpuMeter::start(&[]).is_none());
        assert!(open_file_limit().is_some());
    }

    #[test]
    fn parses_the_open_file_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 20000                files     \n\
                      Max locked memory         8388608              8388608              bytes     \n";
        assert_eq!(
            parse_open_file_limit(limits),
            Some(FileLimit {
                soft: Some(1024),
                hard: Some(20000)
            })
        );
        assert_eq!(
            parse_open_file_limit("Max open files unlimited unlimited files"),
            Some(FileLimit {
                soft: None,
                hard: None
            })
        );
        assert_eq!(parse_open_file_limit("Max cpu time 1 2 seconds"), None);
        assert_eq!(parse_open_file_limit("Max open files many 2 files"), None);
    }
}
