//! Every stored message moves its conversation's `last_seq`, `last_rev` and
//! `last_message_at`. The public rooms index had `last_message_at` as a key,
//! so on PostgreSQL each of those updates wrote a new entry into every index
//! of `conversations` (an update that changes an indexed column cannot be a
//! heap-only tuple, HOT, update). The index now holds only the public rooms,
//! by id, which the public rooms list reads and sorts by activity (public
//! rooms are few beside all conversations); no column the send path sets is
//! indexed, and `conversations` leaves a fifth of each page free on
//! PostgreSQL, so a row's new version fits beside the old one and the update
//! writes no index entry at all. On SQLite the send path's updates no longer
//! move an index entry either.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::batch::run_batch;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "DROP INDEX IF EXISTS idx_conversations_public",
    "CREATE INDEX idx_conversations_public ON conversations (id) WHERE is_public",
];

/// PostgreSQL only: free room on each page for updated rows' new versions.
/// It applies to pages written from now on; rows already stored get it as
/// their pages are rewritten.
const UP_POSTGRES: &str = "ALTER TABLE conversations SET (fillfactor = 80)";

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_conversations_public",
    "CREATE INDEX idx_conversations_public ON conversations (is_public, last_message_at)",
];

const DOWN_POSTGRES: &str = "ALTER TABLE conversations RESET (fillfactor)";

/// The statements, with PostgreSQL's own last, in one batch.
async fn run(
    manager: &SchemaManager<'_>,
    statements: &[&str],
    postgres_only: &str,
) -> Result<(), DbErr> {
    let mut all = statements.to_vec();
    if manager.get_database_backend() == DbBackend::Postgres {
        all.push(postgres_only);
    }
    run_batch(manager, &all).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, UP, UP_POSTGRES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, DOWN, DOWN_POSTGRES).await
    }
}
