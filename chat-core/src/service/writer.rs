//! Group commit of messages: sends that arrive while a transaction commits are
//! stored together in the next one, so one commit (one fsync on SQLite, one WAL
//! flush on PostgreSQL) serves many messages. Every sender is answered only
//! after the transaction holding its message committed: an ack still means
//! stored.
//!
//! Conversations are spread over a few writers (by id), so the messages of one
//! conversation are stored in the order they were queued, and writers never
//! wait on each other's row locks. Instances sharing a PostgreSQL database
//! order themselves through the conversation row lock, taken in ascending id
//! order in every batch (no deadlock between batches).
//!
//! On PostgreSQL a batch is a fixed number of statements whatever its size
//! and however many conversations it spans (the rows travel as one `jsonb`
//! parameter), so the statements are prepared once per connection and a
//! batch costs a fixed number of round trips.
//!
//! A batch that fails as a whole (e.g. a `client_id` raced in by another
//! instance) is retried message by message, so one bad message cannot fail
//! its neighbours.
//!
//! This file keeps the queues, the batching and the order of a batch's
//! statements; `rows` builds each request's row and answer, `notifications`
//! the batch's push notifications.
mod notifications;
mod rows;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::error::{ChatError, ChatResult, database_unreachable};
use crate::ids::{ConversationId, MessageId, UserId};
use crate::model::{Attachment, CallSummary, Message, MessageType, ReplyPreview};
use crate::store::message_batches::NewMessageRow;
use crate::store::{self, is_unique_violation, now};
use crate::tasks::Tasks;
use notifications::enqueue_notifications;
use rows::{Placed, answers, new_message_row};

/// Most messages stored in one transaction (8 parameters each stay far below
/// both databases' limits).
const MAX_BATCH: usize = 256;

/// Messages waiting for a writer, per writer.
const QUEUE_DEPTH: usize = 4096;

/// A message that passed [`SendMessage`](super::SendMessage)'s rules (or one the server writes,
/// such as a `system` notice): the only input the writer takes.
#[derive(Debug, Clone)]
pub(crate) struct ValidMessage {
    pub(crate) conversation_id: ConversationId,
    /// Trimmed.
    pub(crate) content: String,
    pub(crate) message_type: MessageType,
    pub(crate) file_url: Option<String>,
    /// The upload `file_url` names, looked up by the send.
    pub(crate) attachment: Option<Attachment>,
    /// What a `call` message records of its call.
    pub(crate) call: Option<CallSummary>,
    /// Trimmed.
    pub(crate) client_id: Option<String>,
    /// The message it replies to, checked to be of the same conversation.
    pub(crate) reply_to: Option<ReplyPreview>,
    /// Members it mentions (resolved from `@username` by the send).
    pub(crate) mentions: Vec<UserId>,
}

/// A message to store: validated, with its sender.
pub(crate) struct StoreRequest {
    pub(crate) sender: UserId,
    pub(crate) message: ValidMessage,
    /// Members to notify by Web Push, in the transaction that stores it.
    pub(crate) notify: Option<Notify>,
}

/// Members with no live socket when a message was sent, whose devices get a
/// notification (see [`push`](crate::push)), and how long it waits for more
/// messages of the conversation before it is sent.
pub(crate) struct Notify {
    pub(crate) users: Vec<UserId>,
    pub(crate) after: std::time::Duration,
}

/// What storing a message did.
pub(crate) enum Stored {
    /// Newly stored.
    Created(Message),
    /// The sender's `client_id` was used before: the message stored then.
    Existing(Message),
}

type Job = (StoreRequest, oneshot::Sender<ChatResult<Stored>>);

/// The writers of one engine, started on first use (building the engine does
/// not need a runtime).
pub(crate) struct MessageWriters {
    queues: std::sync::OnceLock<Vec<mpsc::Sender<Job>>>,
    /// The engine's tasks, which the writers run on.
    tasks: Tasks,
    /// Transactions that stored a batch, over all writers.
    batches: Arc<AtomicU64>,
}

impl MessageWriters {
    pub(crate) fn new(tasks: Tasks) -> Self {
        MessageWriters {
            queues: std::sync::OnceLock::new(),
            tasks,
            batches: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Stores a message with the next free `seq` of its conversation; returns
    /// once it is committed.
    pub(crate) async fn store(
        &self,
        db: &DatabaseConnection,
        request: StoreRequest,
    ) -> ChatResult<Stored> {
        let queues = self
            .queues
            .get_or_init(|| start(db, &self.batches, &self.tasks));
        let index = request
            .message
            .conversation_id
            .get()
            .rem_euclid(queues.len() as i64) as usize;
        let (reply, answer) = oneshot::channel();
        queues[index]
            .send((request, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> ChatError {
    ChatError::Database(DbErr::Custom("the message writer stopped".into()))
}

fn start(
    db: &DatabaseConnection,
    batches: &Arc<AtomicU64>,
    tasks: &Tasks,
) -> Vec<mpsc::Sender<Job>> {
    // SQLite has one writer at a time whatever we do; PostgreSQL commits
    // batches of different conversations in parallel.
    let writers = match db.get_database_backend() {
        DbBackend::Sqlite => 1,
        _ => 4,
    };
    (0..writers)
        .map(|_| {
            let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
            // Stopped with the engine; shutdown waits for sends in flight first.
            tasks.spawn(run(db.clone(), jobs, batches.clone()));
            queue
        })
        .collect()
}

/// Runs until every queue sender is gone or the engine stops.
async fn run(db: DatabaseConnection, mut jobs: mpsc::Receiver<Job>, batches: Arc<AtomicU64>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!("chat_store_batch_size").record(batch.len() as f64);
        batches.fetch_add(1, Ordering::Relaxed);
        let requests: Vec<&StoreRequest> = batch.iter().map(|(r, _)| r).collect();
        match store_batch(&db, &requests).await {
            Ok(results) => {
                for ((_, reply), result) in batch.drain(..).zip(results) {
                    // The sender may have gone (socket closed): the message stays stored.
                    let _ = reply.send(result);
                }
            }
            // Unreachable database: one by one would only wait out the
            // pool's timeout once per message. Every sender hears
            // `unavailable` now and may retry with its `client_id`.
            Err(ChatError::Database(err)) if database_unreachable(&err) => {
                tracing::warn!(%err, size = batch.len(), "database unreachable; batch refused");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(ChatError::Database(err.clone())));
                }
            }
            Err(err) => {
                if batch.len() > 1 {
                    tracing::debug!(%err, size = batch.len(), "batch failed; storing one by one");
                }
                for (request, reply) in batch.drain(..) {
                    let _ = reply.send(store_one(&db, &request).await);
                }
            }
        }
    }
}

/// Stores one message in its own transaction; a `client_id` used before (also
/// by a concurrent send) returns the stored message.
async fn store_one(db: &DatabaseConnection, request: &StoreRequest) -> ChatResult<Stored> {
    match store_batch(db, &[request]).await {
        Err(ChatError::Database(err)) if is_unique_violation(&err) => {
            match existing_by_client_id(db, &[request])
                .await?
                .into_values()
                .next()
            {
                Some(existing) => Ok(Stored::Existing(existing)),
                None => Err(ChatError::Database(err)),
            }
        }
        Err(err) => Err(err),
        Ok(mut results) => results.pop().unwrap_or_else(|| Err(stopped())),
    }
}

/// Stored messages of these requests' `(sender, client_id)`, by that key.
async fn existing_by_client_id(
    db: &DatabaseConnection,
    requests: &[&StoreRequest],
) -> ChatResult<HashMap<(UserId, String), Message>> {
    let keys: Vec<(UserId, &str)> = requests
        .iter()
        .filter_map(|r| Some((r.sender, r.message.client_id.as_deref()?)))
        .collect();
    Ok(store::message_batches::by_client_ids(db, &keys).await?)
}

/// One transaction for the whole batch: answers `client_id` retries with the
/// stored message, takes a block of `seq` numbers per conversation (locking in
/// ascending conversation order, the lock order of every batch), inserts every
/// new message in one statement and reads each sender's profile once.
async fn store_batch(
    db: &DatabaseConnection,
    requests: &[&StoreRequest],
) -> ChatResult<Vec<ChatResult<Stored>>> {
    // Read before the transaction: on SQLite a transaction that reads first
    // and then writes fails at once (SQLITE_BUSY) when another connection
    // wrote meanwhile. A retry racing in between hits the unique index, and
    // the batch is then stored one by one.
    let existing = existing_by_client_id(db, requests).await?;
    let created_at = now();
    let txn = db.begin().await?;

    // Which requests are new; a repeated client_id within the batch is
    // answered with the first one's message.
    let mut first_with_key: HashMap<(UserId, &str), usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    let mut new_requests: Vec<usize> = Vec::new();
    for (i, request) in requests.iter().enumerate() {
        if let Some(client_id) = request.message.client_id.as_deref() {
            if existing.contains_key(&(request.sender, client_id.to_owned())) {
                continue;
            }
            if let Some(&first) = first_with_key.get(&(request.sender, client_id)) {
                repeats.push((i, first));
                continue;
            }
            first_with_key.insert((request.sender, client_id), i);
        }
        new_requests.push(i);
    }

    // seq blocks, in ascending conversation order.
    let mut per_conversation: BTreeMap<ConversationId, Vec<usize>> = BTreeMap::new();
    for &i in &new_requests {
        per_conversation
            .entry(requests[i].message.conversation_id)
            .or_default()
            .push(i);
    }
    let counts: BTreeMap<ConversationId, i64> = per_conversation
        .iter()
        .map(|(&id, indices)| (id, indices.len() as i64))
        .collect();
    let last_seqs = store::message_batches::take_seq_blocks(&txn, &counts, created_at).await?;
    // (seq, rev) of each new message: both blocks are handed out in the
    // same order, inside the transaction that stores the messages.
    let mut seqs: HashMap<usize, (i64, i64)> = HashMap::new();
    let mut missing: Vec<usize> = Vec::new();
    for (conversation_id, indices) in &per_conversation {
        let count = indices.len() as i64;
        match last_seqs.get(conversation_id) {
            Some(&(last_seq, last_rev)) => {
                for (k, &i) in indices.iter().enumerate() {
                    let first = 1 + k as i64 - count;
                    seqs.insert(i, (last_seq + first, last_rev + first));
                }
            }
            None => missing.extend(indices.iter().copied()),
        }
    }

    let to_insert: Vec<usize> = new_requests
        .iter()
        .copied()
        .filter(|i| seqs.contains_key(i))
        .collect();
    let rows: Vec<NewMessageRow<'_>> = to_insert
        .iter()
        .map(|&i| {
            let (seq, rev) = seqs[&i];
            new_message_row(requests[i], seq, rev)
        })
        .collect();
    let inserted = store::message_batches::insert_batch(&txn, &rows, created_at).await?;
    let ids = &inserted.ids;
    let mut replies: BTreeMap<MessageId, i64> = BTreeMap::new();
    for row in &rows {
        if let Some(parent) = row.reply_to_id {
            *replies.entry(parent).or_default() += 1;
        }
    }
    store::message_batches::count_replies(&txn, &replies).await?;
    let mentions: Vec<(ConversationId, i64, UserId)> = rows
        .iter()
        .zip(&to_insert)
        .flat_map(|(row, &i)| {
            requests[i]
                .message
                .mentions
                .iter()
                .map(move |&user| (row.conversation_id, row.seq, user))
        })
        .collect();
    store::message_batches::insert_mentions(&txn, &mentions).await?;
    enqueue_notifications(&txn, requests, &to_insert, &rows, ids, created_at).await?;
    txn.commit().await?;
    let placed = Placed {
        inserted: &to_insert,
        seqs: &seqs,
        repeats,
        missing,
        existing: &existing,
    };
    Ok(answers(requests, placed, &inserted, created_at))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::Ordering;

    use sea_orm::{ConnectionTrait, DatabaseConnection};

    use super::ValidMessage;
    use super::{MessageWriters, StoreRequest, Stored};
    use crate::ids::literal::{c, u};
    use crate::ids::{ConversationId, UserId};
    use crate::model::MessageType;
    use crate::store::seed;
    use crate::testing::TestDb;

    /// Two users and conversations 1 and 2 (both members of each).
    async fn setup(test_db: &TestDb) -> DatabaseConnection {
        let db = seed::migrated_with_users(test_db, 2).await;
        let ts = seed::TS;
        for c in 1..=2 {
            db.execute_unprepared(&format!(
                "INSERT INTO conversations (type, name, is_public, created_by, created_at, last_seq, last_message_at) \
                 VALUES ('group', 'g{c}', false, 1, {ts}, 0, {ts})"
            ))
            .await
            .expect("conversation");
        }
        db
    }

    async fn stored_messages(db: &DatabaseConnection) -> i64 {
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM messages",
        ))
        .await
        .expect("count")
        .expect("row")
        .try_get_by_index(0)
        .expect("count")
    }

    fn request(
        sender: UserId,
        conversation_id: ConversationId,
        client_id: Option<String>,
    ) -> StoreRequest {
        StoreRequest {
            sender,
            notify: None,
            message: ValidMessage {
                conversation_id,
                content: format!("from {sender}"),
                message_type: MessageType::Text,
                file_url: None,
                attachment: None,
                call: None,
                client_id,
                reply_to: None,
                mentions: Vec::new(),
            },
        }
    }

    #[tokio::test]
    async fn concurrent_sends_share_commits_and_get_contiguous_seq() {
        let test_db = TestDb::new().await;
        let db = setup(&test_db).await;
        let writers = MessageWriters::new(crate::tasks::Tasks::new());
        let sends = (0..300).map(|n| {
            let request = request(u(1 + n % 2), c(1 + n % 2), Some(format!("c-{n}")));
            writers.store(&db, request)
        });
        let results = futures_util::future::join_all(sends).await;
        let mut seqs: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        for result in results {
            match result.expect("stored") {
                Stored::Created(m) => seqs[(m.conversation_id.get() - 1) as usize].push(m.seq),
                Stored::Existing(m) => panic!("seq {} reported as a retry", m.seq),
            }
        }
        for seq in &mut seqs {
            seq.sort_unstable();
            assert_eq!(
                *seq,
                (1..=150).collect::<Vec<i64>>(),
                "seq is 1..=150 without gaps"
            );
        }
        let batches = writers.batches.load(Ordering::Relaxed);
        assert!(
            batches < 300,
            "300 concurrent sends took {batches} transactions"
        );
        assert_eq!(stored_messages(&db).await, 300);
    }

    /// The retry lookup runs before every PostgreSQL batch: it must stay an
    /// index lookup per key however stale the table statistics are (it was a
    /// scan of every stored message).
    #[tokio::test]
    async fn the_retry_lookup_uses_the_client_id_index_on_postgres() {
        let Some(test_db) = TestDb::postgres().await else {
            return;
        };
        let db = setup(&test_db).await;
        db.execute_unprepared("ANALYZE messages")
            .await
            .expect("analyze");
        let writers = MessageWriters::new(crate::tasks::Tasks::new());
        let sends =
            (0..2000).map(|n| writers.store(&db, request(u(1), c(1), Some(format!("k-{n}")))));
        for result in futures_util::future::join_all(sends).await {
            result.expect("stored");
        }
        let keys = serde_json::json!([{"sender_id": 1, "client_id": "k-7"}, {"sender_id": 2, "client_id": "none"}]);
        let mut explain = crate::db::Sql::new(sea_orm::DbBackend::Postgres);
        explain.push("EXPLAIN ");
        crate::store::message_batches::push_pg_by_client_ids(&mut explain, keys);
        let plan = db
            .query_all_raw(explain.build())
            .await
            .expect("explain")
            .iter()
            .map(|row| row.try_get_by_index::<String>(0).expect("plan line"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(plan.contains("uq_messages_sender_client_id"), "{plan}");
        assert!(!plan.contains("Seq Scan on messages"), "{plan}");
    }

    #[tokio::test]
    async fn a_repeated_client_id_in_one_batch_is_stored_once_and_a_bad_message_fails_alone() {
        let test_db = TestDb::new().await;
        let db = setup(&test_db).await;
        let writers = MessageWriters::new(crate::tasks::Tasks::new());
        let mut sends = Vec::new();
        for n in 0..40 {
            sends.push(request(u(1), c(1), Some(format!("same-{}", n % 4))));
        }
        sends.push(request(u(2), c(999), None)); // no such conversation
        sends.push(request(u(2), c(2), None));
        let results =
            futures_util::future::join_all(sends.into_iter().map(|r| writers.store(&db, r))).await;
        let mut created = HashSet::new();
        let mut ids_by_client = std::collections::HashMap::new();
        for result in &results[..40] {
            let (Ok(Stored::Created(m)) | Ok(Stored::Existing(m))) = result else {
                panic!("a retry failed: {:?}", result.as_ref().err());
            };
            if matches!(result, Ok(Stored::Created(_))) {
                assert!(
                    created.insert(m.client_id.clone()),
                    "{:?} created twice",
                    m.client_id
                );
            }
            let id = *ids_by_client.entry(m.client_id.clone()).or_insert(m.id);
            assert_eq!(
                id, m.id,
                "every retry of {:?} answers with one message",
                m.client_id
            );
        }
        assert_eq!(created.len(), 4, "four distinct client ids: four messages");
        assert!(
            matches!(results[40], Err(crate::ChatError::NotFound("conversation"))),
            "a message to a missing conversation fails"
        );
        assert!(
            matches!(results[41], Ok(Stored::Created(ref m)) if m.seq == 1),
            "its neighbour is stored"
        );
        assert_eq!(stored_messages(&db).await, 5);
    }
}
