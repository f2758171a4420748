//! The database connection of the server: pool options per backend, and the
//! migrations applied at start (one instance at a time on PostgreSQL).
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Config;
use crate::store;

/// Connects to the configured database and applies pending migrations.
pub async fn connect_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = config.database_url();
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(config.database_acquire_timeout));
    if sqlite {
        // WAL lets readers run beside the single writer; FULL sync makes a
        // committed (acked) message survive a crash or power loss; secure
        // delete overwrites what a deleted message held instead of leaving
        // it in the file's free space.
        options.max_connections(8).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .pragma("secure_delete", "ON")
        });
    } else {
        chat_core::db::tune_connect_options(&mut options).max_connections(32);
    }
    if let Some(max) = config.database_max_connections {
        options.max_connections(max);
    }
    let db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database ({})", redact(&url)))?;
    migrate(&db, &url, sqlite).await?;
    Ok(db)
}

/// Applies pending migrations. On PostgreSQL, instances starting together
/// take turns: a session-level advisory lock, held on a dedicated
/// one-connection pool so that lock, migrations and unlock share a session.
async fn migrate(db: &DatabaseConnection, url: &str, sqlite: bool) -> anyhow::Result<()> {
    if sqlite {
        return Migrator::up(db, None)
            .await
            .context("applying migrations failed");
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let session = Database::connect(options)
        .await
        .context("cannot connect to the database to migrate")?;
    store::migration_lock::acquire(&session)
        .await
        .context("cannot take the migration lock")?;
    let result = Migrator::up(&session, None).await;
    let _ = store::migration_lock::release(&session).await;
    let _ = session.close().await;
    result.context("applying migrations failed")
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
