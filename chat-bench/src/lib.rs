//! chat-bench: a load generator for the chat server.
//!
//! It speaks Engine.IO v4 / Socket.IO v5 over WebSocket itself ([`protocol`], [`client`]), sets
//! up users and groups through the REST API ([`api`]), and runs bounded scenarios
//! ([`scenario`]) whose figures are summarized by [`stats`]. [`server`] starts the server under
//! test when asked and reads its memory and CPU from `/proc`.
pub mod api;
pub mod cli;
pub mod client;
pub mod protocol;
pub mod scenario;
pub mod server;
pub mod stats;
