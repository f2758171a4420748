//! Deleting orphan uploads: an image uploaded but never posted in a message
//! nor used as a profile picture is removed, row and files, once it is older
//! than UPLOAD_ORPHAN_HOURS. Otherwise uploads that are never sent would fill
//! the disk (and every user's quota) for good.
//!
//! Files are content addressed and shared: the same image uploaded by two
//! users is one file with two rows. A file goes only when no row, message or
//! profile refers to it any more.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::storage::Storage;
use crate::store;

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

/// Deletes the uploads created before `cutoff` that no message
/// (`messages.file_url`) and no profile (`users.avatar_url`, original or
/// thumbnail) refers to, then their files when nothing else refers to them.
/// The caller chooses the clock: the task passes now minus the orphan age.
pub async fn sweep_orphans<C: ConnectionTrait>(
    db: &C,
    storage: &dyn Storage,
    cutoff: DateTime<Utc>,
) -> Result<SweepOutcome, DbErr> {
    let mut outcome = SweepOutcome::default();
    loop {
        let mut files = store::uploads::delete_orphans(db, cutoff, SWEEP_BATCH).await?;
        let deleted = files.len();
        outcome.rows += deleted as u64;
        files.sort();
        files.dedup();
        if !files.is_empty() {
            let avatars = store::uploads::avatar_urls(db).await?;
            for (file_url, thumbnail_url) in files {
                if avatars.contains(&file_url)
                    || avatars.contains(&thumbnail_url)
                    || store::uploads::file_referenced(db, &file_url).await?
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
        if deleted < SWEEP_BATCH {
            break;
        }
    }
    Ok(outcome)
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
