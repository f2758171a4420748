//! The Socket.IO side: authentication of the handshake ([`auth`]), event
//! handlers, and the event names and payloads of the wire protocol
//! ([`events`]).
//!
//! Every client -> server event may ask for an ack, answered with
//! `{success: true, ...}` or an [`AckError`](events::AckError). A bad or
//! excessive event fails its ack; it never disconnects the socket.
//!
//! ```
//! use chat_core::socket::events::AckError;
//!
//! let ack: serde_json::Value = serde_json::from_str(
//!     r#"{"success": false, "error": "too many events: slow down", "code": "rate_limited"}"#,
//! )?;
//! if ack["success"] == false {
//!     let failed: AckError = serde_json::from_value(ack)?;
//!     assert_eq!(failed.code, "rate_limited"); // retry later
//! }
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod auth;
mod compact;
pub(crate) mod deadlines;
pub mod events;
pub(crate) mod expiry;
pub(crate) mod handlers;
mod layer;
pub mod limits;

pub use compact::compact_handshake;
pub use layer::{ChatLayer, CompactHandshake};
