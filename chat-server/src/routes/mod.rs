//! HTTP routes, one module per resource.
pub mod account;
pub mod auth;
pub mod conversations;
pub mod health;
pub mod users;
