//! Online counts of groups and public rooms: how many members have a live
//! socket on any instance ([`ChatHandle::online_count`]), and the
//! `conversation:online_count` event ([`OnlineCount`]) telling the members
//! when it changes, at most once a second per group.
//!
//! Every instance keeps its own view of who is online anywhere (see
//! [`online`](crate::service::online)): the presence writer that sees a
//! user's presence change over all instances publishes the user's id, and
//! every instance's ticker reads those users' totals from Redis in one call.
//! Each instance then emits only to its own sockets, so every member socket
//! gets each event once whatever the number of instances, and every
//! instance, reading the same totals, ends on the same count.
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::ChatHandle;
use crate::error::{ChatError, ChatResult};
use crate::fanout::conversation_room;
use crate::ids::{ConversationId, UserId};
use crate::protocol as events;
use crate::service::online::Counted;
use crate::store::presence as store;

/// How often the ticker looks at what changed.
const TICK: Duration = Duration::from_millis(250);
/// Least time between two `conversation:online_count` events of a group.
pub(crate) const MIN_EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// Member sets loaded at once by a tick.
const LOAD_CONCURRENCY: usize = 16;

/// `conversation:online_count`: a group's members online on any instance.
///
/// ```
/// use chat_core::service::OnlineCount;
///
/// let event: OnlineCount = serde_json::from_str(r#"{"conversation_id": 42, "online_count": 17}"#)?;
/// assert_eq!((event.conversation_id.get(), event.online_count), (42, 17));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(ts_rs::TS, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct OnlineCount {
    /// The group.
    pub conversation_id: ConversationId,
    /// Members with a live socket on any instance.
    pub online_count: i64,
}

impl ChatHandle {
    /// How many members of a group (or public room) have a live socket on
    /// any instance; `None` for direct conversations and ids that name
    /// nothing. Read from memory: the count is kept up to date as presence
    /// changes, and counted from the cached member set the first time (which
    /// may cost one query). Members also receive
    /// [`CONVERSATION_ONLINE_COUNT`](crate::socket::events::CONVERSATION_ONLINE_COUNT)
    /// when it changes. The caller decides who may know it: this method
    /// checks no membership.
    ///
    /// ```no_run
    /// # async fn demo(chat: chat_core::ChatHandle, general: chat_core::ids::ConversationId) -> Result<(), chat_core::ChatError> {
    /// if let Some(online) = chat.online_count(general).await? {
    ///     println!("{online} online");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn online_count(&self, conversation_id: ConversationId) -> ChatResult<Option<i64>> {
        self.ensure_online_ticker();
        let online = &self.inner.online;
        if let Some(counted) = online.state().counts.get_mut(&conversation_id) {
            counted.used = Instant::now();
            return Ok(Some(i64::from(counted.count)));
        }
        let members = self
            .inner
            .membership
            .members(self.db(), conversation_id)
            .await?;
        if members.direct || members.ids.is_empty() {
            return Ok(None);
        }
        let mut state = online.state();
        let count = state.count(&members);
        // The ticker may have counted it meanwhile: its count is as recent.
        let counted = *state.counts.entry(conversation_id).or_insert(Counted {
            count,
            // The caller is about to read it: no event for this value.
            emitted: Some(count),
            last_emit: None,
            used: Instant::now(),
        });
        state.trim();
        Ok(Some(i64::from(counted.count)))
    }

    /// Notes users whose presence over all instances changed (every
    /// instance is told when clustered).
    pub(super) async fn online_changed(&self, users: &[UserId]) {
        self.inner.online.mark_changed_users(users.iter().copied());
        if let Some(cluster) = &self.inner.cluster {
            cluster.publish_presence_changes(users).await;
        }
    }

    /// Starts, on first use, the ticker keeping the online counts.
    pub(crate) fn ensure_online_ticker(&self) {
        let online = self.inner.online.clone();
        if online.started.swap(true, Ordering::AcqRel) {
            return;
        }
        online.request_resync();
        let weak = std::sync::Arc::downgrade(&self.inner);
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                if let Err(err) = ChatHandle::from_inner(inner).online_tick().await {
                    tracing::warn!(%err, "online counts not updated; retrying");
                }
            }
        });
    }

    /// One tick: resolves the marked users' presence, counts again the
    /// groups whose members' presence or membership changed, and emits the
    /// counts that changed to this instance's sockets (at most once per
    /// [`MIN_EVENT_INTERVAL`] per group).
    async fn online_tick(&self) -> ChatResult<()> {
        let online = &self.inner.online;
        let (dirty, resync, held_back) = {
            let mut state = online.state();
            (
                std::mem::take(&mut state.dirty),
                std::mem::take(&mut state.resync),
                state.held_back.clone(),
            )
        };
        let membership_changes = self.inner.membership.take_changes();
        if dirty.is_empty() && !resync && held_back.is_empty() && membership_changes.is_empty() {
            return Ok(());
        }
        // Who is online now, for the marked users or (on a resync) everyone.
        let resolved = if resync {
            self.resolve_everyone_online().await
        } else {
            self.resolve_online_of(&dirty).await
        };
        let resolved = match resolved {
            Ok(resolved) => resolved,
            Err(err) => {
                let mut state = online.state();
                state.dirty.extend(dirty);
                state.resync |= resync;
                return Err(err);
            }
        };
        let flips: Vec<UserId> = {
            let state = online.state();
            match &resolved {
                Resolved::All(all) => all.symmetric_difference(&state.online).copied().collect(),
                Resolved::Some(users) => users
                    .iter()
                    .filter(|(u, now)| state.online.contains(u) != *now)
                    .map(|(u, _)| *u)
                    .collect(),
            }
        };
        let mut groups: HashSet<ConversationId> = held_back;
        groups.extend(membership_changes.ids.iter().copied());
        if resync || membership_changes.all {
            groups.extend(online.state().counts.keys().copied());
        }
        for chunk in flips.chunks(store::MAX_USERS_PER_UPDATE) {
            match store::groups_of(self.db(), chunk).await {
                Ok(ids) => groups.extend(ids),
                Err(err) => {
                    // Nothing applied yet: all of it again next tick.
                    let mut state = online.state();
                    state.dirty.extend(dirty);
                    state.dirty.extend(flips);
                    state.resync |= resync;
                    state.held_back.extend(groups);
                    return Err(err.into());
                }
            }
        }
        let membership = &self.inner.membership;
        let loaded: Vec<_> = futures_util::stream::iter(groups)
            .map(|id| async move { (id, membership.members(self.db(), id).await) })
            .buffer_unordered(LOAD_CONCURRENCY)
            .collect()
            .await;
        let now = Instant::now();
        let mut emits = Vec::new();
        {
            let mut state = online.state();
            match resolved {
                Resolved::All(all) => state.online = all,
                Resolved::Some(users) => {
                    for (user_id, is_online) in users {
                        if is_online {
                            state.online.insert(user_id);
                        } else {
                            state.online.remove(&user_id);
                        }
                    }
                }
            }
            for (id, members) in loaded {
                let members = match members {
                    Ok(members) => members,
                    Err(err) => {
                        tracing::warn!(%err, conversation_id = %id, "members not read for the online count");
                        state.held_back.insert(id);
                        continue;
                    }
                };
                if members.direct || members.ids.is_empty() {
                    state.counts.remove(&id);
                    state.held_back.remove(&id);
                    continue;
                }
                let count = state.count(&members);
                let counted = state.counts.entry(id).or_insert(Counted {
                    count,
                    emitted: None,
                    last_emit: None,
                    used: now,
                });
                counted.count = count;
                counted.used = now;
                let wait_over = counted
                    .last_emit
                    .is_none_or(|at| now.duration_since(at) >= MIN_EVENT_INTERVAL);
                let hold = if counted.emitted == Some(count) {
                    false
                } else if wait_over {
                    counted.emitted = Some(count);
                    counted.last_emit = Some(now);
                    emits.push(OnlineCount {
                        conversation_id: id,
                        online_count: i64::from(count),
                    });
                    false
                } else {
                    true
                };
                if hold {
                    state.held_back.insert(id);
                } else {
                    state.held_back.remove(&id);
                }
            }
            state.trim();
        }
        for event in emits {
            self.emit_local(
                conversation_room(event.conversation_id),
                events::CONVERSATION_ONLINE_COUNT,
                &event,
            )
            .await;
        }
        Ok(())
    }

    /// Everyone online on any instance.
    async fn resolve_everyone_online(&self) -> ChatResult<Resolved> {
        match &self.inner.cluster {
            Some(cluster) => Ok(Resolved::All(
                cluster.online_users().await.map_err(adapter_error)?,
            )),
            None => Ok(Resolved::All(
                self.inner.presence.online_users().into_iter().collect(),
            )),
        }
    }

    /// The presence over all instances of `users`.
    async fn resolve_online_of(&self, users: &HashSet<UserId>) -> ChatResult<Resolved> {
        let local = &self.inner.presence;
        match &self.inner.cluster {
            Some(cluster) => {
                let users: Vec<UserId> = users.iter().copied().collect();
                let totals = cluster.totals(&users).await.map_err(adapter_error)?;
                Ok(Resolved::Some(
                    users
                        .into_iter()
                        .zip(totals)
                        .map(|(u, t)| (u, t > 0))
                        .collect(),
                ))
            }
            None => Ok(Resolved::Some(
                users.iter().map(|&u| (u, local.is_online(u))).collect(),
            )),
        }
    }
}

fn adapter_error(err: crate::cluster::ClusterError) -> ChatError {
    ChatError::Adapter(err.to_string())
}

/// Presence read by a tick.
enum Resolved {
    /// Everyone online.
    All(HashSet<UserId>),
    /// These users, online or not.
    Some(Vec<(UserId, bool)>),
}
