//! chat-bench: a load generator for the chat server.
//!
//! It speaks Engine.IO v4 / Socket.IO v5 over WebSocket through the sio-client crate ([`client`]
//! adds how its clients connect and log in), sets up users and groups through the REST API
//! ([`api`]), and runs bounded scenarios ([`scenario`]) whose figures are summarized by
//! [`stats`] (`lifecycle` draws its operations from a [`mix`]). [`run`] carries a command line
//! through, once [`plan`] has checked it and [`target`] has decided which servers to measure.
//! [`server`] starts the server under test when asked (one or several instances, or the bare
//! socketioxide server of `src/bin/bare-server.rs`) and reads its memory and CPU from `/proc`;
//! [`redis`] checks the Redis that instances share and removes a run's keys. [`chart`] draws the
//! JSON reports as SVG charts (`src/bin/bench-chart.rs`).
pub mod api;
pub mod chart;
pub mod cli;
pub mod client;
pub mod mix;
pub mod plan;
pub mod redis;
pub mod run;
pub mod scenario;
pub mod server;
pub mod stats;
pub mod target;
