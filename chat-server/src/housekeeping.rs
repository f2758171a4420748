//! Periodic database upkeep owned by the server: the purge of expired
//! account tokens, started with the server and stopped before it returns.
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Purges expired account tokens (e-mail verification, password reset) every
/// `interval`, the first time at once, until `stop` turns true or its sender
/// is dropped. Errors are logged and retried at the next tick.
pub fn spawn_account_token_purge(
    db: DatabaseConnection,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                    continue;
                }
            }
            match crate::store::accounts::delete_expired_tokens(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired account tokens purged"),
                Err(err) => tracing::warn!(%err, "purging expired account tokens failed"),
            }
        }
    })
}
