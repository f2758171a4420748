//! Where calls live while they ring or go on: [`CallStore`], in this
//! process ([`LocalCalls`], one instance) or in Redis
//! ([`cluster::calls`](crate::cluster::calls), several). Every change is a
//! compare-and-set of the whole record, so of two racing changes (an accept
//! and an end on two instances) exactly one wins; the loser reads the record
//! again and decides anew.
//!
//! Deadlines (a ringing call's timeout, a side's grace) are kept beside the
//! records, by time, so any instance's sweeper ends a call on time.
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::ChatResult;
use crate::fanout::emitter::BoxFuture;
use crate::ids::UserId;
use crate::model::{Call, CallId, CallState};

/// A call with what only the server knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallRecord {
    pub(crate) call: Call,
    /// The caller's socket in the call; `None` while it is away.
    pub(crate) caller_socket: Option<String>,
    /// The callee's socket, once answered; `None` before, or while away.
    pub(crate) callee_socket: Option<String>,
    /// Bumped by every change.
    pub(crate) version: u64,
}

impl CallRecord {
    /// The socket `user_id` is in the call with.
    pub(crate) fn socket_of(&self, user_id: UserId) -> Option<&str> {
        if user_id == self.call.caller_id {
            self.caller_socket.as_deref()
        } else if user_id == self.call.callee_id {
            self.callee_socket.as_deref()
        } else {
            None
        }
    }

    /// The next version of this record, changed by `change`.
    pub(crate) fn next(&self, change: impl FnOnce(&mut CallRecord)) -> CallRecord {
        let mut next = self.clone();
        change(&mut next);
        next.version = self.version + 1;
        next
    }

    pub(crate) fn ended(&self) -> bool {
        self.call.state == CallState::Ended
    }
}

/// What a deadline ends when it passes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DeadlineKind {
    /// The call still rings: `missed`.
    Ring,
    /// This side's socket is away (or its instance stopped renewing it):
    /// `failed`.
    Side(UserId),
}

/// A deadline of one call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Deadline {
    pub(crate) call: CallId,
    pub(crate) kind: DeadlineKind,
}

impl Deadline {
    pub(crate) fn ring(call: &CallId) -> Self {
        Deadline {
            call: call.clone(),
            kind: DeadlineKind::Ring,
        }
    }

    pub(crate) fn side(call: &CallId, user_id: UserId) -> Self {
        Deadline {
            call: call.clone(),
            kind: DeadlineKind::Side(user_id),
        }
    }

    /// Every deadline `call` may have.
    pub(crate) fn all_of(call: &Call) -> Vec<Deadline> {
        vec![
            Deadline::ring(&call.id),
            Deadline::side(&call.id, call.caller_id),
            Deadline::side(&call.id, call.callee_id),
        ]
    }

    /// `<call>:ring` or `<call>:<user>`.
    pub(crate) fn encode(&self) -> String {
        match self.kind {
            DeadlineKind::Ring => format!("{}:ring", self.call),
            DeadlineKind::Side(user) => format!("{}:{user}", self.call),
        }
    }

    pub(crate) fn decode(s: &str) -> Option<Self> {
        let (call, kind) = s.split_once(':')?;
        let call = CallId::parse(call)?;
        let kind = match kind {
            "ring" => DeadlineKind::Ring,
            user => DeadlineKind::Side(user.parse().ok()?),
        };
        Some(Deadline { call, kind })
    }
}

/// Deadlines a change sets (at unix milliseconds) and clears, and the one it
/// requires to be still due (a sweeper ending a call for it).
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    pub(crate) set: Vec<(Deadline, i64)>,
    pub(crate) clear: Vec<Deadline>,
    pub(crate) due: Option<(Deadline, i64)>,
}

/// Storage of the calls in progress (see the module docs).
pub(crate) trait CallStore: Send + Sync + 'static {
    /// Stores a new call unless one of its users is in a call already:
    /// `Ok(Some(user))` names the first busy one (the caller first) and
    /// stores nothing.
    fn create<'a>(
        &'a self,
        record: &'a CallRecord,
        deadlines: &'a [(Deadline, i64)],
    ) -> BoxFuture<'a, ChatResult<Option<UserId>>>;

    /// The call, if it is in progress or ended a short while ago.
    fn load<'a>(&'a self, id: &'a CallId) -> BoxFuture<'a, ChatResult<Option<CallRecord>>>;

    /// Replaces `old` by `new` if the stored record is still `old` (and the
    /// `due` deadline still due); applies the deadline changes. An ended
    /// `new` frees both users and is kept a short while. `false`: someone
    /// changed the call first.
    fn replace<'a>(
        &'a self,
        old: &'a CallRecord,
        new: &'a CallRecord,
        deadlines: &'a Deadlines,
    ) -> BoxFuture<'a, ChatResult<bool>>;

    /// Deadlines passed at `now` (unix milliseconds), at most `limit`.
    fn due(&self, now: i64, limit: usize) -> BoxFuture<'_, ChatResult<Vec<Deadline>>>;

    /// Drops deadlines whose call is gone.
    fn forget<'a>(&'a self, deadlines: &'a [Deadline]) -> BoxFuture<'a, ChatResult<()>>;

    /// Moves the deadlines of sides whose sockets are alive here to `at`
    /// (only those still set, never earlier); returns those no longer set
    /// (their calls ended). Only stores shared by instances need it.
    fn renew<'a>(
        &'a self,
        sides: &'a [Deadline],
        at: i64,
    ) -> BoxFuture<'a, ChatResult<Vec<Deadline>>>;

    /// Whether the live sides' deadlines must be renewed: a store shared by
    /// instances, where an instance may die without running its sockets'
    /// disconnect handlers.
    fn shared(&self) -> bool;
}

/// How long an ended call is remembered (a late `call:end` gets it back).
pub(crate) const ENDED_KEPT_MS: i64 = 60_000;

/// The calls of one instance, in memory.
#[derive(Default)]
pub(crate) struct LocalCalls {
    state: Mutex<LocalState>,
}

#[derive(Default)]
struct LocalState {
    calls: HashMap<CallId, (CallRecord, Option<i64>)>,
    users: HashMap<UserId, CallId>,
    by_time: BTreeSet<(i64, Deadline)>,
    deadlines: HashMap<Deadline, i64>,
}

impl LocalState {
    fn set_deadline(&mut self, deadline: Deadline, at: i64) {
        if let Some(old) = self.deadlines.insert(deadline.clone(), at) {
            self.by_time.remove(&(old, deadline.clone()));
        }
        self.by_time.insert((at, deadline));
    }

    fn clear_deadline(&mut self, deadline: &Deadline) {
        if let Some(old) = self.deadlines.remove(deadline) {
            self.by_time.remove(&(old, deadline.clone()));
        }
    }

    /// Drops ended calls kept long enough.
    fn expire(&mut self, now: i64) {
        self.calls
            .retain(|_, (_, gone_at)| gone_at.is_none_or(|at| at > now));
    }
}

impl LocalCalls {
    fn state(&self) -> std::sync::MutexGuard<'_, LocalState> {
        // Every change below leaves the maps consistent before it can panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl CallStore for LocalCalls {
    fn create<'a>(
        &'a self,
        record: &'a CallRecord,
        deadlines: &'a [(Deadline, i64)],
    ) -> BoxFuture<'a, ChatResult<Option<UserId>>> {
        Box::pin(async move {
            let mut state = self.state();
            state.expire(now_ms());
            for user in [record.call.caller_id, record.call.callee_id] {
                if state.users.contains_key(&user) {
                    return Ok(Some(user));
                }
            }
            state
                .users
                .insert(record.call.caller_id, record.call.id.clone());
            state
                .users
                .insert(record.call.callee_id, record.call.id.clone());
            state
                .calls
                .insert(record.call.id.clone(), (record.clone(), None));
            for (deadline, at) in deadlines {
                state.set_deadline(deadline.clone(), *at);
            }
            Ok(None)
        })
    }

    fn load<'a>(&'a self, id: &'a CallId) -> BoxFuture<'a, ChatResult<Option<CallRecord>>> {
        Box::pin(async move {
            let mut state = self.state();
            state.expire(now_ms());
            Ok(state.calls.get(id).map(|(record, _)| record.clone()))
        })
    }

    fn replace<'a>(
        &'a self,
        old: &'a CallRecord,
        new: &'a CallRecord,
        deadlines: &'a Deadlines,
    ) -> BoxFuture<'a, ChatResult<bool>> {
        Box::pin(async move {
            let mut state = self.state();
            let id = &old.call.id;
            if state.calls.get(id).map(|(r, _)| r) != Some(old) {
                return Ok(false);
            }
            if let Some((deadline, now)) = &deadlines.due
                && state.deadlines.get(deadline).is_none_or(|at| at > now)
            {
                return Ok(false);
            }
            for deadline in &deadlines.clear {
                state.clear_deadline(deadline);
            }
            for (deadline, at) in &deadlines.set {
                state.set_deadline(deadline.clone(), *at);
            }
            let kept_until = new.ended().then(|| now_ms() + ENDED_KEPT_MS);
            if new.ended() {
                for user in [new.call.caller_id, new.call.callee_id] {
                    if state.users.get(&user) == Some(id) {
                        state.users.remove(&user);
                    }
                }
            }
            state.calls.insert(id.clone(), (new.clone(), kept_until));
            Ok(true)
        })
    }

    fn due(&self, now: i64, limit: usize) -> BoxFuture<'_, ChatResult<Vec<Deadline>>> {
        Box::pin(async move {
            let state = self.state();
            Ok(state
                .by_time
                .iter()
                .take_while(|(at, _)| *at <= now)
                .take(limit)
                .map(|(_, d)| d.clone())
                .collect())
        })
    }

    fn forget<'a>(&'a self, deadlines: &'a [Deadline]) -> BoxFuture<'a, ChatResult<()>> {
        Box::pin(async move {
            let mut state = self.state();
            for deadline in deadlines {
                state.clear_deadline(deadline);
            }
            Ok(())
        })
    }

    fn renew<'a>(
        &'a self,
        _sides: &'a [Deadline],
        _at: i64,
    ) -> BoxFuture<'a, ChatResult<Vec<Deadline>>> {
        // One instance hears every disconnect itself: live sides have no deadline.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn shared(&self) -> bool {
        false
    }
}

/// A call of `caller` to `callee` that rings, its caller's socket `s1`, for tests.
#[cfg(test)]
pub(crate) fn ringing(caller: i64, callee: i64) -> CallRecord {
    use crate::ids::literal::{c, u};
    CallRecord {
        call: Call {
            id: CallId::new_random(),
            conversation_id: c(1),
            caller_id: u(caller),
            callee_id: u(callee),
            media: crate::model::CallMedia::Video,
            state: CallState::Ringing,
            started_at: chrono::Utc::now(),
            answered_at: None,
            ended_at: None,
            end_reason: None,
            duration_ms: 0,
        },
        caller_socket: Some("s1".into()),
        callee_socket: None,
        version: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::u;

    #[tokio::test]
    async fn a_user_is_in_one_call_at_a_time_until_it_ends() {
        let store = LocalCalls::default();
        let first = ringing(1, 2);
        assert_eq!(store.create(&first, &[]).await.ok(), Some(None));
        // The callee is busy, and so is the caller.
        assert_eq!(
            store.create(&ringing(3, 2), &[]).await.ok(),
            Some(Some(u(2)))
        );
        assert_eq!(
            store.create(&ringing(1, 3), &[]).await.ok(),
            Some(Some(u(1)))
        );
        let ended = first.next(|r| r.call.state = CallState::Ended);
        let changes = Deadlines::default();
        assert_eq!(
            store.replace(&first, &ended, &changes).await.ok(),
            Some(true)
        );
        // A stale record loses.
        assert_eq!(
            store.replace(&first, &ended, &changes).await.ok(),
            Some(false)
        );
        assert_eq!(store.create(&ringing(3, 2), &[]).await.ok(), Some(None));
        // The ended call is still readable for a while.
        let loaded = store.load(&first.call.id).await.ok().flatten();
        assert_eq!(loaded.map(|r| r.call.state), Some(CallState::Ended));
    }

    #[tokio::test]
    async fn deadlines_come_due_in_time_order_and_a_renewed_one_is_not_due() {
        let store = LocalCalls::default();
        let call = ringing(1, 2);
        let ring = Deadline::ring(&call.call.id);
        let side = Deadline::side(&call.call.id, u(1));
        store
            .create(&call, &[(ring.clone(), 100), (side.clone(), 50)])
            .await
            .ok();
        assert_eq!(store.due(75, 10).await.ok(), Some(vec![side.clone()]));
        assert_eq!(
            store.due(100, 10).await.ok(),
            Some(vec![side.clone(), ring.clone()])
        );
        // A change requiring the side's deadline to be due fails once it moved.
        let moved = Deadlines {
            set: vec![(side.clone(), 500)],
            ..Default::default()
        };
        let next = call.next(|_| {});
        assert_eq!(store.replace(&call, &next, &moved).await.ok(), Some(true));
        let fail = Deadlines {
            due: Some((side.clone(), 100)),
            ..Default::default()
        };
        let after = next.next(|_| {});
        assert_eq!(store.replace(&next, &after, &fail).await.ok(), Some(false));
        assert_eq!(Deadline::decode(&side.encode()), Some(side));
        assert_eq!(Deadline::decode(&ring.encode()), Some(ring));
        assert_eq!(Deadline::decode("xyz:ring"), None);
    }
}
