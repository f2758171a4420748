//! A minimal Socket.IO client over WebSocket, for tests and load generation.
//!
//! It speaks Engine.IO v4 / Socket.IO v5 itself over a WebSocket-only session: [`protocol`]
//! encodes and decodes the packets, [`connection`] opens a session (optionally from a chosen
//! 127.0.0.x source address, for many connections) and reads frames off it, and [`client`] wraps
//! a session for tests, answering pings on a task of its own and reading events and acks back as
//! JSON.
pub mod client;
pub mod connection;
pub mod protocol;

pub use client::{Client, Event};
pub use connection::{ConnectConfig, Ws, connect};
