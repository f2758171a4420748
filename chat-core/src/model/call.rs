//! Calls as clients see them ([`Call`]) and the summary a call leaves in its
//! conversation ([`CallSummary`]). Calls are started with
//! [`ChatHandle::start_call`](crate::ChatHandle::start_call).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};

/// A call's id: 32 lowercase hex characters, random (calls are not rows).
///
/// ```
/// use chat_core::model::CallId;
/// let id = CallId::new_random();
/// assert_eq!(id.as_str().len(), 32);
/// assert!(CallId::parse("not an id").is_none());
/// assert_eq!(CallId::parse(id.as_str()), Some(id));
/// ```
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[ts(type = "string")]
pub struct CallId(String);

impl CallId {
    /// A new random id.
    pub fn new_random() -> Self {
        CallId(format!("{:032x}", rand::random::<u128>()))
    }

    /// The id in `s`, if it is one (32 lowercase hex characters).
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| CallId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a call carries.
///
/// ```
/// use chat_core::model::CallMedia;
/// assert_eq!(serde_json::to_string(&CallMedia::Video)?, "\"video\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CallMedia {
    /// Voice only.
    Audio,
    /// Voice and camera.
    Video,
}

impl CallMedia {
    /// How people name it: `voice` or `video`.
    pub fn noun(self) -> &'static str {
        match self {
            CallMedia::Audio => "voice",
            CallMedia::Video => "video",
        }
    }
}

/// Where a call is in its life.
#[derive(ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Started, not answered yet.
    Ringing,
    /// Answered: the two sides exchange media.
    Active,
    /// Over (see [`CallEndReason`]).
    Ended,
}

/// Why a call ended.
///
/// ```
/// use chat_core::model::CallEndReason;
/// assert_eq!(serde_json::to_string(&CallEndReason::Missed)?, "\"missed\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CallEndReason {
    /// Either side ended an answered call.
    Hangup,
    /// The callee refused it (or ended it while it rang).
    Declined,
    /// Not answered: the ring timed out, the caller gave up, or the callee
    /// had no live socket.
    Missed,
    /// The callee was already in a call.
    Busy,
    /// A side's socket went away and did not come back in time.
    Failed,
}

/// A call between the two members of a direct conversation, as `call:*`
/// events and acks carry it.
///
/// ```
/// use chat_core::model::{Call, CallState};
/// let call: Call = serde_json::from_str(r#"{"id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a",
///     "conversation_id": 12, "caller_id": 1, "callee_id": 2, "media": "audio",
///     "state": "ringing", "started_at": "2026-12-03T10:00:00Z", "answered_at": null,
///     "ended_at": null, "end_reason": null, "duration_ms": 0}"#)?;
/// assert_eq!(call.state, CallState::Ringing);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Random id.
    pub id: CallId,
    /// The direct conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Who started it.
    pub caller_id: UserId,
    /// Who was called.
    pub callee_id: UserId,
    /// Voice or video.
    pub media: CallMedia,
    /// Ringing, active or ended.
    pub state: CallState,
    /// When it was started.
    pub started_at: DateTime<Utc>,
    /// When the callee answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended (once ended).
    pub end_reason: Option<CallEndReason>,
    /// From `answered_at` to `ended_at`; 0 for a call never answered or
    /// still going.
    pub duration_ms: i64,
}

impl Call {
    /// The other side of `user_id` (`None` when the user is not in the call).
    pub fn peer_of(&self, user_id: UserId) -> Option<UserId> {
        if user_id == self.caller_id {
            Some(self.callee_id)
        } else if user_id == self.callee_id {
            Some(self.caller_id)
        } else {
            None
        }
    }

    /// The summary an ended call leaves in its conversation.
    pub fn summary(&self) -> Option<CallSummary> {
        Some(CallSummary {
            call_id: self.id.clone(),
            media: self.media,
            reason: self.end_reason?,
            duration_ms: self.duration_ms,
            caller_id: self.caller_id,
            callee_id: self.callee_id,
        })
    }
}

/// What a `call` message says of the call it records.
///
/// ```
/// use chat_core::model::{CallEndReason, CallMedia, CallSummary};
/// let summary: CallSummary = serde_json::from_str(r#"{"call_id": "3f9c2b7e0d4a4c1e9b8a7f6e5d4c3b2a",
///     "media": "video", "reason": "hangup", "duration_ms": 192000, "caller_id": 1, "callee_id": 2}"#)?;
/// assert_eq!(summary.text(), "Video call, 3:12");
/// assert_eq!(CallSummary { reason: CallEndReason::Missed, media: CallMedia::Audio, ..summary }.text(),
///            "Missed voice call");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallSummary {
    /// The call's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub call_id: CallId,
    /// Voice or video.
    pub media: CallMedia,
    /// How it ended.
    pub reason: CallEndReason,
    /// How long it was answered, in milliseconds.
    pub duration_ms: i64,
    /// Who called.
    pub caller_id: UserId,
    /// Who was called.
    pub callee_id: UserId,
}

impl CallSummary {
    /// The message's `content`: what people read where the call is not drawn
    /// (search results, notifications, older clients).
    pub fn text(&self) -> String {
        let noun = self.media.noun();
        let capital = match self.media {
            CallMedia::Audio => "Voice",
            CallMedia::Video => "Video",
        };
        match self.reason {
            CallEndReason::Hangup => format!("{capital} call, {}", clock(self.duration_ms)),
            CallEndReason::Missed => format!("Missed {noun} call"),
            CallEndReason::Declined => format!("Declined {noun} call"),
            CallEndReason::Busy => format!("{capital} call, busy"),
            CallEndReason::Failed => format!("{capital} call failed"),
        }
    }
}

/// `m:ss`, or `h:mm:ss` from an hour on.
fn clock(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn durations_read_as_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(59_999), "0:59");
        assert_eq!(clock(3_725_000), "1:02:05");
    }
}
