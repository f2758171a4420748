//! The presence protocol in Redis: the [`WRITE_PRESENCE`] script, what one
//! call of it sends ([`Batch`]) and what it answers ([`Written`]).
use fred::types::Value;

use crate::cluster::{Cluster, ClusterError};
use crate::ids::UserId;

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
pub(in crate::cluster) const WRITE_PRESENCE: &str = r#"
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

/// One script call's worth of users.
pub(super) struct Batch {
    pub(super) seq: u64,
    pub(super) rebuild: bool,
    /// (user, sockets here now, sockets here last written).
    pub(super) counts: Vec<(UserId, usize, usize)>,
}

/// What one script call answered.
pub(super) enum Written {
    /// (before, after) totals per user, in the order sent.
    Totals(Vec<(i64, i64)>),
    /// The heartbeat key is missing: write everything again.
    Rebuild,
}

impl Cluster {
    /// Runs [`WRITE_PRESENCE`] for one batch.
    pub(super) async fn write_batch(&self, batch: &Batch) -> Result<Written, ClusterError> {
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
