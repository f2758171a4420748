//! Every query the server itself runs against the database, one module per
//! group of tables. The functions take any [`sea_orm::ConnectionTrait`], so
//! they run alike on the pool and inside a transaction; where PostgreSQL and
//! SQLite need different SQL, both variants sit side by side in the function.
//! Raw statements are built with [`chat_core::db::Sql`], which binds every
//! value as a parameter. The rules deciding when to run them live with the
//! callers (routes, uploads, housekeeping).

pub mod accounts;
pub mod migration_lock;
pub mod refresh_tokens;
pub mod uploads;
