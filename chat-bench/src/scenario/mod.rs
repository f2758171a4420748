//! The scenarios: setup through the REST API (`setup`), the `idle` connections (`idle`), the
//! traffic of fanout, groups and churn (`traffic`) with its pacing (`pacing`), the simulated
//! clients (`client_state`, `client_task`, `wire`) and the accounting of what they received
//! (`accounting`), and the operation mix of `lifecycle` (`lifecycle`, its clients in
//! `lifecycle_client`), and `search` over a history written straight into the database.
//!
//! This module holds what they all share: the server instances and the run's environment.
mod accounting;
mod client_state;
mod client_task;
mod idle;
mod lifecycle;
mod lifecycle_client;
mod lifecycle_ops;
mod lifecycle_targets;
mod pacing;
mod parts;
mod search;
mod search_words;
mod setup;
mod traffic;
mod wire;

use anyhow::{Result, bail};

use crate::api::Api;
use crate::client::ConnectConfig;
use crate::server::ServerKind;

pub use accounting::{LostDelivery, TrafficResults};
pub use idle::{IdleResults, idle};
pub use lifecycle::{LifecycleResults, OpResults, lifecycle};
pub use parts::serve_part;
pub use search::{SearchResults, search};
pub use setup::Setup;
pub use traffic::{TrafficPlan, traffic, traffic_params};

/// Errors kept per client, and per run in the results.
const MAX_ERRORS_KEPT: usize = 10;

/// The server instances of a run; client (and user) `i` talks to instance `i % n`, so the members
/// of a group sit on different instances.
#[derive(Debug, Clone)]
pub struct Instances {
    apis: Vec<Api>,
    connects: Vec<ConnectConfig>,
}

impl Instances {
    /// One REST client and one connection setting per instance, in the same order.
    pub fn new(apis: Vec<Api>, connects: Vec<ConnectConfig>) -> Result<Self> {
        if apis.is_empty() || apis.len() != connects.len() {
            bail!("need one REST client and one connection setting per instance");
        }
        Ok(Self { apis, connects })
    }

    /// How many instances.
    pub fn len(&self) -> usize {
        self.apis.len()
    }

    /// Never: [`Instances::new`] refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.apis.is_empty()
    }

    /// The instance client `i` uses.
    pub fn of(&self, i: usize) -> usize {
        i % self.apis.len()
    }

    /// REST client for client (or user) `i`.
    pub fn api(&self, i: usize) -> &Api {
        &self.apis[self.of(i)]
    }

    /// Connection settings for client `i`.
    pub fn connect(&self, i: usize) -> &ConnectConfig {
        &self.connects[self.of(i)]
    }
}

/// What every scenario needs: the server and the knobs of setup.
#[derive(Debug, Clone)]
pub struct Env {
    /// chat-server or the bare socketioxide server.
    pub kind: ServerKind,
    /// The server instances.
    pub instances: Instances,
    /// Unique id of this run (usernames, client ids).
    pub run_id: String,
    /// Registrations in flight.
    pub register_concurrency: usize,
    /// Handshakes in flight.
    pub connect_concurrency: usize,
    /// The server processes (memory and CPU are summed over them); empty when unknown.
    pub server_pids: Vec<u32>,
}

impl Env {
    /// `chat-server x3` and the like, for summaries.
    fn target(&self) -> String {
        format!("{} x{}", self.kind.label(), self.instances.len())
    }
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("chat-bench: {}", msg.as_ref());
}

fn rate(count: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        (count / secs * 10.0).round() / 10.0
    } else {
        0.0
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "?".to_owned(), |p| format!("{p:.0}%"))
}
