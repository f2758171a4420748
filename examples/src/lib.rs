//! Setup shared by the runnable examples in this directory: a migrated database
//! and users that survive re-runs against a persistent `DATABASE_URL`.
use anyhow::Context;
use chat_core::ChatHandle;
use chat_core::entity::user;
use chat_core::service::NewUser;
use migration::{Migrator, MigratorTrait};
use sea_orm::{Database, DatabaseConnection};
use tempfile::TempDir;

/// A migrated database. With a temporary SQLite file, the directory lives as
/// long as this value.
pub struct ExampleDb {
    /// The connection to hand to `ChatCore::builder`.
    pub conn: DatabaseConnection,
    /// Where the database is, for the startup line.
    pub description: String,
    _dir: Option<TempDir>,
}

/// Connects to `DATABASE_URL` (PostgreSQL or SQLite), or to a fresh SQLite file
/// in a temporary directory, and applies every migration: chat-core expects an
/// up-to-date schema and never migrates by itself.
pub async fn open_database() -> anyhow::Result<ExampleDb> {
    let (url, dir) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("chat.db").display());
            (url, Some(dir))
        }
    };
    let mut options = sea_orm::ConnectOptions::new(url.clone());
    chat_core::db::tune_connect_options(&mut options);
    let conn = Database::connect(options)
        .await
        .context("cannot connect to the database")?;
    Migrator::up(&conn, None)
        .await
        .context("applying migrations failed")?;
    let description = match &dir {
        Some(_) => "a temporary SQLite database".to_owned(),
        None => "the database at DATABASE_URL".to_owned(),
    };
    Ok(ExampleDb {
        conn,
        description,
        _dir: dir,
    })
}

/// Returns the user named `username`, creating it on first use. The password
/// hash stays empty: these users never log in with a password.
pub async fn find_or_create_user(chat: &ChatHandle, username: &str) -> anyhow::Result<user::Model> {
    if let Some(existing) = chat.find_user_by_login(username).await? {
        return Ok(existing);
    }
    let created = chat
        .create_user(NewUser {
            username: username.to_owned(),
            email: format!("{username}@example.invalid"),
            password_hash: String::new(),
        })
        .await
        .with_context(|| format!("cannot create user {username}"))?;
    Ok(created)
}

/// Whether to run the self-check and exit (`--smoke` or `EXAMPLE_SMOKE=1`),
/// so CI can run the examples.
pub fn smoke_requested() -> bool {
    std::env::args().any(|a| a == "--smoke")
        || std::env::var("EXAMPLE_SMOKE").is_ok_and(|v| v == "1")
}
