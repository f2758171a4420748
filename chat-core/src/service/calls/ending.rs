//! What an ended call is and leaves, once: its sockets leave the call's
//! rooms, a `call` message goes through the writer, both users get
//! `call:ended`.
use super::payloads::CallEnded;
use super::store::{CallRecord, Deadline, Deadlines};
use super::{call_room, ms};
use crate::ChatHandle;
use crate::error::ChatResult;
use crate::fanout::{Target, conversation_room, user_room};
use crate::model::{Call, CallEndReason, CallState, MessageType};
use crate::protocol as events;
use crate::service::writer::{Stored, ValidMessage};
use crate::store::now;

/// `old` ended for `reason` now, and the deadlines it no longer has.
pub(super) fn ended_now(old: &CallRecord, reason: CallEndReason) -> (CallRecord, Deadlines) {
    let at = now();
    let new = old.next(|r| {
        r.call.state = CallState::Ended;
        r.call.ended_at = Some(at);
        r.call.end_reason = Some(reason);
        r.call.duration_ms = r
            .call
            .answered_at
            .map_or(0, |answered| (ms(at) - ms(answered)).max(0));
        r.caller_socket = None;
        r.callee_socket = None;
    });
    let deadlines = Deadlines {
        clear: Deadline::all_of(&old.call),
        ..Default::default()
    };
    (new, deadlines)
}

impl ChatHandle {
    /// What follows an ended call, once: its sockets leave the call, the call
    /// message is stored, both users' sockets get `call:ended`, the
    /// conversation the message.
    pub(super) async fn finish_ended(&self, record: CallRecord) -> ChatResult<Call> {
        let call = record.call;
        let rooms = vec![
            call_room(&call.id, call.caller_id),
            call_room(&call.id, call.callee_id),
        ];
        self.calls().local().retain(|_, d| d.call != call.id);
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.leave(rooms.clone(), rooms).await;
        }
        let message = match call.summary() {
            Some(summary) => {
                let notice = ValidMessage {
                    conversation_id: call.conversation_id,
                    content: summary.text(),
                    message_type: MessageType::Call,
                    file_url: None,
                    attachment: None,
                    call: Some(summary),
                    client_id: None,
                    reply_to: None,
                    mentions: Vec::new(),
                };
                match self.store_message(call.caller_id, notice).await {
                    Ok(Stored::Created(message) | Stored::Existing(message)) => Some(message),
                    Err(err) => {
                        tracing::error!(%err, call = %call.id, "call message not stored");
                        None
                    }
                }
            }
            None => None,
        };
        if let Some(reason) = call.end_reason {
            let ended = CallEnded {
                call_id: call.id.clone(),
                reason,
                duration_ms: call.duration_ms,
                call: call.clone(),
            };
            self.broadcast(
                Target::rooms(vec![user_room(call.caller_id), user_room(call.callee_id)]),
                events::CALL_ENDED,
                &ended,
            )
            .await;
            metrics::counter!("chat_calls_ended_total", "reason" => reason_label(reason))
                .increment(1);
        }
        if let Some(message) = message {
            self.broadcast(
                Target::room(conversation_room(message.conversation_id)),
                events::MESSAGE_NEW,
                &message,
            )
            .await;
        }
        Ok(call)
    }
}

fn reason_label(reason: CallEndReason) -> &'static str {
    match reason {
        CallEndReason::Hangup => "hangup",
        CallEndReason::Declined => "declined",
        CallEndReason::Missed => "missed",
        CallEndReason::Busy => "busy",
        CallEndReason::Failed => "failed",
    }
}
