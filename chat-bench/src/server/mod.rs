//! The server under test: which kind it is and what is known of it. [`spawn()`] starts it (or
//! several instances of it) when asked; the `procfs` functions find its processes and read their
//! memory, CPU and limits from `/proc`.
mod procfs;
mod spawn;

use std::path::PathBuf;

use serde::Serialize;

pub use procfs::{
    CpuMeter, FileLimit, cpu_seconds, open_file_limit, pid_listening_on, rss_kib, rss_kib_sum,
};
pub use spawn::{Cluster, RedisSetup, SpawnOptions, SpawnedServer, pin_self, spawn};

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
