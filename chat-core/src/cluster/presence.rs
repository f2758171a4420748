//! Presence over all instances: the protocol (the [`WRITE_PRESENCE`] script
//! and the counts it keeps) and its writer side. Socket events only mark
//! their user in [`PendingPresence`]; the one writer task of the instance
//! calls [`Cluster::flush_presence`], which writes the marked users'
//! absolute counts in batches and reports who went online or offline over
//! all instances. Liveness and reaping are in [`reaper`](super::reaper).
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use fred::interfaces::{HashesInterface, KeysInterface};
use fred::types::Value;

use super::{Cluster, ClusterError};
use crate::ids::UserId;
use crate::service::presence::LocalPresence;

/// Users written to Redis in one script call: large enough that a burst of
/// thousands of sockets takes a handful of calls, small enough that one call
/// holds Redis for a few milliseconds only.
const PRESENCE_BATCH: usize = 1000;

/// Writes this instance's socket counts of many users at once and returns,
/// per user, the user's total over all instances before and after.
///
/// The counts are absolute (what this instance has now), not deltas, and a
/// call that timed out (it may or may not have run) is sent again as it was:
/// the batch's sequence number makes the script answer what it answered the
/// first time (the transitions happened then; computed again they would be
/// lost when another instance changed the user's total meanwhile), and drop a
/// call older than the last (a command replayed after a reconnect).
/// "Before" is taken from what the instance believes it had written, so after
/// Redis lost its data a restored user is no transition, and a user who closed
/// their last socket meanwhile still is one.
///
/// Returns `rebuild` instead, changing nothing, when this instance's heartbeat
/// key is missing (Redis lost its data or a survivor reaped this instance):
/// every user must then be written, with `ARGV[2] == '1'`, which registers the
/// instance again.
///
/// KEYS: alive, instance hash, batch state, instances set, reap lock, then one
/// count key per user. ARGV: seq, rebuild flag, TTL in ms, instance id, then
/// (user, sockets here now, sockets here last written) per user.
pub(super) const WRITE_PRESENCE: &str = r#"
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], 1, 'PX', ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[4])
  redis.call('DEL', KEYS[5])
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  return 'rebuild'
end
local seq = tonumber(ARGV[1])
local last = tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
if seq == last then return cjson.decode(redis.call('HGET', KEYS[3], 'result')) end
if seq < last then return {} end
local out = {}
for i = 6, #KEYS do
  local a = 5 + (i - 6) * 3
  local user = ARGV[a]
  local wanted = tonumber(ARGV[a + 1])
  local believed = tonumber(ARGV[a + 2])
  local recorded = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  local total
  if wanted ~= recorded then
    if wanted == 0 then
      redis.call('HDEL', KEYS[2], user)
    else
      redis.call('HSET', KEYS[2], user, wanted)
    end
    total = redis.call('INCRBY', KEYS[i], wanted - recorded)
    if total == 0 then redis.call('DEL', KEYS[i]) end
  else
    total = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  out[#out + 1] = total - (wanted - believed)
  out[#out + 1] = total
end
redis.call('HSET', KEYS[3], 'seq', ARGV[1], 'result', cjson.encode(out))
return out
"#;

/// Users whose sockets on this instance changed since their counts were last
/// written to Redis. Socket events only mark the user here; one writer task
/// ([`Cluster::flush_presence`]) writes the marked users in batches, so a
/// burst of thousands of sockets opening or closing is a few Redis calls
/// instead of thousands queued behind each other (which timed out).
#[derive(Default)]
pub(crate) struct PendingPresence {
    /// User id -> username (for the announcement).
    users: std::sync::Mutex<HashMap<UserId, String>>,
    /// Everything must be written again (Redis lost this instance's counts).
    rebuild: AtomicBool,
    /// The writer is writing (for a shutdown waiting until all is written).
    writing: AtomicBool,
    /// Batches of changes written but not yet announced.
    pub(crate) announcing: std::sync::atomic::AtomicUsize,
    /// Wakes the writer.
    pub(crate) wake: tokio::sync::Notify,
}

impl PendingPresence {
    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, String>> {
        // A panic while holding the lock left a valid map.
        self.users.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mark_changed(&self, user_id: UserId, username: &str) {
        self.users()
            .entry(user_id)
            .or_insert_with(|| username.to_owned());
        self.wake.notify_one();
    }

    pub(super) fn request_rebuild(&self) {
        self.rebuild.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Whether something waits to be written.
    pub(crate) fn has_work(&self) -> bool {
        self.rebuild.load(Ordering::Acquire) || !self.users().is_empty()
    }

    /// Whether everything marked so far is in Redis and announced.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        !self.has_work()
            && !self.writing.load(Ordering::Acquire)
            && self.announcing.load(Ordering::Acquire) == 0
    }
}

/// A user's first socket over all instances opened (`online`), or their last
/// closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PresenceChange {
    pub(crate) user_id: UserId,
    pub(crate) username: String,
    pub(crate) online: bool,
}

/// The writer's memory of what it wrote: owned by the one writer task.
#[derive(Default)]
pub(crate) struct PresenceWriter {
    /// Sockets per user as last written to this instance's hash.
    written: HashMap<UserId, usize>,
    /// Usernames of the users in `written` or pending.
    names: HashMap<UserId, String>,
    seq: u64,
    /// A batch whose call failed: sent again, unchanged, before anything else.
    retry: Option<Batch>,
}

impl PresenceWriter {
    /// Whether a failed batch waits to be sent again.
    pub(crate) fn has_retry(&self) -> bool {
        self.retry.is_some()
    }
}

/// One script call's worth of users.
struct Batch {
    seq: u64,
    rebuild: bool,
    /// (user, sockets here now, sockets here last written).
    counts: Vec<(UserId, usize, usize)>,
}

/// What one script call answered.
enum Written {
    /// (before, after) totals per user, in the order sent.
    Totals(Vec<(i64, i64)>),
    /// The heartbeat key is missing: write everything again.
    Rebuild,
}

impl Cluster {
    /// Notes that a socket of the user opened or closed here (the local count
    /// is already updated); the writer task brings Redis up to date and
    /// announces the user when their presence over all instances changed.
    pub(crate) fn socket_changed(&self, user_id: UserId, username: &str) {
        self.pending.mark_changed(user_id, username);
    }

    /// Writes the pending users' counts (all users' on a rebuild) to Redis in
    /// batches and pushes onto `changes` the users whose presence over all
    /// instances changed. Only one task may call it (it owns `writer`).
    ///
    /// On an error the users not yet written are pending again, with their
    /// then current counts: nothing is lost, and since counts are absolute a
    /// batch that timed out but ran is not counted twice.
    pub(crate) async fn flush_presence(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        self.pending.writing.store(true, Ordering::Release);
        let result = self.flush_presence_once(local, writer, changes).await;
        // A batch to send again is not written yet.
        self.pending
            .writing
            .store(writer.retry.is_some(), Ordering::Release);
        result
    }

    async fn flush_presence_once(
        &self,
        local: &LocalPresence,
        writer: &mut PresenceWriter,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<(), ClusterError> {
        if let Some(batch) = writer.retry.take()
            && !self.send_batch(writer, batch, changes).await?
        {
            return Ok(());
        }
        let rebuild = self.pending.rebuild.swap(false, Ordering::AcqRel);
        // Taken before the local counts are read: a socket event after this
        // marks its user again, so no change is missed.
        let taken = std::mem::take(&mut *self.pending.users());
        let mut users: Vec<UserId> = taken.keys().copied().collect();
        writer.names.extend(taken);
        if rebuild {
            let recorded: HashMap<String, i64> = match self
                .client
                .hgetall(self.keys.instance_counts(&self.instance))
                .await
            {
                Ok(recorded) => recorded,
                Err(err) => {
                    self.requeue(writer, &users, true);
                    return Err(err.into());
                }
            };
            // A survivor took this instance for dead (a stall) and announced
            // its users offline: nothing of what it wrote is left, and the
            // users still here are announced online again.
            let reaper: Result<Option<String>, _> =
                self.client.get(self.keys.reap(&self.instance)).await;
            let reaped = match reaper {
                Ok(reaper) => reaper.is_some(),
                Err(err) => {
                    self.requeue(writer, &users, true);
                    return Err(err.into());
                }
            };
            let mut all: std::collections::HashSet<UserId> = users.drain(..).collect();
            all.extend(recorded.keys().filter_map(|u| u.parse::<UserId>().ok()));
            all.extend(writer.written.keys().copied());
            all.extend(local.counts().into_iter().map(|(user_id, _)| user_id));
            users = all.into_iter().collect();
            if reaped {
                tracing::warn!("this instance was reaped: announcing its users again");
                writer.written.clear();
            }
            tracing::info!(users = users.len(), "rewriting presence counts in redis");
        }
        let mut first = true;
        let mut done = 0;
        while first || done < users.len() {
            let chunk = &users[done..(done + PRESENCE_BATCH).min(users.len())];
            writer.seq += 1;
            let batch = Batch {
                seq: writer.seq,
                rebuild: rebuild && first,
                counts: chunk
                    .iter()
                    .map(|&user_id| {
                        let written = writer.written.get(&user_id).copied().unwrap_or(0);
                        (user_id, local.sockets(user_id), written)
                    })
                    .collect(),
            };
            first = false;
            done += chunk.len();
            let sent = self.send_batch(writer, batch, changes).await;
            if !matches!(sent, Ok(true)) {
                self.requeue(writer, &users[done..], false);
                return sent.map(|_| ());
            }
        }
        Ok(())
    }

    /// Sends one batch and records its answer; returns whether the writer may
    /// go on. A failed batch is kept to be sent again as it is; when the
    /// heartbeat key is missing, its users are pending again for a rebuild.
    async fn send_batch(
        &self,
        writer: &mut PresenceWriter,
        batch: Batch,
        changes: &mut Vec<PresenceChange>,
    ) -> Result<bool, ClusterError> {
        match self.write_batch(&batch).await {
            Ok(Written::Totals(totals)) => {
                for (&(user_id, wanted, _), &(before, after)) in batch.counts.iter().zip(&totals) {
                    self.record(writer, user_id, wanted, before, after, changes);
                }
                Ok(true)
            }
            Ok(Written::Rebuild) => {
                let users: Vec<UserId> = batch.counts.iter().map(|c| c.0).collect();
                self.requeue(writer, &users, true);
                Ok(false)
            }
            Err(err) => {
                writer.retry = Some(batch);
                Err(err)
            }
        }
    }

    /// The users' sockets over all instances, as Redis has them now.
    pub(crate) async fn totals(&self, users: &[UserId]) -> Result<Vec<i64>, ClusterError> {
        let mut totals = Vec::with_capacity(users.len());
        for chunk in users.chunks(PRESENCE_BATCH) {
            let keys: Vec<String> = chunk.iter().map(|&u| self.keys.count(u)).collect();
            let values: Vec<Option<i64>> = self.client.mget(keys).await?;
            totals.extend(values.into_iter().map(|v| v.unwrap_or(0)));
        }
        Ok(totals)
    }

    /// Every user with a live socket on some instance: the users named in the
    /// instances' hashes whose total is above zero.
    pub(crate) async fn online_users(
        &self,
    ) -> Result<std::collections::HashSet<UserId>, ClusterError> {
        use fred::interfaces::SetsInterface;
        let instances: Vec<String> = self.client.smembers(self.keys.instances()).await?;
        let mut named = std::collections::HashSet::new();
        for instance in instances {
            let users: Vec<String> = self
                .client
                .hkeys(self.keys.instance_counts(&instance))
                .await?;
            named.extend(users.iter().filter_map(|u| u.parse::<UserId>().ok()));
        }
        let named: Vec<UserId> = named.into_iter().collect();
        let totals = self.totals(&named).await?;
        Ok(named
            .into_iter()
            .zip(totals)
            .filter(|&(_, total)| total > 0)
            .map(|(user_id, _)| user_id)
            .collect())
    }

    /// Marks users pending again after a failed or refused write.
    fn requeue(&self, writer: &PresenceWriter, users: &[UserId], rebuild: bool) {
        {
            let mut pending = self.pending.users();
            for user_id in users {
                if let Some(name) = writer.names.get(user_id) {
                    pending.entry(*user_id).or_insert_with(|| name.clone());
                }
            }
        }
        if rebuild {
            self.pending.request_rebuild();
        }
    }

    /// Remembers what was written for a user and whether their presence over
    /// all instances changed.
    fn record(
        &self,
        writer: &mut PresenceWriter,
        user_id: UserId,
        wanted: usize,
        before: i64,
        after: i64,
        changes: &mut Vec<PresenceChange>,
    ) {
        let online = match (before > 0, after > 0) {
            (false, true) => Some(true),
            (true, false) => Some(false),
            _ => None,
        };
        let username = if wanted == 0 {
            writer.written.remove(&user_id);
            writer.names.remove(&user_id)
        } else {
            writer.written.insert(user_id, wanted);
            writer.names.get(&user_id).cloned()
        };
        if let (Some(online), Some(username)) = (online, username) {
            changes.push(PresenceChange {
                user_id,
                username,
                online,
            });
        }
    }

    async fn write_batch(&self, batch: &Batch) -> Result<Written, ClusterError> {
        let counts = &batch.counts;
        let mut keys = Vec::with_capacity(counts.len() + 5);
        keys.push(self.keys.alive(&self.instance));
        keys.push(self.keys.instance_counts(&self.instance));
        keys.push(self.keys.batch(&self.instance));
        keys.push(self.keys.instances());
        keys.push(self.keys.reap(&self.instance));
        let mut args = Vec::with_capacity(counts.len() * 3 + 4);
        args.push(batch.seq.to_string());
        args.push(if batch.rebuild { "1" } else { "0" }.to_owned());
        args.push(self.ttl.as_millis().to_string());
        args.push(self.instance.clone());
        for &(user_id, wanted, written) in counts.iter() {
            keys.push(self.keys.count(user_id));
            args.push(user_id.to_string());
            args.push(wanted.to_string());
            args.push(written.to_string());
        }
        let reply: Value = self
            .write_presence
            .evalsha_with_reload(&self.client, keys, args)
            .await?;
        let items = match reply {
            Value::Array(items) => items,
            // An empty table may come back as nil.
            Value::Null => Vec::new(),
            other if other.as_str().as_deref() == Some("rebuild") => return Ok(Written::Rebuild),
            other => return Err(unexpected_reply(&other)),
        };
        let numbers: Option<Vec<i64>> = items.iter().map(Value::as_i64).collect();
        let numbers = match numbers {
            Some(numbers) if numbers.len() == counts.len() * 2 => numbers,
            _ => return Err(unexpected_reply(&Value::Array(items))),
        };
        Ok(Written::Totals(
            numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
        ))
    }
}

fn unexpected_reply(reply: &Value) -> ClusterError {
    ClusterError::Redis(fred::error::Error::new(
        fred::error::ErrorKind::Parse,
        format!("unexpected presence script reply: {reply:?}"),
    ))
}
