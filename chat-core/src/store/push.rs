//! Web Push: devices' subscriptions and the outbox of notifications to send
//! (see the `m20261201_000001_web_push` migration for the tables and why
//! each index exists).
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::sql;
use crate::ids::{ConversationId, MessageId, UserId};

/// A device's subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubscriptionRow {
    pub(crate) endpoint: String,
    pub(crate) p256dh: String,
    pub(crate) auth: String,
}

/// Stores a subscription for `user_id` and `session_id`; an endpoint stored
/// before (the same device subscribing again, maybe for another account)
/// moves to this user and session with its new keys.
pub(crate) async fn upsert_subscription<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    session_id: Option<&str>,
    subscription: &SubscriptionRow,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push(
        "INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, created_at) VALUES (",
    )
    .bind(user_id)
    .push(", ")
    .bind(session_id.map(str::to_owned))
    .push(", ")
    .bind(subscription.endpoint.clone())
    .push(", ")
    .bind(subscription.p256dh.clone())
    .push(", ")
    .bind(subscription.auth.clone())
    .push(", ")
    .bind(at)
    .push(
        ") ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, \
         session_id = excluded.session_id, p256dh = excluded.p256dh, auth = excluded.auth, \
         created_at = excluded.created_at",
    );
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Deletes `user_id`'s subscription of `endpoint`; whether there was one.
pub(crate) async fn delete_subscription<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    endpoint: &str,
) -> Result<bool, DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_subscriptions WHERE user_id = ")
        .bind(user_id)
        .push(" AND endpoint = ")
        .bind(endpoint.to_owned());
    Ok(conn.execute_raw(q.build()).await?.rows_affected() > 0)
}

/// Deletes a subscription the push service said is gone (its pending
/// notifications go with it).
pub(crate) async fn delete_endpoint<C: ConnectionTrait>(
    conn: &C,
    endpoint: &str,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_subscriptions WHERE endpoint = ")
        .bind(endpoint.to_owned());
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Deletes the subscriptions made in a login session; how many.
pub(crate) async fn delete_session_subscriptions<C: ConnectionTrait>(
    conn: &C,
    session_id: &str,
) -> Result<u64, DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_subscriptions WHERE session_id = ")
        .bind(session_id.to_owned());
    Ok(conn.execute_raw(q.build()).await?.rows_affected())
}

/// Deletes every subscription of a user but those of session `keep`; how many.
pub(crate) async fn delete_user_subscriptions<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_subscriptions WHERE user_id = ")
        .bind(user_id);
    if let Some(keep) = keep {
        q.push(" AND (session_id IS NULL OR session_id <> ")
            .bind(keep.to_owned())
            .push(")");
    }
    Ok(conn.execute_raw(q.build()).await?.rows_affected())
}

/// How many subscriptions `user_id` has.
pub(crate) async fn count_subscriptions<C: ConnectionTrait>(
    conn: &C,
    user_id: UserId,
) -> Result<i64, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ")
        .bind(user_id);
    let row = conn.query_one_raw(q.build()).await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    })
}

/// Messages of one batch for one offline member: what their pending
/// notification of the conversation gains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) conversation_id: ConversationId,
    pub(crate) user_id: UserId,
    /// The latest of the messages (what a preview shows).
    pub(crate) message_id: MessageId,
    pub(crate) sender_id: UserId,
    pub(crate) count: i64,
    /// One of the messages mentions the member.
    pub(crate) mentioned: bool,
}

/// Folds `pending` into the outbox, in the caller's transaction (the one
/// storing the messages): one row per subscription of the member and
/// conversation, unless the member muted it (a muted group still takes
/// mentions unless `mute_mentions` is set). A row already pending grows
/// its count and keeps its due time, so a burst is one notification.
/// One statement per 500.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    pending: &[Pending],
    now: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in pending.chunks(500) {
        let mut q = sql(conn);
        q.push(
            "INSERT INTO push_outbox (subscription_id, conversation_id, message_id, sender_id, \
             message_count, mentioned, revision, attempts, due_at, claimed_until, created_at) \
             SELECT s.id, v.column1, v.column3, v.column4, v.column5, v.column6, 1, 0, ",
        )
        .bind(due_at)
        .push(", NULL, ")
        .bind(now)
        .push(" FROM (VALUES ");
        for (i, p) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(p.conversation_id)
                .push(", ")
                .bind(p.user_id)
                .push(", ")
                .bind(p.message_id)
                .push(", ")
                .bind(p.sender_id)
                .push(", ")
                .bind(p.count)
                .push(", ")
                .bind(p.mentioned)
                .push(")");
        }
        q.push(
            ") AS v JOIN push_subscriptions s ON s.user_id = v.column2 \
             JOIN conversation_members cm ON cm.conversation_id = v.column1 AND cm.user_id = v.column2 \
             JOIN conversations c ON c.id = v.column1 \
             WHERE cm.muted_until IS NULL OR cm.muted_until <= ",
        )
        .bind(now)
        .push(
            " OR (v.column6 AND c.type = 'group' AND NOT cm.mute_mentions) \
             ON CONFLICT (subscription_id, conversation_id) DO UPDATE SET \
             message_id = excluded.message_id, sender_id = excluded.sender_id, \
             message_count = push_outbox.message_count + excluded.message_count, \
             mentioned = (push_outbox.mentioned OR excluded.mentioned), \
             revision = push_outbox.revision + 1",
        );
        conn.execute_raw(q.build()).await?;
    }
    Ok(())
}

/// A notification claimed for sending, with what its payload says.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) id: i64,
    pub(crate) conversation_id: ConversationId,
    pub(crate) message_id: MessageId,
    pub(crate) count: i64,
    pub(crate) mentioned: bool,
    pub(crate) revision: i64,
    pub(crate) attempts: i32,
    pub(crate) subscription: SubscriptionRow,
    pub(crate) sender_username: String,
    pub(crate) sender_display_name: Option<String>,
    /// `direct` or `group`.
    pub(crate) conversation_kind: String,
    pub(crate) conversation_name: Option<String>,
    /// The message's text and type, unless it was deleted meanwhile.
    pub(crate) content: Option<(String, String)>,
    pub(crate) seq: i64,
}

/// Whether a notification is due: the earliest due time of the rows nobody
/// holds (a cheap read before claiming, so an idle sender takes no write lock).
pub(crate) async fn next_due<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    let mut q = sql(conn);
    q.push("SELECT MIN(due_at) FROM push_outbox WHERE claimed_until IS NULL OR claimed_until < ")
        .bind(now);
    match conn.query_one_raw(q.build()).await? {
        Some(row) => row.try_get_by_index(0),
        None => Ok(None),
    }
}

/// Claims up to `limit` due rows until `until` (another instance may take
/// them once the claim lapses, should this one die while sending) and reads
/// what their notifications need. PostgreSQL skips rows another instance is
/// claiming at the same moment; SQLite has one writer at a time.
pub(crate) async fn claim<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Claimed>, DbErr> {
    let mut q = sql(conn);
    q.push("UPDATE push_outbox SET claimed_until = ")
        .bind(until)
        .push(" WHERE id IN (SELECT id FROM push_outbox WHERE due_at <= ")
        .bind(now)
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(now)
        .push(") ORDER BY due_at LIMIT ")
        .bind(limit as i64);
    if q.backend() == DbBackend::Postgres {
        q.push(" FOR UPDATE SKIP LOCKED");
    }
    q.push(") RETURNING id");
    let ids: Vec<i64> = super::ids(conn, q).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = sql(conn);
    q.push(
        "SELECT o.id, o.conversation_id, o.message_id, o.message_count, o.mentioned, o.revision, \
         o.attempts, s.endpoint, s.p256dh, s.auth, u.username, u.display_name, c.type AS c_type, \
         c.name AS c_name, m.content, m.message_type, m.deleted_at, m.seq \
         FROM push_outbox o JOIN push_subscriptions s ON s.id = o.subscription_id \
         JOIN conversations c ON c.id = o.conversation_id \
         LEFT JOIN users u ON u.id = o.sender_id LEFT JOIN messages m ON m.id = o.message_id \
         WHERE o.id IN (",
    )
    .bind_list(ids.iter().copied())
    .push(")");
    let mut claimed = Vec::with_capacity(ids.len());
    for row in conn.query_all_raw(q.build()).await? {
        // A message or sender gone meanwhile still leaves a notification.
        let deleted: Option<DateTime<Utc>> = row.try_get("", "deleted_at")?;
        let content: Option<String> = row.try_get("", "content")?;
        let kind: Option<String> = row.try_get("", "message_type")?;
        let content = match (deleted, content, kind) {
            (None, Some(content), Some(kind)) => Some((content, kind)),
            _ => None,
        };
        claimed.push(Claimed {
            id: row.try_get("", "id")?,
            conversation_id: row.try_get("", "conversation_id")?,
            message_id: row.try_get("", "message_id")?,
            count: row.try_get("", "message_count")?,
            mentioned: row.try_get("", "mentioned")?,
            revision: row.try_get("", "revision")?,
            attempts: row.try_get("", "attempts")?,
            subscription: SubscriptionRow {
                endpoint: row.try_get("", "endpoint")?,
                p256dh: row.try_get("", "p256dh")?,
                auth: row.try_get("", "auth")?,
            },
            sender_username: row
                .try_get::<Option<String>>("", "username")?
                .unwrap_or_else(|| "Someone".to_owned()),
            sender_display_name: row.try_get("", "display_name")?,
            conversation_kind: row.try_get("", "c_type")?,
            conversation_name: row.try_get("", "c_name")?,
            content,
            seq: row.try_get::<Option<i64>>("", "seq")?.unwrap_or(0),
        });
    }
    Ok(claimed)
}

/// After a send the push service accepted: the row goes, unless messages
/// were folded in while it was sending (its revision moved); then it stays
/// for them alone, due at `due_at`.
pub(crate) async fn sent<C: ConnectionTrait>(
    conn: &C,
    row: &Claimed,
    due_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_outbox WHERE id = ")
        .bind(row.id)
        .push(" AND revision = ")
        .bind(row.revision);
    if conn.execute_raw(q.build()).await?.rows_affected() > 0 {
        return Ok(());
    }
    let mut q = sql(conn);
    q.push("UPDATE push_outbox SET message_count = message_count - ")
        .bind(row.count)
        .push(", attempts = 0, claimed_until = NULL, due_at = ")
        .bind(due_at)
        .push(" WHERE id = ")
        .bind(row.id);
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// After a failure worth retrying: released, due again at `due_at`.
pub(crate) async fn retry_at<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    due_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("UPDATE push_outbox SET attempts = attempts + 1, claimed_until = NULL, due_at = ")
        .bind(due_at)
        .push(" WHERE id = ")
        .bind(id);
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Drops a notification that will not be sent (refused for good, or out of
/// attempts).
pub(crate) async fn drop_row<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    let mut q = sql(conn);
    q.push("DELETE FROM push_outbox WHERE id = ").bind(id);
    conn.execute_raw(q.build()).await?;
    Ok(())
}

/// Rows waiting, and when the oldest was created (for the metrics).
pub(crate) async fn depth<C: ConnectionTrait>(
    conn: &C,
) -> Result<(i64, Option<DateTime<Utc>>), DbErr> {
    let mut q = sql(conn);
    q.push("SELECT COUNT(*), MIN(created_at) FROM push_outbox");
    match conn.query_one_raw(q.build()).await? {
        Some(row) => Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)),
        None => Ok((0, None)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use sea_orm::{DatabaseConnection, TransactionTrait};

    use super::*;
    use crate::ids::literal::{c, m, u};
    use crate::store::{now, seed};
    use crate::testing::TestDb;

    /// Users 1..=4, group 1 with all of them (member 3 muted it, member 4
    /// muted it and its mentions), message 1; a device per member but 1.
    async fn setup(test_db: &TestDb) -> DatabaseConnection {
        let db = seed::migrated_with_users(test_db, 4).await;
        let ts = seed::TS;
        let later = "'2999-01-01T00:00:00Z'";
        let mut script = Vec::new();
        script.push(format!(
            "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_rev, last_message_at) \
             VALUES ('group', 'g', false, 1, {ts}, 1, 1, {ts})"
        ));
        for (u, muted, mentions) in [
            (1, "NULL", false),
            (2, "NULL", false),
            (3, later, false),
            (4, later, true),
        ] {
            script.push(format!(
                "INSERT INTO conversation_members (conversation_id, user_id, joined_at, last_read_seq, last_delivered_seq, muted_until, mute_mentions) \
                 VALUES (1, {u}, {ts}, 0, 0, {muted}, {mentions})"
            ));
        }
        script.push(format!(
            "INSERT INTO messages (conversation_id, seq, rev, sender_id, content, message_type, created_at) \
             VALUES (1, 1, 1, 1, 'hello', 'text', {ts})"
        ));
        for user in script {
            db.execute_unprepared(&user).await.expect("seed");
        }
        for user in 2..=4 {
            let row = SubscriptionRow {
                endpoint: format!("https://push.example.com/{user}"),
                p256dh: "k".into(),
                auth: "a".into(),
            };
            upsert_subscription(&db, u(user), Some("s"), &row, now())
                .await
                .expect("subscribe");
        }
        db
    }

    fn pending(user: i64, mentioned: bool) -> Pending {
        Pending {
            conversation_id: c(1),
            user_id: u(user),
            message_id: m(1),
            sender_id: u(1),
            count: 1,
            mentioned,
        }
    }

    async fn rows(db: &DatabaseConnection) -> Vec<(i64, i64, i64)> {
        let mut q = sql(db);
        q.push(
            "SELECT s.user_id, o.message_count, o.revision FROM push_outbox o \
             JOIN push_subscriptions s ON s.id = o.subscription_id ORDER BY s.user_id",
        );
        let mut out = Vec::new();
        for row in db.query_all_raw(q.build()).await.expect("rows") {
            out.push((
                row.try_get_by_index(0).expect("user"),
                row.try_get_by_index(1).expect("count"),
                row.try_get_by_index(2).expect("revision"),
            ));
        }
        out
    }

    #[tokio::test]
    async fn a_burst_is_one_row_and_mutes_decide_who_gets_one() {
        let test_db = TestDb::new().await;
        let db = setup(&test_db).await;
        let at = now();
        let due = at + Duration::seconds(2);
        // Everyone but the sender, twice (two batches of one burst).
        for _ in 0..2 {
            let txn = db.begin().await.expect("begin");
            let all = [pending(2, false), pending(3, false), pending(4, false)];
            enqueue(&txn, &all, at, due).await.expect("enqueue");
            txn.commit().await.expect("commit");
        }
        // Member 1 has no device; 3 and 4 muted the group.
        assert_eq!(rows(&db).await, vec![(2, 2, 2)]);
        // A mention reaches 3 (muted) but not 4 (mentions muted too).
        let txn = db.begin().await.expect("begin");
        enqueue(&txn, &[pending(3, true), pending(4, true)], at, due)
            .await
            .expect("enqueue");
        // Rolled back: nothing is queued for a message that was not stored.
        txn.rollback().await.expect("rollback");
        assert_eq!(rows(&db).await.len(), 1);
        enqueue(&db, &[pending(3, true), pending(4, true)], at, due)
            .await
            .expect("enqueue");
        assert_eq!(rows(&db).await, vec![(2, 2, 2), (3, 1, 1)]);
    }

    #[tokio::test]
    async fn concurrent_claims_take_disjoint_rows_and_a_moved_revision_keeps_the_rest() {
        let test_db = TestDb::new().await;
        let db = setup(&test_db).await;
        let at = now();
        enqueue(&db, &[pending(2, false), pending(3, true)], at, at)
            .await
            .expect("enqueue");
        let until = at + Duration::seconds(60);
        let later = at + Duration::seconds(1);
        let (a, b) = tokio::join!(claim(&db, later, until, 10), claim(&db, later, until, 10));
        let (a, b) = (a.expect("claim"), b.expect("claim"));
        let mut ids: Vec<i64> = a.iter().chain(&b).map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), a.len() + b.len(), "a row was claimed twice");
        assert_eq!(ids.len(), 2);
        // Claimed rows are not due for anyone else until the claim lapses.
        assert!(
            claim(&db, later, until, 10)
                .await
                .expect("claim")
                .is_empty()
        );
        let claimed: Vec<Claimed> = a.into_iter().chain(b).collect();
        let for_two = claimed
            .iter()
            .find(|r| r.subscription.endpoint.ends_with("/2"))
            .expect("member 2's row");
        assert_eq!(for_two.sender_username, "u1");
        assert_eq!(for_two.content, Some(("hello".into(), "text".into())));
        // Another message arrives while member 2's push is in flight.
        enqueue(&db, &[pending(2, false)], at, at)
            .await
            .expect("enqueue");
        for row in &claimed {
            sent(&db, row, later).await.expect("sent");
        }
        // Member 3's row is gone; member 2's stays for the one message it did not carry.
        assert_eq!(rows(&db).await, vec![(2, 1, 2)]);
        let again = claim(&db, later, until, 10).await.expect("claim");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].count, 1);
    }
}
