//! A batch request by request: the row each new message is inserted as and,
//! after the commit, what each sender is answered.
use std::collections::HashMap;

use sea_orm::DbErr;

use super::{StoreRequest, Stored};
use crate::error::{ChatError, ChatResult};
use crate::ids::UserId;
use crate::model::Message;
use crate::store::message_batches::{InsertedBatch, NewMessageRow};

/// The row storing `request`'s message as `seq` and `rev` of its
/// conversation.
pub(super) fn new_message_row(request: &StoreRequest, seq: i64, rev: i64) -> NewMessageRow<'_> {
    let message = &request.message;
    NewMessageRow {
        conversation_id: message.conversation_id,
        seq,
        rev,
        sender_id: request.sender,
        content: &message.content,
        message_type: message.message_type,
        file_url: message.file_url.as_deref(),
        attachment: message
            .attachment
            .as_ref()
            .and_then(|a| serde_json::to_string(a).ok()),
        call_info: message
            .call
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok()),
        client_id: message.client_id.as_deref(),
        reply_to_id: message.reply_to.as_ref().map(|p| p.id),
        mentions: (!message.mentions.is_empty())
            .then(|| serde_json::to_string(&message.mentions).unwrap_or_default()),
    }
}

/// Where each request of a batch ended up, by its index in the batch.
pub(super) struct Placed<'a> {
    /// Inserted, in insertion order.
    pub(super) inserted: &'a [usize],
    /// `(seq, rev)` of each inserted request.
    pub(super) seqs: &'a HashMap<usize, (i64, i64)>,
    /// `(request, first)`: a request repeating the `client_id` of an earlier
    /// one of the batch, answered with its message.
    pub(super) repeats: Vec<(usize, usize)>,
    /// Requests whose conversation does not exist.
    pub(super) missing: Vec<usize>,
    /// Messages stored before the batch, by `(sender, client_id)`.
    pub(super) existing: &'a HashMap<(UserId, String), Message>,
}

/// Every sender's answer, in request order, once the batch committed.
pub(super) fn answers(
    requests: &[&StoreRequest],
    placed: Placed<'_>,
    stored: &InsertedBatch,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Vec<ChatResult<Stored>> {
    let ids = &stored.ids;
    let profiles = &stored.senders;
    let mut results: Vec<Option<ChatResult<Stored>>> = (0..requests.len()).map(|_| None).collect();
    for &i in placed.inserted {
        let request = requests[i];
        let conversation_id = request.message.conversation_id;
        let (seq, rev) = placed.seqs[&i];
        let (Some(&id), Some(sender)) = (
            ids.get(&(conversation_id, seq)),
            profiles.get(&request.sender),
        ) else {
            results[i] = Some(Err(ChatError::Database(DbErr::Custom(
                "stored message not returned".into(),
            ))));
            continue;
        };
        results[i] = Some(Ok(Stored::Created(Message {
            id,
            conversation_id,
            seq,
            rev,
            sender_id: request.sender,
            sender: sender.clone(),
            content: request.message.content.clone(),
            message_type: request.message.message_type,
            file_url: request.message.file_url.clone(),
            attachment: request.message.attachment.clone(),
            client_id: request.message.client_id.clone(),
            created_at,
            edited_at: None,
            deleted_at: None,
            reply_to: request.message.reply_to.clone(),
            reply_count: 0,
            mentions: request.message.mentions.clone(),
            reactions: Vec::new(),
            call: request.message.call.clone(),
            my_reactions: None,
        })));
    }
    for (i, first) in placed.repeats {
        results[i] = Some(match &results[first] {
            Some(Ok(Stored::Created(m) | Stored::Existing(m))) => Ok(Stored::Existing(m.clone())),
            _ => Err(ChatError::NotFound("conversation")),
        });
    }
    for i in placed.missing {
        results[i] = Some(Err(ChatError::NotFound("conversation")));
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, result)| {
            result.unwrap_or_else(|| {
                let request = requests[i];
                let key = (
                    request.sender,
                    request.message.client_id.clone().unwrap_or_default(),
                );
                placed
                    .existing
                    .get(&key)
                    .cloned()
                    .map(Stored::Existing)
                    .ok_or(ChatError::NotFound("message"))
            })
        })
        .collect()
}
