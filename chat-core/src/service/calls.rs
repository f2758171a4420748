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
//! Files: `payloads` (the requests and events of calls), `ringing`
//! (starting a call), `answering` (accepting, declining, ending),
//! `signalling` (the relay of `call:signal`), `sides` (each side's socket:
//! joining, resuming after a reconnect, going away), `ending` (what an ended
//! call leaves), `state` (the engine's calls), `store` (the record,
//! deadlines, the in-memory store), `sweeper` (deadlines and, when
//! clustered, the liveness of this instance's sides). This file holds what
//! they share: call ids and rooms, the errors, and the compare-and-set loop
//! every change goes through.
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
mod answering;
mod ending;
mod payloads;
mod ringing;
mod sides;
mod signalling;
pub(crate) mod state;
pub(crate) mod store;
mod sweeper;

pub use payloads::{
    CallElsewhere, CallEnded, CallRef, CallSignal, CallSignalEvent, MAX_SIGNAL_BYTES, StartCall,
};

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::ids::UserId;
use crate::model::CallId;
use crate::store::now;
use store::{CallRecord, Deadlines};

/// Longest `call_id` looked at.
const MAX_CALL_ID_CHARS: usize = 64;

/// How many times a change is tried again when another one won the race.
const RETRIES: usize = 8;

/// Room of the one socket of `user_id` in `call`.
fn call_room(call: &CallId, user_id: UserId) -> String {
    format!("call:{call}:{user_id}")
}

fn ms(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
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
}

fn not_found() -> ChatError {
    ChatError::NotFound("call")
}

fn conflict(code: &'static str, message: &'static str) -> ChatError {
    ChatError::Conflict { code, message }
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
