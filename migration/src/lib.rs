//! Database schema of the chat backend, as `sea-orm-migration` migrations.
//!
//! The same migrations run on PostgreSQL and SQLite; the resulting schemas are
//! equivalent (same tables, columns, unique constraints and indexes).

pub use sea_orm_migration::prelude::*;

mod batch;

mod m20260101_000001_initial;
mod m20260102_000001_uploads;
mod m20260103_000001_accounts;
mod m20260104_000003_groups_by_creator;
mod m20260104_000010_refresh_rotation;
mod m20260110_000001_revoked_sessions;
mod m20260120_000001_message_lifecycle;
mod m20260201_000001_reaction_order;
mod m20260215_000001_user_blocks;
mod m20260301_000001_message_search;
mod m20260310_000001_attachments;
mod m20260312_000001_user_profiles;
mod m20261201_000001_web_push;
mod m20261203_000001_calls;
mod m20261204_000001_partial_message_indexes;
mod m20261204_000002_conversation_activity_in_place;

/// Every migration of the chat schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_initial::Migration),
            Box::new(m20260102_000001_uploads::Migration),
            Box::new(m20260103_000001_accounts::Migration),
            Box::new(m20260104_000003_groups_by_creator::Migration),
            Box::new(m20260104_000010_refresh_rotation::Migration),
            Box::new(m20260110_000001_revoked_sessions::Migration),
            Box::new(m20260120_000001_message_lifecycle::Migration),
            Box::new(m20260201_000001_reaction_order::Migration),
            Box::new(m20260215_000001_user_blocks::Migration),
            Box::new(m20260301_000001_message_search::Migration),
            Box::new(m20260310_000001_attachments::Migration),
            Box::new(m20260312_000001_user_profiles::Migration),
            Box::new(m20261201_000001_web_push::Migration),
            Box::new(m20261203_000001_calls::Migration),
            Box::new(m20261204_000001_partial_message_indexes::Migration),
            Box::new(m20261204_000002_conversation_activity_in_place::Migration),
        ]
    }
}
