//! The indexes on `messages.file_url` and `messages.reply_to_id` hold only
//! the rows that have one. Most messages are plain text without a reply, and
//! a full index gave each of them two entries (under NULL) that no query ever
//! reads: every query on these columns compares them with `=` (an upload's
//! messages and whether a file is still referenced, a thread's replies),
//! which both databases' planners know implies `IS NOT NULL`, so the partial
//! indexes serve them all while a stored message without a file or a parent
//! now writes two index entries fewer.
use sea_orm_migration::prelude::*;

use crate::batch::run_batch;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The same statements on PostgreSQL and SQLite (both have partial indexes).
const UP: &[&str] = &[
    "DROP INDEX IF EXISTS idx_messages_file_url",
    "CREATE INDEX idx_messages_file_url ON messages (file_url) WHERE file_url IS NOT NULL",
    "DROP INDEX IF EXISTS idx_messages_reply_to",
    "CREATE INDEX idx_messages_reply_to ON messages (reply_to_id, id) WHERE reply_to_id IS NOT NULL",
];

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_messages_file_url",
    "CREATE INDEX idx_messages_file_url ON messages (file_url)",
    "DROP INDEX IF EXISTS idx_messages_reply_to",
    "CREATE INDEX idx_messages_reply_to ON messages (reply_to_id, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_batch(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_batch(manager, DOWN).await
    }
}
