//! sea-orm entities, one module per table. The schema itself is defined by the
//! `migration` crate.

pub mod account_token;
pub mod conversation;
pub mod member;
pub mod message;
pub mod refresh_token;
pub mod upload;
pub mod user;
