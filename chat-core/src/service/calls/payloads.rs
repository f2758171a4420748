//! The requests clients send about calls and the events they receive, as
//! the wire has them.
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};
use crate::model::{Call, CallEndReason, CallId, CallMedia};

/// Largest `data` of a `call:signal`, serialized.
pub const MAX_SIGNAL_BYTES: usize = 64 * 1024;

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
