//! The answers to a call: the callee accepts or declines a ringing call,
//! either side ends it.
use socketioxide::socket::Sid;

use super::ending::ended_now;
use super::payloads::CallElsewhere;
use super::store::{CallRecord, Deadline, Deadlines};
use super::{call_room, not_ringing, parse_call_id};
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::{Call, CallEndReason, CallState};
use crate::protocol as events;
use crate::store::now;

impl ChatHandle {
    /// The callee answers on `socket`: the caller's socket gets
    /// `call:accepted`, the callee's other sockets `call:answered_elsewhere`.
    /// Fails with `not_found`, `forbidden` (the caller), `call_not_ringing`.
    pub async fn accept_call(
        &self,
        user_id: UserId,
        call_id: &str,
        socket: Sid,
    ) -> ChatResult<Call> {
        let id = parse_call_id(call_id)?;
        let live = self.live_side_deadline();
        let (_, record) = self
            .change_own_call(user_id, &id, |old| {
                if old.call.callee_id != user_id {
                    return Err(ChatError::Forbidden("only the callee answers a call"));
                }
                if old.call.state != CallState::Ringing {
                    return Err(not_ringing());
                }
                let answered = now();
                let new = old.next(|r| {
                    r.call.state = CallState::Active;
                    r.call.answered_at = Some(answered);
                    r.callee_socket = Some(socket.to_string());
                });
                let mut deadlines = Deadlines {
                    clear: vec![Deadline::ring(&id), Deadline::side(&id, user_id)],
                    ..Default::default()
                };
                if let Some(at) = live {
                    deadlines.set.push((Deadline::side(&id, user_id), at));
                }
                Ok((new, deadlines))
            })
            .await?;
        self.bind_socket(&id, user_id, socket).await;
        self.broadcast(
            Target::room(call_room(&id, record.call.caller_id)),
            events::CALL_ACCEPTED,
            &record.call,
        )
        .await;
        self.broadcast(
            Target::room(user_room(user_id)).except_socket(Some(socket)),
            events::CALL_ANSWERED_ELSEWHERE,
            &CallElsewhere { call_id: id },
        )
        .await;
        Ok(record.call)
    }

    /// The callee refuses a ringing call: it ends as `declined`. Fails with
    /// `not_found`, `forbidden` (the caller: use [`end_call`](Self::end_call)),
    /// `call_not_ringing`.
    pub async fn decline_call(&self, user_id: UserId, call_id: &str) -> ChatResult<Call> {
        let id = parse_call_id(call_id)?;
        let (old, record) = self
            .change_own_call(user_id, &id, |old| {
                if old.call.callee_id != user_id {
                    return Err(ChatError::Forbidden("only the callee declines a call"));
                }
                if old.call.state != CallState::Ringing {
                    return Err(not_ringing());
                }
                Ok(ended_now(old, CallEndReason::Declined))
            })
            .await?;
        self.after_change(&old, record).await
    }

    /// Ends a call for either side: `hangup` once answered; while it rings,
    /// `missed` from the caller and `declined` from the callee. An ended
    /// call is returned as it is.
    pub async fn end_call(&self, user_id: UserId, call_id: &str) -> ChatResult<Call> {
        let id = parse_call_id(call_id)?;
        let (old, record) = self
            .change_own_call(user_id, &id, |old| {
                let reason = match old.call.state {
                    CallState::Ended => return Ok((old.clone(), Deadlines::default())),
                    CallState::Active => CallEndReason::Hangup,
                    CallState::Ringing if user_id == old.call.caller_id => CallEndReason::Missed,
                    CallState::Ringing => CallEndReason::Declined,
                };
                Ok(ended_now(old, reason))
            })
            .await?;
        self.after_change(&old, record).await
    }

    /// After a change by [`change_call`](Self::change_call): an ended call is
    /// finished (once: only by the change that ended it).
    async fn after_change(&self, old: &CallRecord, new: CallRecord) -> ChatResult<Call> {
        if new.ended() && !old.ended() {
            return self.finish_ended(new).await;
        }
        Ok(new.call)
    }
}
