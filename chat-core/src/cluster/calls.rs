//! Calls shared by every instance: [`RedisCalls`], the Redis side of
//! [`CallStore`]. A call is a hash (`v`: version, `r`: the record as JSON)
//! with an expiry; each user in a call has a key naming it (one call per
//! user, checked and taken in one script); deadlines are a sorted set by
//! time. Every change is one script: compare the version, then write the
//! record, the users' keys and the deadlines together.
use fred::clients::Client;
use fred::interfaces::SortedSetsInterface;
use fred::types::Value;
use fred::types::scripts::Script;

use super::keys::Keys;
use crate::error::{ChatError, ChatResult};
use crate::fanout::emitter::BoxFuture;
use crate::ids::UserId;
use crate::model::CallId;
use crate::service::calls::store::{CallRecord, CallStore, Deadline, Deadlines, ENDED_KEPT_MS};

/// How long a call in progress is kept without a change: the longest call.
pub(crate) const LIVE_KEPT_MS: i64 = 24 * 3600 * 1000;

/// KEYS: call, caller's key, callee's key, deadlines. ARGV: record, version,
/// expiry (ms), call id, then deadline member/score pairs. Returns 0, or 1/2
/// when the caller/callee is in a call already.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
for i = 5, #ARGV, 2 do redis.call('ZADD', KEYS[4], ARGV[i + 1], ARGV[i]) end
return 0
";

/// KEYS: call, caller's key, callee's key, deadlines. ARGV: expected
/// version, new version, new record, expiry (ms), ended (1/0), call id,
/// deadline that must be due ('' for none), now, count of deadlines to
/// clear, those, then member/score pairs to set. Returns 1 when replaced.
const REPLACE: &str = r"
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
if ARGV[7] ~= '' then
  local at = redis.call('ZSCORE', KEYS[4], ARGV[7])
  if not at or tonumber(at) > tonumber(ARGV[8]) then return 0 end
end
local n = tonumber(ARGV[9])
for i = 10, 9 + n do redis.call('ZREM', KEYS[4], ARGV[i]) end
for i = 10 + n, #ARGV, 2 do redis.call('ZADD', KEYS[4], ARGV[i + 1], ARGV[i]) end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
for k = 2, 3 do
  if redis.call('GET', KEYS[k]) == ARGV[6] then
    if ARGV[5] == '1' then redis.call('DEL', KEYS[k]) else redis.call('PEXPIRE', KEYS[k], ARGV[4]) end
  end
end
return 1
";

/// KEYS: deadlines. ARGV: new time, then members. Moves the members still
/// set to the new time (never earlier); returns those not set.
const RENEW: &str = r"
local gone = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[i])
  else
    table.insert(gone, ARGV[i])
  end
end
return gone
";

/// The calls of every instance, in Redis.
pub(crate) struct RedisCalls {
    client: Client,
    keys: Keys,
    create: Script,
    replace: Script,
    renew: Script,
}

impl RedisCalls {
    pub(crate) fn new(client: Client, keys: Keys) -> Self {
        RedisCalls {
            client,
            keys,
            create: Script::from_lua(CREATE),
            replace: Script::from_lua(REPLACE),
            renew: Script::from_lua(RENEW),
        }
    }

    fn user_keys(&self, record: &CallRecord) -> [String; 2] {
        [
            self.keys.user_call(record.call.caller_id),
            self.keys.user_call(record.call.callee_id),
        ]
    }
}

fn redis(err: fred::error::Error) -> ChatError {
    ChatError::Adapter(format!("redis: {err}"))
}

fn json(record: &CallRecord) -> ChatResult<String> {
    serde_json::to_string(record).map_err(|e| ChatError::Adapter(e.to_string()))
}

impl CallStore for RedisCalls {
    fn create<'a>(
        &'a self,
        record: &'a CallRecord,
        deadlines: &'a [(Deadline, i64)],
    ) -> BoxFuture<'a, ChatResult<Option<UserId>>> {
        Box::pin(async move {
            let [caller_key, callee_key] = self.user_keys(record);
            let keys = vec![
                self.keys.call(&record.call.id),
                caller_key,
                callee_key,
                self.keys.call_deadlines(),
            ];
            let mut args = vec![
                json(record)?,
                record.version.to_string(),
                LIVE_KEPT_MS.to_string(),
                record.call.id.to_string(),
            ];
            for (deadline, at) in deadlines {
                args.push(deadline.encode());
                args.push(at.to_string());
            }
            let busy: i64 = self
                .create
                .evalsha_with_reload(&self.client, keys, args)
                .await
                .map_err(redis)?;
            Ok(match busy {
                1 => Some(record.call.caller_id),
                2 => Some(record.call.callee_id),
                _ => None,
            })
        })
    }

    fn load<'a>(&'a self, id: &'a CallId) -> BoxFuture<'a, ChatResult<Option<CallRecord>>> {
        Box::pin(async move {
            use fred::interfaces::HashesInterface;
            let raw: Option<String> = self
                .client
                .hget(self.keys.call(id), "r")
                .await
                .map_err(redis)?;
            Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
        })
    }

    fn replace<'a>(
        &'a self,
        old: &'a CallRecord,
        new: &'a CallRecord,
        deadlines: &'a Deadlines,
    ) -> BoxFuture<'a, ChatResult<bool>> {
        Box::pin(async move {
            let [caller_key, callee_key] = self.user_keys(old);
            let keys = vec![
                self.keys.call(&old.call.id),
                caller_key,
                callee_key,
                self.keys.call_deadlines(),
            ];
            let (due, now) = match &deadlines.due {
                Some((deadline, now)) => (deadline.encode(), now.to_string()),
                None => (String::new(), "0".to_owned()),
            };
            let kept = if new.ended() {
                ENDED_KEPT_MS
            } else {
                LIVE_KEPT_MS
            };
            let mut args = vec![
                old.version.to_string(),
                new.version.to_string(),
                json(new)?,
                kept.to_string(),
                if new.ended() { "1" } else { "0" }.to_owned(),
                old.call.id.to_string(),
                due,
                now,
                deadlines.clear.len().to_string(),
            ];
            args.extend(deadlines.clear.iter().map(Deadline::encode));
            for (deadline, at) in &deadlines.set {
                args.push(deadline.encode());
                args.push(at.to_string());
            }
            let replaced: i64 = self
                .replace
                .evalsha_with_reload(&self.client, keys, args)
                .await
                .map_err(redis)?;
            Ok(replaced == 1)
        })
    }

    fn due(&self, now: i64, limit: usize) -> BoxFuture<'_, ChatResult<Vec<Deadline>>> {
        Box::pin(async move {
            let members: Vec<String> = self
                .client
                .zrangebyscore(
                    self.keys.call_deadlines(),
                    "-inf",
                    now,
                    false,
                    Some((0, i64::try_from(limit).unwrap_or(i64::MAX))),
                )
                .await
                .map_err(redis)?;
            Ok(members.iter().filter_map(|m| Deadline::decode(m)).collect())
        })
    }

    fn forget<'a>(&'a self, deadlines: &'a [Deadline]) -> BoxFuture<'a, ChatResult<()>> {
        Box::pin(async move {
            if deadlines.is_empty() {
                return Ok(());
            }
            let members: Vec<String> = deadlines.iter().map(Deadline::encode).collect();
            let _: i64 = self
                .client
                .zrem(self.keys.call_deadlines(), members)
                .await
                .map_err(redis)?;
            Ok(())
        })
    }

    fn renew<'a>(
        &'a self,
        sides: &'a [Deadline],
        at: i64,
    ) -> BoxFuture<'a, ChatResult<Vec<Deadline>>> {
        Box::pin(async move {
            if sides.is_empty() {
                return Ok(Vec::new());
            }
            let mut args = vec![at.to_string()];
            args.extend(sides.iter().map(Deadline::encode));
            let gone: Value = self
                .renew
                .evalsha_with_reload(&self.client, vec![self.keys.call_deadlines()], args)
                .await
                .map_err(redis)?;
            let gone = match gone {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            Ok(gone
                .iter()
                .filter_map(|v| v.as_str().and_then(|s| Deadline::decode(&s)))
                .collect())
        })
    }

    fn shared(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::literal::u;
    use crate::model::CallState;
    use crate::service::calls::store::ringing as record;
    use fred::interfaces::ClientLike as _;

    async fn store() -> RedisCalls {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = fred::clients::Client::new(
            super::super::connection::fred_config(&url).expect("config"),
            None,
            None,
            None,
        );
        client.init().await.expect("redis");
        let prefix = format!("calls_test_{:08x}", rand::random::<u32>());
        RedisCalls::new(client, Keys::new(&prefix))
    }

    /// Deletes what a test wrote.
    async fn clean(store: &RedisCalls) {
        use fred::interfaces::{ClientLike, KeysInterface};
        let keys: Vec<String> = store
            .client
            .custom(fred::cmd!("KEYS"), vec![store.keys.everything()])
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = store.client.del(keys).await;
        }
    }

    #[tokio::test]
    async fn of_two_racing_changes_exactly_one_wins_and_an_ended_call_frees_its_users() {
        let store = store().await;
        let call = record(1, 2);
        let ring = Deadline::ring(&call.call.id);
        assert_eq!(
            store.create(&call, &[(ring.clone(), 1_000)]).await.ok(),
            Some(None)
        );
        assert_eq!(
            store.create(&record(3, 2), &[]).await.ok(),
            Some(Some(u(2)))
        );
        assert_eq!(
            store.create(&record(1, 4), &[]).await.ok(),
            Some(Some(u(1)))
        );
        assert_eq!(
            store.load(&call.call.id).await.ok().flatten(),
            Some(call.clone())
        );

        // An accept and an end, from the same record, at once: one wins.
        let accepted = call.next(|r| r.call.state = CallState::Active);
        let ended = call.next(|r| r.call.state = CallState::Ended);
        let clear = Deadlines {
            clear: Deadline::all_of(&call.call),
            ..Default::default()
        };
        let (a, b) = tokio::join!(
            store.replace(&call, &accepted, &clear),
            store.replace(&call, &ended, &clear)
        );
        let wins = [a.ok(), b.ok()];
        assert_eq!(
            wins.iter().filter(|w| **w == Some(true)).count(),
            1,
            "{wins:?}"
        );
        assert_eq!(store.due(i64::MAX, 10).await.ok(), Some(Vec::new()));

        // Whichever won, ending it frees both users.
        let now = store
            .load(&call.call.id)
            .await
            .ok()
            .flatten()
            .expect("kept");
        let end = now.next(|r| r.call.state = CallState::Ended);
        if !now.ended() {
            assert_eq!(store.replace(&now, &end, &clear).await.ok(), Some(true));
        }
        assert_eq!(store.create(&record(3, 2), &[]).await.ok(), Some(None));
        assert_eq!(store.create(&record(1, 4), &[]).await.ok(), Some(None));
        clean(&store).await;
    }

    #[tokio::test]
    async fn a_side_renewed_in_time_is_not_due_and_renewal_reports_ended_calls() {
        let store = store().await;
        let call = record(5, 6);
        let side = Deadline::side(&call.call.id, u(5));
        store.create(&call, &[(side.clone(), 100)]).await.ok();
        assert_eq!(store.due(150, 10).await.ok(), Some(vec![side.clone()]));
        // Renewed: later, never earlier.
        assert_eq!(
            store.renew(std::slice::from_ref(&side), 500).await.ok(),
            Some(Vec::new())
        );
        assert_eq!(
            store.renew(std::slice::from_ref(&side), 200).await.ok(),
            Some(Vec::new())
        );
        assert_eq!(store.due(450, 10).await.ok(), Some(Vec::new()));
        // A sweeper that read it as due before the renewal cannot fail the call.
        let failed = call.next(|r| r.call.state = CallState::Ended);
        let guarded = Deadlines {
            due: Some((side.clone(), 150)),
            ..Default::default()
        };
        assert_eq!(
            store.replace(&call, &failed, &guarded).await.ok(),
            Some(false)
        );
        // Once due again, it can.
        let guarded = Deadlines {
            due: Some((side.clone(), 600)),
            clear: vec![side.clone()],
            ..Default::default()
        };
        assert_eq!(
            store.replace(&call, &failed, &guarded).await.ok(),
            Some(true)
        );
        assert_eq!(
            store.renew(std::slice::from_ref(&side), 900).await.ok(),
            Some(vec![side])
        );
        clean(&store).await;
    }
}
