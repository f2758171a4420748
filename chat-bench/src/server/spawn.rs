//! Starting servers of our own: free ports, fresh data directories, limits raised for load, one
//! instance after the other until each answers `/health`; stopping them (by PID) when dropped.
use std::fs;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::ServerKind;

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
