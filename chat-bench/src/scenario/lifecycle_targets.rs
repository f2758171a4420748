//! A `lifecycle` client's conversations: the recent messages and own reactions it picks the
//! targets of edits, deletes and reactions from.
use std::collections::{BTreeSet, VecDeque};

use crate::mix::OpKind;

/// The reactions toggled, in turn.
pub(super) const EMOJI: [&str; 4] = ["👍", "🎉", "❤️", "😂"];

pub(super) struct Conv {
    pub(super) id: i64,
    /// Other sockets in the conversation (each success owes them one event).
    pub(super) receivers: u64,
    /// The latest messages (id, whether this client sent it), oldest first.
    pub(super) recent: VecDeque<(i64, bool)>,
    /// This client's reactions (message, emoji), as of the operations it sent.
    pub(super) mine: BTreeSet<(i64, usize)>,
    /// Reactions with an operation in flight: never changed twice at once, so each operation
    /// changes something and sends an event.
    pub(super) in_flight: BTreeSet<(i64, usize)>,
}

impl Conv {
    pub(super) fn remember(&mut self, message_id: i64, own: bool, cap: usize) {
        self.recent.push_back((message_id, own));
        while self.recent.len() > cap {
            if let Some((gone, _)) = self.recent.pop_front() {
                self.mine.retain(|&(m, _)| m != gone);
            }
        }
    }

    pub(super) fn forget(&mut self, message_id: i64) {
        self.recent.retain(|&(m, _)| m != message_id);
        self.mine.retain(|&(m, _)| m != message_id);
    }

    /// The target of a drawn operation on turn `turn` (which rotates targets and emoji), the
    /// client's `reactions`-th reaction operation when it is one; `None` when there is nothing to
    /// act on.
    pub(super) fn choose(&mut self, kind: OpKind, turn: usize, reactions: u64) -> Option<Planned> {
        let c = self;
        let own = || c.recent.iter().filter(|&&(_, own)| own).map(|&(id, _)| id);
        match kind {
            OpKind::Send => Some(Planned::Send),
            OpKind::Edit => {
                let mine: Vec<i64> = own().collect();
                mine.get(turn % mine.len().max(1))
                    .map(|&id| Planned::Edit(id))
            }
            OpKind::Delete => {
                // The oldest: the latest stay for edits and reactions.
                let id = own().next()?;
                c.forget(id);
                Some(Planned::Delete(id))
            }
            OpKind::React => {
                let take_back = reactions
                    .is_multiple_of(2)
                    .then(|| {
                        // On the oldest message: ids grow with time.
                        c.mine.iter().find(|r| !c.in_flight.contains(r)).copied()
                    })
                    .flatten();
                let (message_id, emoji, add) = match take_back {
                    Some((message_id, emoji)) => (message_id, emoji, false),
                    None => {
                        let (message_id, _) = *c.recent.get(turn % c.recent.len().max(1))?;
                        let emoji =
                            (0..EMOJI.len())
                                .map(|j| (turn + j) % EMOJI.len())
                                .find(|&e| {
                                    !c.mine.contains(&(message_id, e))
                                        && !c.in_flight.contains(&(message_id, e))
                                })?;
                        (message_id, emoji, true)
                    }
                };
                // As sent; a failed ack puts it back.
                if add {
                    c.mine.insert((message_id, emoji));
                } else {
                    c.mine.remove(&(message_id, emoji));
                }
                c.in_flight.insert((message_id, emoji));
                Some(Planned::React {
                    message_id,
                    emoji,
                    add,
                })
            }
        }
    }
}

/// What a drawn operation becomes once its target is chosen.
pub(super) enum Planned {
    Send,
    Edit(i64),
    Delete(i64),
    React {
        message_id: i64,
        emoji: usize,
        add: bool,
    },
}
