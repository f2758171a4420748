//! The server under test: starting it (optional), finding its process, reading its memory and CPU.
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// How to start a server of our own.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The chat-server binary.
    pub binary: PathBuf,
    /// `DATABASE_URL`; SQLite in a fresh data directory when `None`.
    pub database_url: Option<String>,
    /// CPU list for `taskset -c` (none: not pinned).
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

    /// Stops the server (SIGTERM through `kill`, then SIGKILL after 5 s) and removes its data.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill")
                .args(["-TERM", &pid])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(self.child.try_wait(), Ok(None)) {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
        let _ = fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a program can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The default chat-server binary: next to this executable when there, else `chat-server` on PATH.
pub fn default_server_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("chat-server")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("chat-server"))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Starts the server on a free port with limits raised for load, and waits until `/health` answers.
pub async fn spawn(opts: &SpawnOptions, run_id: &str) -> Result<SpawnedServer> {
    let port = free_port()?;
    let data_dir = std::env::temp_dir().join(format!("chat-bench-{run_id}"));
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
    let secret: String = {
        use rand::Rng;
        let mut rng = rand::rng();
        (0..48)
            .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
            .collect()
    };
    cmd.env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("DATA_DIR", &data_dir)
        .env("CLIENT_DIR", data_dir.join("no-client"))
        .env("JWT_SECRET", secret)
        .env("RATE_LIMIT_PER_SECOND", "0")
        .env("AUTH_RATE_LIMIT_PER_MINUTE", "0")
        .env("SOCKET_EVENTS_PER_SECOND", "100000")
        .env("SOCKET_EVENTS_BURST", "100000")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    if let Some(url) = &opts.database_url {
        cmd.env("DATABASE_URL", url);
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
        let log = fs::read_to_string(&server.log_path).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        server.stop();
        bail!("{e:#}\nserver log:\n{tail}");
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

/// CPU use of a process between two points, as a share of one core.
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: u32,
    cpu0: f64,
    t0: Instant,
}

impl CpuMeter {
    /// Starts measuring `pid`.
    pub fn start(pid: u32) -> Option<Self> {
        Some(Self {
            pid,
            cpu0: cpu_seconds(pid)?,
            t0: Instant::now(),
        })
    }

    /// Percent of one core used since the start.
    pub fn percent(&self) -> Option<f64> {
        let used = cpu_seconds(self.pid)? - self.cpu0;
        let wall = self.t0.elapsed().as_secs_f64();
        (wall > 0.0).then(|| (used / wall * 1000.0).round() / 10.0)
    }
}

/// What is known about the server process, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerInfo {
    /// Base URL.
    pub url: String,
    /// Process id, when found.
    pub pid: Option<u32>,
    /// Whether this program started it.
    pub spawned: bool,
    /// CPUs it was pinned to.
    pub cpus: Option<String>,
    /// Database: `sqlite` or `postgres`.
    pub database: String,
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
    }
}
