//! The sender of one instance: claims due outbox rows, sends them and
//! records what happened (see the [module docs](super) for the guarantees).
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use super::delivery::{self, Outcome, Urgency};
use super::payload::PushPayload;
use super::{CLAIM, Push};
use crate::store::now;
use crate::store::push::{self as outbox, Claimed};

/// How often an idle sender looks for due rows (rows of other instances,
/// and retries, become due without this instance hearing of it).
const POLL: Duration = Duration::from_millis(250);
/// How often the queue's depth and age are measured for the metrics.
const MEASURE: Duration = Duration::from_secs(5);

/// Runs until `stop`: claims, sends, repeats.
pub(crate) async fn run(db: DatabaseConnection, push: Arc<Push>, stop: CancellationToken) {
    let mut measured = tokio::time::Instant::now() - MEASURE;
    loop {
        if stop.is_cancelled() {
            break;
        }
        if measured.elapsed() >= MEASURE {
            measure(&db).await;
            measured = tokio::time::Instant::now();
        }
        let claimed = match claim(&db, &push).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(%err, "push outbox not read; retrying");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(POLL) => {}
            }
            continue;
        }
        // A claim outlives the sends: rows are released or removed one by one.
        futures_util::stream::iter(claimed)
            .for_each_concurrent(push.config.concurrency.max(1), |row| {
                let (db, push) = (&db, &push);
                async move { deliver(db, push, row).await }
            })
            .await;
    }
}

async fn claim(db: &DatabaseConnection, push: &Push) -> Result<Vec<Claimed>, sea_orm::DbErr> {
    let at = now();
    match outbox::next_due(db, at).await? {
        Some(due) if due <= at => {}
        _ => return Ok(Vec::new()),
    }
    let until = at + chrono::Duration::from_std(CLAIM).unwrap_or_default();
    let limit = (push.config.concurrency.max(1) * 4) as u64;
    outbox::claim(db, at, until, limit).await
}

/// Sends one notification and records the outcome.
async fn deliver(db: &DatabaseConnection, push: &Push, row: Claimed) {
    let config = &push.config;
    let payload = PushPayload::of(&row, config.preview);
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let topic = format!("conversation-{}", row.conversation_id);
    let urgency = if row.mentioned || row.conversation_kind == "direct" {
        Urgency::High
    } else {
        Urgency::Normal
    };
    let outcome = delivery::send(
        &push.http,
        &config.vapid,
        &config.subject,
        config.endpoints,
        delivery::Push {
            subscription: &row.subscription,
            payload: &body,
            topic: &topic,
            urgency,
            ttl: config.ttl,
        },
    )
    .await;
    let recorded = match outcome {
        Outcome::Sent => {
            metrics::counter!("chat_push_sent_total").increment(1);
            outbox::sent(db, &row, later(config.collapse)).await
        }
        Outcome::Gone => {
            metrics::counter!("chat_push_subscriptions_expired_total").increment(1);
            outbox::delete_endpoint(db, &row.subscription.endpoint).await
        }
        Outcome::Retry(asked) if row.attempts + 1 < config.max_attempts => {
            metrics::counter!("chat_push_retried_total").increment(1);
            let wait = delivery::backoff(row.attempts, asked);
            outbox::retry_at(db, row.id, later(wait)).await
        }
        Outcome::Retry(_) | Outcome::Refused(_) => {
            metrics::counter!("chat_push_failed_total").increment(1);
            tracing::warn!(?outcome, attempts = row.attempts + 1, "push given up");
            outbox::drop_row(db, row.id).await
        }
    };
    if let Err(err) = recorded {
        // The claim lapses and another sender takes the row again.
        tracing::warn!(%err, "push outcome not recorded");
    }
}

fn later(wait: Duration) -> chrono::DateTime<chrono::Utc> {
    now() + chrono::Duration::from_std(wait).unwrap_or_default()
}

async fn measure(db: &DatabaseConnection) {
    match outbox::depth(db).await {
        Ok((depth, oldest)) => {
            metrics::gauge!("chat_push_queue_depth").set(depth as f64);
            let age = oldest.map_or(0.0, |at| {
                (now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("chat_push_oldest_age_seconds").set(age);
        }
        Err(err) => tracing::debug!(%err, "push queue not measured"),
    }
}
