//! The relay of `call:signal`: SDP descriptions and ICE candidates from a
//! side's socket to the other side's, checked and rate limited, never
//! stored.
use socketioxide::socket::Sid;

use super::payloads::{CallSignal, CallSignalEvent, MAX_SIGNAL_BYTES};
use super::{call_ended, call_room, conflict, not_active, not_found, parse_call_id};
use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::Target;
use crate::ids::UserId;
use crate::model::CallState;
use crate::protocol as events;

impl ChatHandle {
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
}
