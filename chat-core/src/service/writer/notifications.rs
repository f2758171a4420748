//! The push notifications a batch leaves: the new messages folded into the
//! outbox of the members to notify, in the batch's transaction, so the
//! outbox is as durable as the messages.
use std::collections::{BTreeMap, HashMap};

use super::StoreRequest;
use crate::error::ChatResult;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::store;
use crate::store::message_batches::NewMessageRow;
use crate::store::push::Pending;

/// Folds the new messages into the pending notifications of the members to
/// notify: one entry per conversation and member, so a batch is one statement
/// and a member's burst one notification.
pub(super) async fn enqueue_notifications(
    txn: &sea_orm::DatabaseTransaction,
    requests: &[&StoreRequest],
    inserted: &[usize],
    rows: &[NewMessageRow<'_>],
    ids: &HashMap<(ConversationId, i64), MessageId>,
    created_at: chrono::DateTime<chrono::Utc>,
) -> ChatResult<()> {
    let mut pending: BTreeMap<(ConversationId, UserId), Pending> = BTreeMap::new();
    let mut wait = std::time::Duration::ZERO;
    for (row, &i) in rows.iter().zip(inserted) {
        let request = requests[i];
        let Some(notify) = &request.notify else {
            continue;
        };
        let Some(&message_id) = ids.get(&(row.conversation_id, row.seq)) else {
            continue;
        };
        wait = wait.max(notify.after);
        for &user_id in &notify.users {
            let mentioned = request.message.mentions.contains(&user_id);
            pending
                .entry((row.conversation_id, user_id))
                .and_modify(|p| {
                    // Rows are in seq order within a conversation.
                    p.message_id = message_id;
                    p.sender_id = request.sender;
                    p.count += 1;
                    p.mentioned |= mentioned;
                })
                .or_insert(Pending {
                    conversation_id: row.conversation_id,
                    user_id,
                    message_id,
                    sender_id: request.sender,
                    count: 1,
                    mentioned,
                });
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    let pending: Vec<Pending> = pending.into_values().collect();
    let due_at = created_at + chrono::Duration::from_std(wait).unwrap_or_default();
    store::push::enqueue(txn, &pending, created_at, due_at).await?;
    Ok(())
}
