//! Deleting orphan uploads: an image uploaded but never posted in a message
//! nor used as a profile picture is removed, row and files, once it is older
//! than UPLOAD_ORPHAN_HOURS. Otherwise uploads that are never sent would fill
//! the disk (and every user's quota) for good.
//!
//! Files are content addressed and shared: the same image uploaded by two
//! users is one file with two rows. A file goes only when no row, message or
//! profile refers to it any more.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

use super::storage::Storage;

/// Rows deleted per statement.
const SWEEP_BATCH: usize = 500;

/// Time between two sweeps (the first runs at start).
const SWEEP_PERIOD: Duration = Duration::from_secs(3600);

/// What a sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Upload rows deleted.
    pub rows: u64,
    /// Stored files deleted (originals and thumbnails).
    pub files: u64,
}

fn statement(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// Deletes the uploads created before `cutoff` that no message
/// (`messages.file_url`) and no profile (`users.avatar_url`, original or
/// thumbnail) refers to, then their files when nothing else refers to them.
/// The caller chooses the clock: the task passes now minus the orphan age.
pub async fn sweep_orphans(
    db: &DatabaseConnection,
    storage: &dyn Storage,
    cutoff: DateTime<Utc>,
) -> Result<SweepOutcome, DbErr> {
    let backend = db.get_database_backend();
    let mut outcome = SweepOutcome::default();
    let delete = format!(
        "DELETE FROM uploads WHERE id IN (SELECT u.id FROM uploads u WHERE u.created_at < $1 \
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_url = u.file_url) \
           AND u.file_url NOT IN (SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL) \
           AND u.thumbnail_url NOT IN (SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL) \
           LIMIT {SWEEP_BATCH}) \
         RETURNING file_url, thumbnail_url"
    );
    loop {
        let rows = db
            .query_all_raw(statement(backend, &delete, vec![cutoff.into()]))
            .await?;
        outcome.rows += rows.len() as u64;
        let mut files: Vec<(String, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            files.push((
                row.try_get("", "file_url")?,
                row.try_get("", "thumbnail_url")?,
            ));
        }
        files.sort();
        files.dedup();
        if !files.is_empty() {
            let avatars = avatars(db).await?;
            for (file_url, thumbnail_url) in files {
                if avatars.contains(&file_url)
                    || avatars.contains(&thumbnail_url)
                    || still_referenced(db, &file_url).await?
                {
                    continue;
                }
                for url in [&file_url, &thumbnail_url] {
                    let Some(name) = url.strip_prefix("/uploads/") else {
                        continue;
                    };
                    match storage.delete(name).await {
                        Ok(()) => outcome.files += 1,
                        Err(err) => tracing::warn!(%err, %name, "orphan upload file not deleted"),
                    }
                }
            }
        }
        if rows.len() < SWEEP_BATCH {
            break;
        }
    }
    Ok(outcome)
}

/// Profile pictures that are uploads.
async fn avatars(db: &DatabaseConnection) -> Result<HashSet<String>, DbErr> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT DISTINCT avatar_url FROM users WHERE avatar_url LIKE $1",
            vec!["/uploads/%".into()],
        ))
        .await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// Whether another upload row or a message still carries the file.
async fn still_referenced(db: &DatabaseConnection, file_url: &str) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT 1 FROM uploads WHERE file_url = $1 \
             UNION ALL SELECT 1 FROM messages WHERE file_url = $1 LIMIT 1",
            vec![file_url.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// Sweeps at start and then every hour, removing uploads older than
/// `max_age` that nothing refers to, until `stop` turns true (shutdown) or
/// its sender is gone.
pub fn spawn_orphan_sweeper(
    db: DatabaseConnection,
    storage: Arc<dyn Storage>,
    max_age: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        loop {
            let cutoff = Utc::now()
                .checked_sub_signed(max_age)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            // A sweep runs to its end: stopped midway it could leave files
            // whose rows are gone.
            match sweep_orphans(&db, storage.as_ref(), cutoff).await {
                Ok(outcome) if outcome.rows > 0 => {
                    tracing::info!(
                        rows = outcome.rows,
                        files = outcome.files,
                        "orphan uploads deleted"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "orphan upload sweep failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(SWEEP_PERIOD) => {}
                _ = stop.wait_for(|stopping| *stopping) => break,
            }
        }
    })
}
