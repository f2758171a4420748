//! Starting a call: who may call whom, and a call that cannot ring (the
//! callee busy or with no live socket) ending at once.
use socketioxide::socket::Sid;

use super::ending::ended_now;
use super::payloads::StartCall;
use super::store::{CallRecord, Deadline};
use super::{already_in_call, ms};
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::{Call, CallEndReason, CallId, CallState};
use crate::protocol as events;
use crate::store::now;

impl ChatHandle {
    /// Starts a call from `caller`'s socket `socket` to the other member of a
    /// direct conversation; it rings on every socket of the callee
    /// (`call:incoming`). A callee already in a call, or with no live
    /// socket, ends it at once (`busy`, `missed`): the returned call is then
    /// ended, and both sides get `call:ended`.
    ///
    /// Fails with `not_found` / `not_a_member`, `blocked`, `unprocessable`
    /// (not a direct conversation), `already_in_call`.
    pub async fn start_call(
        &self,
        caller: UserId,
        request: StartCall,
        socket: Sid,
    ) -> ChatResult<Call> {
        self.ensure_call_sweeper();
        let conversation_id = request.conversation_id;
        self.require_writer(conversation_id, caller).await?;
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        let callee = match members.other_than(caller) {
            Some(callee) if members.direct => callee,
            _ => {
                return Err(ChatError::Unprocessable(
                    "calls are between the two members of a direct conversation",
                ));
            }
        };
        let started_at = now();
        let record = CallRecord {
            call: Call {
                id: CallId::new_random(),
                conversation_id,
                caller_id: caller,
                callee_id: callee,
                media: request.media,
                state: CallState::Ringing,
                started_at,
                answered_at: None,
                ended_at: None,
                end_reason: None,
                duration_ms: 0,
            },
            caller_socket: Some(socket.to_string()),
            callee_socket: None,
            version: 1,
        };
        let online = self.online_anywhere(callee).await?;
        let id = record.call.id.clone();
        let ring = ms(started_at) + self.config().call_ring_timeout.as_millis() as i64;
        let mut deadlines = vec![(Deadline::ring(&id), ring)];
        if let Some(at) = self.live_side_deadline() {
            deadlines.push((Deadline::side(&id, caller), at));
        }
        match self.calls().store.create(&record, &deadlines).await? {
            Some(busy) if busy == caller => return Err(already_in_call()),
            Some(_) => {
                // Nothing was stored: the record only carries the summary.
                return self
                    .finish_ended(ended_now(&record, CallEndReason::Busy).0)
                    .await;
            }
            None => {}
        }
        if !online {
            // Stored only to learn that both were free: it ends at once.
            let (new, deadlines) = ended_now(&record, CallEndReason::Missed);
            self.calls()
                .store
                .replace(&record, &new, &deadlines)
                .await?;
            return self.finish_ended(new).await;
        }
        self.bind_socket(&id, caller, socket).await;
        self.broadcast(
            Target::room(user_room(callee)),
            events::CALL_INCOMING,
            &record.call,
        )
        .await;
        metrics::counter!("chat_calls_started_total").increment(1);
        Ok(record.call)
    }

    /// Whether the user has a live socket on some instance.
    async fn online_anywhere(&self, user_id: UserId) -> ChatResult<bool> {
        if self.inner.presence.is_online(user_id) {
            return Ok(true);
        }
        match &self.inner.cluster {
            Some(cluster) => {
                let totals = cluster
                    .totals(&[user_id])
                    .await
                    .map_err(|e| ChatError::Adapter(e.to_string()))?;
                Ok(totals.first().is_some_and(|&n| n > 0))
            }
            None => Ok(false),
        }
    }
}
