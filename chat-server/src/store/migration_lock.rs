//! The PostgreSQL advisory lock that instances starting together take in
//! turn to apply migrations. It is a session lock: take and release it on
//! the same connection.
use sea_orm::{ConnectionTrait, DbErr};

/// The lock's key ("chatmigr").
const MIGRATION_LOCK: i64 = 0x6368_6174_6d69_6772;

/// Waits for the migration lock (PostgreSQL only).
pub async fn acquire<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await?;
    Ok(())
}

/// Releases the migration lock (PostgreSQL only).
pub async fn release<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await?;
    Ok(())
}
