//! Each side's socket in a call: joining the side's room, taking the call
//! over after a reconnect (`call:resume`), going away (the grace begins),
//! and which of this instance's sides are still live.
use socketioxide::socket::Sid;

use super::payloads::CallElsewhere;
use super::store::{Deadline, DeadlineKind, Deadlines};
use super::{call_ended, call_room, conflict, ms, parse_call_id};
use crate::ChatHandle;
use crate::error::ChatResult;
use crate::fanout::{Target, user_room};
use crate::ids::UserId;
use crate::model::{Call, CallId, CallState};
use crate::protocol as events;
use crate::store::now;

impl ChatHandle {
    /// Makes `socket` `user_id`'s socket in the call (after a reconnect):
    /// signals go to it from now on, and the socket that had the call, if
    /// still connected, gets `call:answered_elsewhere`. Fails with
    /// `not_found`, `call_ended`, `not_in_call` (a callee before answering).
    pub async fn resume_call(
        &self,
        user_id: UserId,
        call_id: &str,
        socket: Sid,
    ) -> ChatResult<Call> {
        let id = parse_call_id(call_id)?;
        let live = self.live_side_deadline();
        let (_, record) = self
            .change_own_call(user_id, &id, |old| {
                match old.call.state {
                    CallState::Ended => return Err(call_ended()),
                    CallState::Ringing if user_id == old.call.callee_id => {
                        return Err(conflict("not_in_call", "answer the call with call:accept"));
                    }
                    _ => {}
                }
                let sid = socket.to_string();
                let new = old.next(|r| {
                    if user_id == r.call.caller_id {
                        r.caller_socket = Some(sid);
                    } else {
                        r.callee_socket = Some(sid);
                    }
                });
                let side = Deadline::side(&id, user_id);
                let deadlines = match live {
                    Some(at) => Deadlines {
                        set: vec![(side, at)],
                        ..Default::default()
                    },
                    None => Deadlines {
                        clear: vec![side],
                        ..Default::default()
                    },
                };
                Ok((new, deadlines))
            })
            .await?;
        self.broadcast(
            Target::room(user_room(user_id)).except_socket(Some(socket)),
            events::CALL_ANSWERED_ELSEWHERE,
            &CallElsewhere {
                call_id: id.clone(),
            },
        )
        .await;
        let room = call_room(&id, user_id);
        {
            let side = Deadline::side(&id, user_id);
            self.calls().local().retain(|_, d| *d != side);
        }
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.leave(vec![room.clone()], vec![room]).await;
        }
        self.bind_socket(&id, user_id, socket).await;
        Ok(record.call)
    }

    /// A socket closed: if it was a side of a call, the call waits
    /// [`call_grace`](crate::ChatConfig::call_grace) for the user to resume it.
    pub(crate) async fn call_socket_closed(&self, socket: Sid) {
        let sid = socket.to_string();
        let Some(side) = self.calls().local().remove(&sid) else {
            return;
        };
        let DeadlineKind::Side(user_id) = side.kind else {
            return;
        };
        let grace_end = ms(now()) + self.config().call_grace.as_millis() as i64;
        let result = self
            .change_call(&side.call, |old| {
                if old.ended() || old.socket_of(user_id) != Some(sid.as_str()) {
                    return Ok((old.clone(), Deadlines::default()));
                }
                let new = old.next(|r| {
                    if user_id == r.call.caller_id {
                        r.caller_socket = None;
                    } else {
                        r.callee_socket = None;
                    }
                });
                let deadlines = Deadlines {
                    set: vec![(side.clone(), grace_end)],
                    ..Default::default()
                };
                Ok((new, deadlines))
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(%err, call = %side.call, "call side not marked away");
        }
    }

    /// Puts `socket` in the call as `user_id`'s side.
    pub(super) async fn bind_socket(&self, id: &CallId, user_id: UserId, socket: Sid) {
        self.calls()
            .local()
            .insert(socket.to_string(), Deadline::side(id, user_id));
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.join_socket(socket, call_room(id, user_id));
        }
    }

    /// This instance's sides in a call whose sockets are still in it, for
    /// renewing their liveness; drops the others.
    pub(crate) fn live_call_sides(&self) -> Vec<Deadline> {
        let emitter = self.inner.emitter.get();
        let mut local = self.calls().local();
        local.retain(|sid, side| {
            let DeadlineKind::Side(user_id) = side.kind else {
                return false;
            };
            emitter.is_some_and(|e| e.socket_in_room(sid, &call_room(&side.call, user_id)))
        });
        local.values().cloned().collect()
    }

    /// Forgets sides whose calls ended on another instance.
    pub(crate) fn forget_call_sides(&self, gone: &[Deadline]) {
        if gone.is_empty() {
            return;
        }
        self.calls().local().retain(|_, side| !gone.contains(side));
    }
}
