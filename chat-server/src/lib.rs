//! chat-server: the REST API, JWT authentication and static client around chat-core.
//!
//! `main.rs` parses [`Config`] and calls [`run`]; tests call [`run`] with a
//! listener bound to port 0 and their own shutdown future.
//!
//! Modules from the top down: [`startup`] builds the engine and state and
//! serves [`app`], which layers the [`routes`]; routes use the request
//! [`extract`]ors, [`auth`], [`mail`], [`limits`] and the [`uploads`]
//! machinery; all SQL is in [`store`]; [`error`] and [`config`] are at the
//! bottom. Lower modules never import higher ones.

pub mod app;
pub mod auth;
pub mod calls;
pub mod config;
pub mod database;
pub mod error;
pub mod extract;
pub mod housekeeping;
mod kept;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod origin;
pub mod push;
pub mod routes;
pub mod socket_limits;
pub mod startup;
pub mod state;
pub mod store;
pub mod uploads;

pub use app::app;
pub use config::{AppEnv, Config};
pub use database::connect_database;
pub use startup::{run, run_with_metrics, shutdown_signal};
