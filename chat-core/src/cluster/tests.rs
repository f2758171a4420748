//! Presence over several instances on a real Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`), each test under its own key prefix.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use fred::interfaces::{ClientLike, HashesInterface, KeysInterface, LuaInterface};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveValue::Set, Database, EntityTrait};

use super::RedisConfig;
use crate::entity::user;
use crate::ids::UserId;
use crate::socket::auth::Identity;
use crate::testing::TestDb;
use crate::{ChatCore, ChatHandle};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn instance(test_db: &TestDb, url: &str, prefix: &str) -> ChatHandle {
    let db = Database::connect(&test_db.url).await.expect("connect");
    let redis = RedisConfig {
        prefix: prefix.to_owned(),
        ..RedisConfig::new(url)
    };
    ChatCore::builder(db)
        .build_with_redis(redis)
        .await
        .expect("redis engine")
        .1
}

/// A plain client without command timeout, for looking at what the
/// instances wrote.
async fn client(url: &str) -> fred::clients::Client {
    let redis = fred::clients::Client::new(
        super::connection::fred_config(url).expect("config"),
        None,
        None,
        None,
    );
    redis.init().await.expect("redis");
    redis
}

/// A migrated database.
async fn database() -> TestDb {
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    test_db
}

/// `count` users in one go (the handle creates them one by one: too slow here).
async fn users(chat: &ChatHandle, count: usize) -> Vec<Identity> {
    let tag = format!("{:08x}", rand::random::<u32>());
    let mut ids = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|n| {
            let name = format!("burst_{tag}_{n}");
            user::ActiveModel {
                username: Set(name.clone()),
                username_key: Set(name.clone()),
                email: Set(format!("{name}@example.com")),
                password_hash: Set(String::new()),
                avatar_url: Set(None),
                status: Set("offline".to_owned()),
                last_seen: Set(None),
                created_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
        });
        user::Entity::insert_many(rows)
            .exec(chat.db())
            .await
            .expect("insert users");
    }
    let prefix = format!("burst_{tag}_");
    let mut rows = user::Entity::find().all(chat.db()).await.expect("users");
    rows.retain(|u| u.username.starts_with(&prefix));
    rows.sort_by_key(|u| u.id);
    for row in rows {
        ids.push(Identity {
            user_id: row.typed_id(),
            username: row.username,
            session_id: None,
            expires_at: None,
        });
    }
    assert_eq!(ids.len(), count);
    ids
}

/// One socket event per entry, all at once, through the path sockets take;
/// returns how many presence updates failed.
async fn burst(events: Vec<(ChatHandle, Identity, Vec<bool>)>) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for (chat, identity, steps) in events {
        tasks.spawn(async move {
            let mut failed = 0;
            for opened in steps {
                let updated = if opened {
                    chat.socket_opened(&identity).await
                } else {
                    chat.socket_closed(&identity).await
                };
                if let Err(err) = updated {
                    tracing::error!(%err, "presence update failed");
                    failed += 1;
                }
            }
            failed
        });
    }
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        failed += done.expect("task");
    }
    failed
}

/// What Redis and the database say about each user, compared with `want`
/// (sockets per user over all instances); the differences, empty when right.
async fn differences(
    redis: &fred::clients::Client,
    prefix: &str,
    chats: &[&ChatHandle],
    want: &HashMap<UserId, usize>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let status: HashMap<UserId, String> = user::Entity::find()
        .all(chats[0].db())
        .await
        .expect("users")
        .into_iter()
        .map(|u| (u.typed_id(), u.status))
        .collect();
    let mut per_instance: HashMap<UserId, i64> = HashMap::new();
    for chat in chats {
        let Some(cluster) = &chat.inner.cluster else {
            panic!("not clustered")
        };
        let recorded: HashMap<String, i64> = redis
            .hgetall(cluster.keys.instance_counts(&cluster.instance))
            .await
            .expect("hgetall");
        for (user, sockets) in recorded {
            if let Ok(id) = user.parse::<UserId>() {
                *per_instance.entry(id).or_default() += sockets;
            }
        }
    }
    let users: Vec<UserId> = want.keys().copied().collect();
    let mut totals = HashMap::new();
    for chunk in users.chunks(1000) {
        let keys: Vec<String> = chunk
            .iter()
            .map(|&id| super::keys::Keys::new(prefix).count(id))
            .collect();
        let values: Vec<Option<i64>> = redis.mget(keys).await.expect("mget");
        totals.extend(chunk.iter().copied().zip(values));
    }
    for (&user_id, &sockets) in want {
        let total = totals.get(&user_id).copied().flatten().unwrap_or(0);
        let recorded = per_instance.get(&user_id).copied().unwrap_or(0);
        let expected_status = if sockets > 0 { "online" } else { "offline" };
        let stored = status.get(&user_id).map(String::as_str).unwrap_or("?");
        if total != sockets as i64 || recorded != sockets as i64 || stored != expected_status {
            problems.push(format!(
                "user {user_id}: {sockets} sockets, redis total {total}, instances {recorded}, status {stored}"
            ));
        }
    }
    problems
}

async fn settle(
    redis: &fred::clients::Client,
    prefix: &str,
    chats: &[&ChatHandle],
    want: &HashMap<UserId, usize>,
    within: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let problems = differences(redis, prefix, chats, want).await;
        if problems.is_empty() || Instant::now() > deadline {
            return problems;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A load balancer dropping every client at once (and a reconnect storm before
/// it): thousands of sockets of two instances connect and disconnect at the
/// same moment, some users keep a socket, some close and reopen theirs at
/// once. Afterwards every user's count in Redis and stored status is exact
/// and no presence update failed (with a Redis call and a status update per
/// socket, queued behind each other, they timed out, and the statuses of
/// instances racing each other ended wrong).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connects_and_disconnects_leaves_every_users_presence_exact() {
    const USERS: usize = 30_000;
    let test_db = database().await;
    let prefix = format!("chat-test-burst-{:08x}", rand::random::<u32>());
    let a = instance(&test_db, &redis_url(), &prefix).await;
    let b = instance(&test_db, &redis_url(), &prefix).await;
    let redis = client(&redis_url()).await;
    let people = users(&a, USERS).await;

    // Every user has a socket on A; every other user one on B as well.
    let on_b = |n: usize| n.is_multiple_of(2);
    let mut events = Vec::new();
    let mut want = HashMap::new();
    for (n, who) in people.iter().enumerate() {
        events.push((a.clone(), who.clone(), vec![true]));
        if on_b(n) {
            events.push((b.clone(), who.clone(), vec![true]));
        }
        want.insert(who.user_id, 1 + usize::from(on_b(n)));
    }
    let failed = burst(events).await;
    let problems = settle(&redis, &prefix, &[&a, &b], &want, Duration::from_secs(20)).await;
    assert!(
        failed == 0 && problems.is_empty(),
        "after the connect burst: {failed} presence updates failed, {} users wrong, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );

    // Everything closes at once, except: every fifth user keeps the socket on
    // A, every seventh closes it and opens a new one on A right away.
    let stays = |n: usize| n.is_multiple_of(5);
    let bounces = |n: usize| n.is_multiple_of(7) && !stays(n);
    let mut events = Vec::new();
    for (n, who) in people.iter().enumerate() {
        if bounces(n) {
            events.push((a.clone(), who.clone(), vec![false, true]));
        } else if !stays(n) {
            events.push((a.clone(), who.clone(), vec![false]));
        }
        if on_b(n) {
            events.push((b.clone(), who.clone(), vec![false]));
        }
        want.insert(who.user_id, usize::from(stays(n) || bounces(n)));
    }
    let failed = burst(events).await;
    let problems = settle(&redis, &prefix, &[&a, &b], &want, Duration::from_secs(20)).await;
    assert!(
        failed == 0 && problems.is_empty(),
        "after the disconnect burst: {failed} presence updates failed, {} users wrong, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );

    // The last sockets close: nobody is left online, no count is left in Redis.
    let mut events = Vec::new();
    for (n, who) in people.iter().enumerate() {
        if stays(n) || bounces(n) {
            events.push((a.clone(), who.clone(), vec![false]));
        }
        want.insert(who.user_id, 0);
    }
    let failed = burst(events).await;
    let problems = settle(&redis, &prefix, &[&a, &b], &want, Duration::from_secs(20)).await;
    assert!(
        failed == 0 && problems.is_empty(),
        "after the last sockets closed: {failed} presence updates failed, {} users wrong, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
    forget(&redis, &prefix, vec![a, b]).await;
}

/// Stops the instances and deletes what they left under `prefix` in the
/// shared Redis.
async fn forget(redis: &fred::clients::Client, prefix: &str, chats: Vec<ChatHandle>) {
    drop(chats);
    // Their tasks stop with the engines, a writer finishing its batch first;
    // one finding its keys deleted meanwhile writes them again, so delete
    // until nothing came back for two rounds (bounded).
    let mut quiet_rounds = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let keys: Vec<String> = redis
            .custom(
                fred::cmd!("KEYS"),
                vec![super::keys::Keys::new(prefix).everything()],
            )
            .await
            .unwrap_or_default();
        if keys.is_empty() {
            quiet_rounds += 1;
            if quiet_rounds == 2 {
                return;
            }
        } else {
            quiet_rounds = 0;
            let _: Result<i64, _> = redis.del(keys).await;
        }
    }
}

/// A Redis server of this test alone (it is stalled on purpose), killed on
/// drop.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    /// `None` when `redis-server` is not installed.
    async fn start() -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            // The stall below must block, not be answered with BUSY.
            .args(["--busy-reply-threshold", "60000"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let redis = PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(redis)
    }

    /// Keeps Redis busy for `how_long` (as a slow command, a fork or a
    /// swapping host would), longer than the instances' command timeout.
    async fn stall(&self, how_long: Duration) {
        let redis = client(&self.url).await;
        tokio::spawn(async move {
            let busy: Result<i64, _> = redis
                .eval(
                    "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] \
                     repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - s > tonumber(ARGV[1]) \
                     return 1",
                    Vec::<String>::new(),
                    vec![how_long.as_micros().to_string()],
                )
                .await;
            busy.expect("stall");
        });
        // The script runs before the burst's first command.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Redis stalls longer than the command timeout (3 s) just when a burst of
/// sockets opens, and again when they close: no presence update may be lost
/// (they timed out and were gone; the users stayed offline, then online).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_written_during_a_redis_stall_is_retried_not_lost() {
    const USERS: usize = 2_000;
    let Some(server) = PrivateRedis::start().await else {
        // The test command installs it: under CI a skip would hide the test.
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let test_db = database().await;
    let prefix = "chat-test-stall";
    let a = instance(&test_db, &server.url, prefix).await;
    let b = instance(&test_db, &server.url, prefix).await;
    let redis = client(&server.url).await;
    let people = users(&a, USERS).await;

    let mut events = Vec::new();
    let mut want = HashMap::new();
    for (n, who) in people.iter().enumerate() {
        events.push((a.clone(), who.clone(), vec![true]));
        if n.is_multiple_of(2) {
            events.push((b.clone(), who.clone(), vec![true]));
        }
        want.insert(who.user_id, 1 + usize::from(n.is_multiple_of(2)));
    }
    server.stall(Duration::from_secs(4)).await;
    let failed = burst(events).await;
    let problems = settle(&redis, prefix, &[&a, &b], &want, Duration::from_secs(20)).await;
    assert!(
        failed == 0 && problems.is_empty(),
        "after connecting during a stall: {failed} presence updates failed, {} users wrong, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );

    // All close during a stall, but every third user at once opens a new
    // socket on B.
    let mut events = Vec::new();
    for (n, who) in people.iter().enumerate() {
        events.push((a.clone(), who.clone(), vec![false]));
        let steps = match (n.is_multiple_of(2), n.is_multiple_of(3)) {
            (true, true) => vec![false, true],
            (true, false) => vec![false],
            (false, true) => vec![true],
            (false, false) => vec![],
        };
        events.push((b.clone(), who.clone(), steps));
        want.insert(who.user_id, usize::from(n.is_multiple_of(3)));
    }
    server.stall(Duration::from_secs(4)).await;
    let failed = burst(events).await;
    let problems = settle(&redis, prefix, &[&a, &b], &want, Duration::from_secs(20)).await;
    assert!(
        failed == 0 && problems.is_empty(),
        "after disconnecting during a stall: {failed} presence updates failed, {} users wrong, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
}

/// Membership notices published while an instance's subscriber is
/// disconnected never reach it: once it reconnects, the instance must not go
/// on answering from member sets it loaded before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_membership_cache_is_cleared_when_the_subscriber_reconnects() {
    let Some(server) = PrivateRedis::start().await else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let test_db = database().await;
    let chat = instance(&test_db, &server.url, "chat-test-membership").await;
    let people = users(&chat, 2).await;
    let (alice, bob) = (people[0].user_id, people[1].user_id);
    let before = chat.inner.membership.generation();
    let group = chat
        .create_group(
            alice,
            crate::service::CreateGroup {
                name: "team".into(),
                member_ids: vec![bob],
                is_public: false,
            },
        )
        .await
        .expect("group")
        .id;
    // The creation drops the group's set here, then its notice comes back
    // through Redis and drops it again: let that land first, or it would
    // drop the set loaded next.
    let deadline = Instant::now() + Duration::from_secs(10);
    while chat.inner.membership.generation() < before + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(chat.is_member(group, bob).await.expect("member"));
    // Bob leaves while the notice cannot arrive: the change is made behind
    // this instance's back, and its subscriber connection is cut.
    crate::store::members::delete(chat.db(), group, bob)
        .await
        .expect("delete");
    assert!(chat.is_member(group, bob).await.expect("cached"), "cached");
    let redis = client(&server.url).await;
    let killed: i64 = redis
        .custom(fred::cmd!("CLIENT"), vec!["KILL", "TYPE", "pubsub"])
        .await
        .expect("client kill");
    assert!(killed > 0, "no subscriber connection to cut");
    let deadline = Instant::now() + Duration::from_secs(10);
    while chat.is_member(group, bob).await.expect("check") {
        assert!(
            Instant::now() < deadline,
            "10 s after the reconnect, the cache still has bob in the group he left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A block made on one instance applies on another one whose caches hold
/// the pair's direct conversation and blocks already, as soon as its notice
/// arrives (within milliseconds: a client's next request, which crosses the
/// network, comes later than that).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_made_on_one_instance_refuses_sends_on_another_once_told() {
    let test_db = database().await;
    let prefix = format!("chat-test-blocks-{:08x}", rand::random::<u32>());
    let a = instance(&test_db, &redis_url(), &prefix).await;
    let b = instance(&test_db, &redis_url(), &prefix).await;
    let redis = client(&redis_url()).await;
    let people = users(&a, 2).await;
    let (alice, bob) = (people[0].user_id, people[1].user_id);
    let (direct, _) = a.get_or_create_direct(alice, bob).await.expect("direct");
    let send = |text: &str| {
        b.send_message(
            bob,
            crate::service::SendMessage::text(direct.id, text),
            None,
        )
    };
    // The conversation's creation is announced too: let it land first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    send("cached on b").await.expect("send before the block");

    // Each change drops both users' entries on b when its notice arrives.
    let blocks = b.inner.blocks.clone();
    let told = |before: u64| {
        let blocks = blocks.clone();
        async move {
            let started = Instant::now();
            while blocks.generation() < before + 2 {
                assert!(
                    started.elapsed() < Duration::from_secs(1),
                    "no notice within a second"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    for round in 0..10 {
        let before = b.inner.blocks.generation();
        a.block_user(alice, bob).await.expect("block");
        told(before).await;
        let refused = send("after the block").await;
        assert_eq!(
            refused.as_ref().map_err(|e| e.code()).err(),
            Some("blocked"),
            "round {round}: {refused:?}"
        );
        let before = b.inner.blocks.generation();
        a.unblock_user(alice, bob).await.expect("unblock");
        told(before).await;
        send("after the unblock")
            .await
            .unwrap_or_else(|e| panic!("round {round}: refused after the unblock: {e}"));
    }
    forget(&redis, &prefix, vec![a, b]).await;
}
