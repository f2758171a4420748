//! What the `lifecycle` scenario counts: the operations it sends, the events they cause, the
//! state its clients share with the scheduler, and each client's tally.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};

use crate::mix::OpKind;

/// An operation as sent, for its ack latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    Send,
    Edit,
    ReactAdd,
    ReactRemove,
    Delete,
}

impl Op {
    pub(super) const ALL: [Op; 5] = [
        Op::Send,
        Op::Edit,
        Op::ReactAdd,
        Op::ReactRemove,
        Op::Delete,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Op::Send => "send",
            Op::Edit => "edit",
            Op::ReactAdd => "react_add",
            Op::ReactRemove => "react_remove",
            Op::Delete => "delete",
        }
    }

    /// The event its success sends the conversation's other sockets.
    pub(super) fn event(self) -> Event {
        match self {
            Op::Send => Event::New,
            Op::Edit => Event::Updated,
            Op::ReactAdd | Op::ReactRemove => Event::Reaction,
            Op::Delete => Event::Deleted,
        }
    }
}

/// The events the operations cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    New,
    Updated,
    Deleted,
    Reaction,
}

impl Event {
    pub(super) const ALL: [Event; 4] =
        [Event::New, Event::Updated, Event::Deleted, Event::Reaction];

    pub(super) fn name(self) -> &'static str {
        match self {
            Event::New => "message:new",
            Event::Updated => "message:updated",
            Event::Deleted => "message:deleted",
            Event::Reaction => "message:reaction",
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) fn parse(name: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// State shared by the clients, the scheduler and the drain.
pub(super) struct LifeShared {
    pub(super) run_id: String,
    pub(super) padding: String,
    pub(super) content_size: usize,
    /// Messages of each conversation a client keeps as targets.
    pub(super) recent: usize,
    pub(super) connected: Vec<AtomicBool>,
    /// Operations handed to clients and not yet taken by them.
    pub(super) queued: AtomicI64,
    pub(super) pending_acks: AtomicI64,
    /// Events the successful operations owe the other members' sockets.
    pub(super) expected: AtomicU64,
    /// Events of the four kinds received.
    pub(super) delivered: AtomicU64,
    pub(super) last_event_us: AtomicU64,
}

/// One operation for a client, in one of its conversations.
pub(super) struct Cmd {
    pub(super) conversation_id: i64,
    pub(super) kind: OpKind,
}

/// What a client counted.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) ops: BTreeMap<Op, OpTally>,
    /// Edits, reactions and deletes made sends for lack of a message to act on.
    pub(super) substituted: u64,
    pub(super) expected: [u64; 4],
    pub(super) received: [u64; 4],
    pub(super) other_events: u64,
    pub(super) ack_unanswered: u64,
    pub(super) unexpected_disconnects: u64,
    pub(super) server_disconnects: u64,
    /// Operations discarded (left queued when the client stopped).
    pub(super) unsent: u64,
    pub(super) errors: Vec<String>,
}

/// One kind of operation's sends and acks.
#[derive(Default)]
pub(super) struct OpTally {
    pub(super) sent: u64,
    pub(super) acked: u64,
    pub(super) failed: BTreeMap<String, u64>,
    pub(super) ack_us: Vec<u32>,
}
