//! One-to-one voice and video calls: the server signals and keeps each
//! call's state; media flows between the two browsers (WebRTC).
//!
//! A call rings on every socket of the callee, is answered on one, and is
//! ended by either side, by its ring timing out, or by a side's socket
//! staying away longer than the grace. The two sockets in the call join a
//! room each (`call:<id>:<user>`), so signals reach exactly the other side
//! on whatever instance it is. State lives in a [`store::CallStore`]: in
//! memory on one instance, in Redis when clustered; the deadlines are swept
//! by every instance (`sweeper`). Every ended call leaves a `call` message.
//!
//! Files: `state` (the engine's calls), `store` (the record, deadlines, the
//! in-memory store), `sweeper`
//! (deadlines and, when clustered, the liveness of this instance's sides).
//!
//! ```no_run
//! # async fn demo(chat: chat_core::ChatHandle, me: chat_core::ids::UserId,
//! #     dm: chat_core::ids::ConversationId, sid: chat_core::socketioxide::socket::Sid)
//! #     -> Result<(), chat_core::ChatError> {
//! use chat_core::model::CallMedia;
//! use chat_core::service::StartCall;
//!
//! let call = chat.start_call(me, StartCall { conversation_id: dm, media: CallMedia::Video }, sid).await?;
//! chat.end_call(me, call.id.as_str()).await?;
//! # Ok(()) }
//! ```
pub(crate) mod state;
pub(crate) mod store;
mod sweeper;

use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::{Target, conversation_room, user_room};
use crate::ids::{ConversationId, UserId};
use crate::model::{Call, CallEndReason, CallId, CallMedia, CallState, MessageType};
use crate::protocol as events;
use crate::service::writer::{Stored, ValidMessage};
use crate::store::now;
use store::{CallRecord, Deadline, Deadlines};

/// Largest `data` of a `call:signal`, serialized.
pub const MAX_SIGNAL_BYTES: usize = 64 * 1024;

/// Longest `call_id` looked at.
const MAX_CALL_ID_CHARS: usize = 64;

/// How many times a change is tried again when another one won the race.
const RETRIES: usize = 8;

/// `call:start`: call the other member of a direct conversation.
///
/// ```
/// use chat_core::service::StartCall;
/// let start: StartCall = serde_json::from_str(r#"{"conversation_id": 12, "media": "video"}"#)?;
/// assert_eq!(start.conversation_id.get(), 12);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct StartCall {
    /// A direct conversation of the caller.
    pub conversation_id: ConversationId,
    /// Voice or video.
    pub media: CallMedia,
}

/// `call:accept`, `call:decline`, `call:end`, `call:resume`: which call.
///
/// ```
/// use chat_core::service::CallRef;
/// let r: CallRef = serde_json::from_str(r#"{"call_id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a"}"#)?;
/// assert_eq!(r.call_id.len(), 32);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct CallRef {
    /// The call's id.
    pub call_id: String,
}

/// `call:signal` from a client: an SDP description or ICE candidate for the
/// other side, opaque to the server.
///
/// ```
/// use chat_core::service::CallSignal;
/// let s: CallSignal = serde_json::from_str(
///     r#"{"call_id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a", "data": {"type": "offer", "sdp": "v=0"}}"#)?;
/// assert_eq!(s.data["type"], "offer");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct CallSignal {
    /// The call's id.
    pub call_id: String,
    /// Any JSON but `null`, at most [`MAX_SIGNAL_BYTES`] serialized.
    #[ts(type = "unknown")]
    pub data: serde_json::Value,
}

/// `call:signal` to a client: what the other side sent.
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct CallSignalEvent {
    /// The call's id.
    pub call_id: CallId,
    /// Who sent it (the other side).
    pub from_user_id: UserId,
    /// As sent.
    #[ts(type = "unknown")]
    pub data: serde_json::Value,
}

/// `call:ended`: why and how long, with the whole call.
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct CallEnded {
    /// The call's id.
    pub call_id: CallId,
    /// Why it ended.
    pub reason: CallEndReason,
    /// How long it was answered.
    pub duration_ms: i64,
    /// The ended call.
    pub call: Call,
}

/// `call:answered_elsewhere`: another socket of the user took the call.
#[derive(ts_rs::TS, Debug, Clone, Deserialize, Serialize)]
pub struct CallElsewhere {
    /// The call's id.
    pub call_id: CallId,
}

/// Room of the one socket of `user_id` in `call`.
fn call_room(call: &CallId, user_id: UserId) -> String {
    format!("call:{call}:{user_id}")
}

fn ms(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

fn not_found() -> ChatError {
    ChatError::NotFound("call")
}

fn conflict(code: &'static str, message: &'static str) -> ChatError {
    ChatError::Conflict { code, message }
}

/// The id a client named, if it can be one; an unknown id is `not_found`.
fn parse_call_id(raw: &str) -> ChatResult<CallId> {
    if raw.chars().count() > MAX_CALL_ID_CHARS {
        return Err(ChatError::field(
            "call_id",
            format!("must be at most {MAX_CALL_ID_CHARS} characters"),
        ));
    }
    CallId::parse(raw).ok_or_else(not_found)
}

/// `old` ended for `reason` now, and the deadlines it no longer has.
fn ending(old: &CallRecord, reason: CallEndReason) -> (CallRecord, Deadlines) {
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
    fn calls(&self) -> &state::Calls {
        &self.inner.calls
    }

    /// When a live side's deadline falls: never in memory (a disconnect is
    /// always heard), else a little after the grace, renewed every second.
    fn live_side_deadline(&self) -> Option<i64> {
        self.calls().store.shared().then(|| {
            ms(now()) + self.config().call_grace.as_millis() as i64 + sweeper::LIVENESS_SLACK_MS
        })
    }

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
                    .finish_ended(ending(&record, CallEndReason::Busy).0)
                    .await;
            }
            None => {}
        }
        if !online {
            // Stored only to learn that both were free: it ends at once.
            let (new, deadlines) = ending(&record, CallEndReason::Missed);
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
                Ok(ending(old, CallEndReason::Declined))
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
                Ok(ending(old, reason))
            })
            .await?;
        self.after_change(&old, record).await
    }

    /// Relays `data` from `user_id`'s socket in an answered call to the other
    /// side's socket, and nowhere else; nothing is stored. Fails with
    /// `not_found`, `not_in_call` (another socket), `call_not_active`,
    /// `validation_failed` (`data`), `rate_limited`.
    pub async fn signal_call(
        &self,
        user_id: UserId,
        signal: CallSignal,
        socket: Sid,
    ) -> ChatResult<()> {
        self.calls()
            .signals
            .check_key(&user_id)
            .map_err(|_| ChatError::RateLimited)?;
        let id = parse_call_id(&signal.call_id)?;
        if signal.data.is_null() {
            return Err(ChatError::field("data", "is required"));
        }
        let size = serde_json::to_vec(&signal.data).map_or(usize::MAX, |v| v.len());
        if size > MAX_SIGNAL_BYTES {
            return Err(ChatError::field(
                "data",
                format!("must be at most {MAX_SIGNAL_BYTES} bytes"),
            ));
        }
        let record = self.calls().store.load(&id).await?.ok_or_else(not_found)?;
        let Some(peer) = record.call.peer_of(user_id) else {
            return Err(not_found());
        };
        match record.call.state {
            CallState::Active => {}
            CallState::Ringing => return Err(not_active()),
            CallState::Ended => return Err(call_ended()),
        }
        if record.socket_of(user_id) != Some(socket.to_string().as_str()) {
            return Err(conflict("not_in_call", "this socket is not in the call"));
        }
        let relay = CallSignalEvent {
            call_id: id.clone(),
            from_user_id: user_id,
            data: signal.data,
        };
        self.broadcast(
            Target::room(call_room(&id, peer)),
            events::CALL_SIGNAL,
            &relay,
        )
        .await;
        Ok(())
    }

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
        let store::DeadlineKind::Side(user_id) = side.kind else {
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

    /// Ends the call of a passed deadline, if it is still due: `missed` for
    /// a ring, `failed` for a side.
    pub(crate) async fn call_deadline_passed(&self, deadline: Deadline, at: i64) -> ChatResult<()> {
        let Some(old) = self.calls().store.load(&deadline.call).await? else {
            return self.calls().store.forget(&[deadline]).await;
        };
        let reason = match (&deadline.kind, old.call.state) {
            (_, CallState::Ended) => None,
            (store::DeadlineKind::Ring, CallState::Ringing) => Some(CallEndReason::Missed),
            (store::DeadlineKind::Ring, _) => None,
            (store::DeadlineKind::Side(_), _) => Some(CallEndReason::Failed),
        };
        let Some(reason) = reason else {
            return self.calls().store.forget(&[deadline]).await;
        };
        let (new, mut deadlines) = ending(&old, reason);
        deadlines.due = Some((deadline, at));
        if self.calls().store.replace(&old, &new, &deadlines).await? {
            self.finish_ended(new).await?;
        }
        // Otherwise the call changed (or was resumed) meanwhile: the next
        // sweep sees what is due then.
        Ok(())
    }

    /// Loads the call and replaces it by what `decide` makes of it, again
    /// while another change wins the race. Returns the record replaced and
    /// the new one (the same when `decide` changed nothing).
    async fn change_call<F>(
        &self,
        id: &CallId,
        mut decide: F,
    ) -> ChatResult<(CallRecord, CallRecord)>
    where
        F: FnMut(&CallRecord) -> ChatResult<(CallRecord, Deadlines)>,
    {
        for _ in 0..RETRIES {
            let old = self.calls().store.load(id).await?.ok_or_else(not_found)?;
            let (new, deadlines) = decide(&old)?;
            if new == old {
                return Ok((old, new));
            }
            if self.calls().store.replace(&old, &new, &deadlines).await? {
                return Ok((old, new));
            }
        }
        Err(ChatError::Adapter("the call kept changing".into()))
    }

    /// [`change_call`](Self::change_call) by one of the call's two users: a
    /// call of others answers `not_found`, like one that does not exist.
    async fn change_own_call<F>(
        &self,
        user_id: UserId,
        id: &CallId,
        mut decide: F,
    ) -> ChatResult<(CallRecord, CallRecord)>
    where
        F: FnMut(&CallRecord) -> ChatResult<(CallRecord, Deadlines)>,
    {
        self.change_call(id, |old| {
            if old.call.peer_of(user_id).is_none() {
                return Err(not_found());
            }
            decide(old)
        })
        .await
    }

    /// After a change by [`change_call`](Self::change_call): an ended call is
    /// finished (once: only by the change that ended it).
    async fn after_change(&self, old: &CallRecord, new: CallRecord) -> ChatResult<Call> {
        if new.ended() && !old.ended() {
            return self.finish_ended(new).await;
        }
        Ok(new.call)
    }

    /// What follows an ended call, once: its sockets leave the call, the call
    /// message is stored, both users' sockets get `call:ended`, the
    /// conversation the message.
    async fn finish_ended(&self, record: CallRecord) -> ChatResult<Call> {
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

    /// Puts `socket` in the call as `user_id`'s side.
    async fn bind_socket(&self, id: &CallId, user_id: UserId, socket: Sid) {
        self.calls()
            .local()
            .insert(socket.to_string(), Deadline::side(id, user_id));
        if let Some(emitter) = self.inner.emitter.get() {
            emitter.join_socket(socket, call_room(id, user_id));
        }
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

    /// This instance's sides in a call whose sockets are still in it, for
    /// renewing their liveness; drops the others.
    pub(crate) fn live_call_sides(&self) -> Vec<Deadline> {
        let emitter = self.inner.emitter.get();
        let mut local = self.calls().local();
        local.retain(|sid, side| {
            let store::DeadlineKind::Side(user_id) = side.kind else {
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

fn already_in_call() -> ChatError {
    conflict("already_in_call", "you are in a call already: end it first")
}

fn not_ringing() -> ChatError {
    conflict("call_not_ringing", "the call is not ringing any more")
}

fn not_active() -> ChatError {
    conflict("call_not_active", "the call has not been answered")
}

fn call_ended() -> ChatError {
    conflict("call_ended", "the call has ended")
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
