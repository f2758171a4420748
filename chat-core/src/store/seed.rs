//! Databases for the unit tests of the store and the writer: migrated, with
//! users `u1`..`uN` (ids 1..=N in a fresh database).
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

use crate::testing::TestDb;

/// A timestamp literal both databases read.
pub(crate) const TS: &str = "'2026-01-01T00:00:00Z'";

/// Connects to `test_db`, applies every migration and inserts `users` users.
pub(crate) async fn migrated_with_users(test_db: &TestDb, users: u32) -> DatabaseConnection {
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    for u in 1..=users {
        db.execute_unprepared(&format!(
            "INSERT INTO users (username, username_key, email, password_hash, status, created_at) \
             VALUES ('u{u}', 'u{u}', 'u{u}@x.io', '', 'offline', {TS})"
        ))
        .await
        .expect("user");
    }
    db
}
