// Failures of a multi-instance deployment (instances on one PostgreSQL database, behind a real
// nginx rendered from nginx/nginx.conf.template), as a client application sees them:
//
// 1. an instance killed with SIGKILL: its clients reconnect through nginx to another instance,
//    catch up with after_seq and end with every message exactly once; their peers see them
//    offline (when they stay away longer than the presence TTL) and online again;
// 2. two instances writing into one conversation at once: seq is 1..N in commit order, and a
//    receiver cut at random moments that catches up with after_seq ends with every message once;
// 3. an instance stopped with SIGTERM while clients send through it: every acknowledged message
//    is stored, and resending the unacknowledged ones with their client_id stores no duplicate;
// 4. Redis killed and started again: /ready says 503 while it is down, and cross-instance
//    delivery resumes without restarting the instances; Redis coming back empty (FLUSHALL)
//    does not change what presence announces;
// 5. a Redis Cluster: every cross-instance event works, and membership changes are enforced on
//    the other instance.
//
// Needs PostgreSQL (runs in the E2E_DB=postgres pass), Redis (E2E_REDIS_URL, default
// redis://127.0.0.1:6379), redis-server and redis-cli (for the private Redis servers and the
// cluster, on loopback ports) and nginx. Without them the suite is skipped with the reason,
// except when CI=true, where that is a failure.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dbMode, emitAck, expectNoEvent, sleep, waitFor } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  barrier,
  createDirect,
  createGroup,
  emitOk,
  newClientId,
  sendText,
} from '../lib/chat.js';
import {
  CI,
  Nginx,
  RedisServer,
  addressesPerUpstream,
  agentFrom,
  assertSeqHistory,
  closeAllSockets,
  clusterEnv,
  connectSocket,
  connectTo,
  contiguousUpTo,
  deleteRedisKeys,
  missingForCluster,
  redisCommand,
  request,
  sharedDatabase,
  socketTo,
  startInstances,
  startRedisCluster,
} from '../lib/cluster.js';

const PRESENCE_TTL_S = 4;
// A dead instance's heartbeat expires within PRESENCE_TTL of its last refresh; the survivors look
// every PRESENCE_TTL / 3: its users are announced offline within PRESENCE_TTL * 4/3 (plus slack).
const OFFLINE_WITHIN_MS = Math.round((PRESENCE_TTL_S * 4_000) / 3 + 2_500);

// ---------------------------------------------------------------- prerequisites

const missing = [];
let skipReason = null;
if (dbMode() !== 'postgres') {
  // Several instances share one PostgreSQL database; the E2E_DB=postgres pass runs this suite.
  skipReason = 'the resilience suite runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  missing.push(...(await missingForCluster({ redisServer: true })));
  if (missing.length && !CI) skipReason = `resilience suite skipped: ${missing.join('; ')}`;
}
if (skipReason) process.stderr.write(`${skipReason}\n`);
const requirePrerequisites = () =>
  assert.deepEqual(missing, [], `CI=true and the resilience suite cannot run: ${missing.join('; ')}`);

// ---------------------------------------------------------------- helpers

const isUser = (user) => (p) => p?.user_id === user.user.id;
const aboutMember = (conv, user) => (p) => p?.conversation_id === conv.id && p?.user?.id === user.user.id;
const hostOf = (server) => new URL(server.url).host;
const direct = (server, user, options = {}) => connectTo(server.url, user.token, { transports: ['websocket'], ...options });

/** Resolves once `check()` is true; rejects with `message()` after `timeoutMs`. */
async function eventually(check, timeoutMs, message, every = 50) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(typeof message === 'function' ? message() : message);
    await sleep(every);
  }
}

/** Every `user:online` / `user:offline` a socket receives, with the time it arrived. */
function presenceLog(socket) {
  const log = [];
  for (const event of ['user:online', 'user:offline']) {
    socket.on(event, (p) => log.push({ event, user_id: p?.user_id, at: Date.now(), payload: p }));
  }
  return log;
}

/**
 * A receiving client that follows the protocol's catch-up rule: it keeps what it receives, and on
 * every (re)connection fetches `after_seq=<highest contiguous seq it holds>` until `has_more` is
 * false; with `fillGaps`, also when a gap in what it received live lasts 300 ms.
 * `fetchPage(afterSeq)` does the HTTP request (through whatever path the client uses).
 */
class Follower {
  held = new Map(); // message id -> message
  seqs = new Map(); // seq -> message id
  conflicts = []; // a seq naming two different messages
  liveDuplicates = []; // a message received twice over one connection
  live = new Set(); // ids of the messages received as message:new
  gapFills = 0;
  connects = [];
  disconnects = [];
  catchUps = []; // {afterSeq, fetched, fresh}
  errors = [];
  #liveSeen = new Set(); // `${connection}:${message id}`
  #chain = Promise.resolve();
  #gapTimer = null;

  constructor(label, socket, conversationId, fetchPage, { fillGaps = false } = {}) {
    this.label = label;
    this.socket = socket;
    this.conversationId = conversationId;
    this.fetchPage = fetchPage;
    socket.on('message:new', (m) => {
      if (m?.conversation_id !== conversationId) return;
      const key = `${this.connects.length}:${m.id}`;
      if (this.#liveSeen.has(key)) this.liveDuplicates.push(m.id);
      this.#liveSeen.add(key);
      this.live.add(m.id);
      this.#add(m);
      if (fillGaps && !this.#gapTimer && m.seq > this.highestContiguous + 1) {
        this.#gapTimer = setTimeout(() => {
          this.#gapTimer = null;
          if (this.highestContiguous >= Math.max(...this.seqs.keys())) return;
          this.gapFills++;
          this.#chain = this.#chain.then(() => this.#catchUp());
        }, 300);
      }
    });
    socket.on('connect', () => {
      this.connects.push(Date.now());
      this.#chain = this.#chain.then(() => this.#catchUp());
    });
    socket.on('disconnect', (reason) => this.disconnects.push({ at: Date.now(), reason }));
  }

  #add(m) {
    const known = this.seqs.get(m.seq);
    if (known !== undefined && known !== m.id) this.conflicts.push(`seq ${m.seq}: messages ${known} and ${m.id}`);
    this.seqs.set(m.seq, m.id);
    const fresh = !this.held.has(m.id);
    this.held.set(m.id, m);
    return fresh;
  }

  get highestContiguous() {
    return contiguousUpTo([...this.seqs.keys()]);
  }

  async #catchUp() {
    const afterSeq = this.highestContiguous;
    let cursor = afterSeq;
    let fetched = 0;
    let fresh = 0;
    for (let page = 0; page < 1_000; page++) {
      let res;
      for (let attempt = 1; ; attempt++) {
        try {
          res = await this.fetchPage(cursor);
          if (res.status === 200) break;
          throw new Error(`HTTP ${res.status} ${res.text.slice(0, 200)}`);
        } catch (err) {
          if (attempt >= 10) {
            this.errors.push(`${this.label}: after_seq=${cursor}: ${err.message}`);
            return;
          }
          await sleep(200);
        }
      }
      const seqs = res.body.messages.map((m) => m.seq);
      const expected = seqs.map((_, i) => cursor + 1 + i);
      if (seqs.join() !== expected.join()) {
        this.errors.push(`${this.label}: after_seq=${cursor} returned seq ${seqs.slice(0, 10).join(',')}... (not ${cursor + 1}, ${cursor + 2}, ...)`);
      }
      for (const m of res.body.messages) {
        fetched++;
        if (this.#add(m)) fresh++;
      }
      if (!res.body.has_more || seqs.length === 0) break;
      cursor = seqs.at(-1);
    }
    this.catchUps.push({ afterSeq, fetched, fresh });
  }

  /** Resolves once every catch-up started so far has finished. */
  settled() {
    return this.#chain;
  }

  /** Whether it holds every message of `expected`. */
  holdsAll(expected) {
    return expected.every((m) => this.held.has(m.id));
  }

  /** Asserts it holds exactly the messages of `expected` (by id, with the same seq), each once. */
  assertHoldsExactly(expected) {
    const label = this.label;
    assert.deepEqual(this.errors, [], `${label}: catching up failed`);
    assert.deepEqual(this.conflicts, [], `${label}: a seq names two messages`);
    assert.deepEqual(this.liveDuplicates, [], `${label}: a message arrived twice over one connection`);
    const missingIds = expected.filter((m) => !this.held.has(m.id)).map((m) => `${m.id} (seq ${m.seq})`);
    assert.deepEqual(missingIds.slice(0, 20), [], `${label}: ${missingIds.length} of ${expected.length} messages missing`);
    const expectedIds = new Set(expected.map((m) => m.id));
    const extra = [...this.held.keys()].filter((id) => !expectedIds.has(id));
    assert.deepEqual(extra, [], `${label}: holds messages that are not in history`);
    for (const m of expected) assert.equal(this.held.get(m.id).seq, m.seq, `${label}: message ${m.id} has another seq`);
    assert.equal(this.held.size, expected.length);
  }
}

/** Fetches a history page over a direct connection to `server`. */
const pageFrom = (server, user, conversationId) => (afterSeq) =>
  request(`${server.url}/api/conversations/${conversationId}/messages?after_seq=${afterSeq}&limit=100`, { token: user.token });

/**
 * Sends a message every `periodMs` (awaiting each ack) until `stop()`; `done` resolves to the
 * acknowledged messages. A failed send is recorded in `failures` and not retried.
 */
function steadySender(socket, conversationId, label, periodMs) {
  let running = true;
  const acked = [];
  const failures = [];
  const done = (async () => {
    for (let n = 0; running; n++) {
      const started = Date.now();
      try {
        const ack = await emitAck(socket, 'message:send', { conversation_id: conversationId, content: `${label} ${n}`, client_id: newClientId() }, 10_000);
        if (ack?.success === true) acked.push({ ...ack.message, ackedAt: Date.now() });
        else failures.push(JSON.stringify(ack));
      } catch (err) {
        failures.push(err.message);
      }
      await sleep(Math.max(0, started + periodMs - Date.now()));
    }
    return acked;
  })();
  return {
    acked,
    failures,
    done,
    stop() {
      running = false;
      return done;
    },
  };
}

const openResources = [];
async function releaseAll() {
  closeAllSockets();
  while (openResources.length) {
    const release = openResources.pop();
    try {
      await release();
    } catch (err) {
      process.stderr.write(`cleanup: ${err.message}\n`);
    }
  }
}

/** A deployment: `count` instances on a fresh database, released by `releaseAll()`. */
async function deployment(count, envOptions) {
  const env = clusterEnv(envOptions);
  const db = sharedDatabase();
  openResources.push(() => {
    db.drop();
    if (!envOptions?.redisUrl) deleteRedisKeys(env.REDIS_PREFIX);
  });
  const servers = await startInstances(count, env, db);
  openResources.push(() => Promise.all(servers.map((s) => s.stop())));
  return { env, db, servers };
}

async function nginxFor(servers) {
  const nginx = new Nginx({ upstreams: servers.map(hostOf), sticky: true });
  openResources.push(() => nginx.stop());
  await nginx.start();
  return nginx;
}

// ---------------------------------------------------------------- 1. SIGKILL behind nginx

describe('resilience: an instance killed with SIGKILL behind nginx', { skip: skipReason ?? false, timeout: 90_000 }, () => {
  let s1;
  let s2;
  let s3;
  let nginx;
  let addresses;

  before(async () => {
    requirePrerequisites();
    ({ servers: [s1, s2, s3] } = await deployment(3, { presenceTtl: PRESENCE_TTL_S }));
    nginx = await nginxFor([s1, s2, s3]);
    // nginx pins a client to an instance by its address (hash $remote_addr consistent).
    addresses = await addressesPerUpstream(nginx, [s1, s2, s3].map(hostOf));
  });

  after(releaseAll);

  it('its clients reconnect through nginx to another instance, catch up with after_seq and hold every message once; peers see them offline and online again', async (t) => {
    const victim = s3;
    const victimHost = hostOf(victim);
    const victimAddress = addresses.get(victimHost);
    const survivorAddress = addresses.get(hostOf(s2));
    const [quick1, quick2, slow, peer1, peer2] = await Promise.all([1, 2, 3, 4, 5].map(() => s1.register()));
    const movers = [quick1, quick2, slow];
    const group = await createGroup(s1, peer1, [quick1, quick2, slow, peer2], `sigkill ${newClientId().slice(0, 8)}`);

    // peer1 on instance 1 directly; peer2 through nginx, pinned to instance 2.
    const peer1Socket = await direct(s1, peer1);
    const presence1 = presenceLog(peer1Socket);
    const peer2Socket = socketTo(nginx.url, peer2.token, { transports: null, reconnection: true, agent: agentFrom(survivorAddress) });
    const presence2 = presenceLog(peer2Socket);
    const peer2Drops = [];
    peer2Socket.on('disconnect', (reason) => peer2Drops.push(reason));
    await connectSocket(peer2Socket);

    // The movers come through nginx from the address that lands on the victim, with the client's
    // default transports and reconnection. quick2 stays on long-polling (upgrade: false); slow
    // waits longer than the presence TTL before it reconnects.
    const viaNginx = (user, options = {}) =>
      socketTo(nginx.url, user.token, { transports: null, reconnection: true, agent: agentFrom(victimAddress), ...options });
    const sockets = new Map([
      [quick1, viaNginx(quick1)],
      [quick2, viaNginx(quick2, { upgrade: false })],
      [slow, viaNginx(slow, { reconnectionDelay: 10_000, reconnectionDelayMax: 10_000, randomizationFactor: 0 })],
    ]);
    const followers = new Map();
    for (const [user, socket] of sockets) {
      const fetchPage = (afterSeq) =>
        request(`${nginx.url}/api/conversations/${group.id}/messages?after_seq=${afterSeq}&limit=100`, {
          token: user.token,
          agent: agentFrom(victimAddress),
        });
      followers.set(user, new Follower(user.user.username, socket, group.id, fetchPage));
    }
    const onlineNow = movers.map((u) => waitFor(peer1Socket, 'user:online', isUser(u), 10_000));
    await Promise.all([...sockets.values()].map(connectSocket));
    await Promise.all(onlineNow);
    await Promise.all([...followers.values()].map((f) => f.settled()));
    await eventually(() => sockets.get(quick1).io.engine.transport.name === 'websocket', 5_000, 'quick1 did not upgrade to WebSocket');
    assert.equal(sockets.get(quick2).io.engine.transport.name, 'polling');
    await barrier(peer1Socket, group.id, [...sockets.values(), peer2Socket]);
    const servedBy = nginx.upstreamsByClient().get(victimAddress);
    assert.deepEqual([...(servedBy ?? [])], [victimHost], 'the movers\' Socket.IO requests did not all go to the victim');

    // Both peers send all along, one message every 30 ms each.
    const senders = [steadySender(peer1Socket, group.id, 'peer1', 30), steadySender(peer2Socket, group.id, 'peer2', 30)];
    await sleep(500);

    const slowOffline = [peer1Socket, peer2Socket].map((s) => waitFor(s, 'user:offline', isUser(slow), OFFLINE_WITHIN_MS));
    const reconnected = [...sockets.values()].map((s) => waitFor(s, 'connect', () => true, 20_000));
    const logLines = nginx.accessLog().split('\n').length - 1;
    const killedAt = Date.now();
    await victim.kill('SIGKILL');

    // quick1 and quick2 come back after about a second, slow after 10 s.
    const [offline1, offline2] = await Promise.all(slowOffline).catch((err) => {
      throw new Error(`peers did not see ${slow.user.username} (away, instance killed) user:offline within ${OFFLINE_WITHIN_MS} ms: ${err.message}`);
    });
    const offlineAfter = presence1.find((e) => e.event === 'user:offline' && e.user_id === slow.user.id).at - killedAt;
    t.diagnostic(`user:offline ${offlineAfter} ms after SIGKILL (bound ${OFFLINE_WITHIN_MS} ms)`);
    for (const payload of [offline1, offline2]) {
      assert.equal(payload.username, slow.user.username);
      assert.equal(typeof payload.last_seen, 'string');
    }
    const slowOnline = [peer1Socket, peer2Socket].map((s) => waitFor(s, 'user:online', isUser(slow), 20_000));
    await Promise.all(reconnected);
    const slowBackAt = followers.get(slow).connects.at(-1);
    await Promise.all(slowOnline).catch((err) => {
      throw new Error(`peers did not see ${slow.user.username} user:online after it reconnected: ${err.message}`);
    });
    await Promise.all([...followers.values()].map((f) => f.settled()));
    await sleep(500);
    const acked = (await Promise.all(senders.map((s) => s.stop()))).flat();

    // Every mover ends with the whole conversation, each message once.
    const history = await allMessages(s1, peer1.token, group.id);
    await eventually(
      () => [...followers.values()].every((f) => f.holdsAll(history)),
      10_000,
      () =>
        `movers are missing messages: ${[...followers.values()].map((f) => `${f.label} ${history.filter((m) => !f.held.has(m.id)).length}`).join(', ')}`,
    ).catch(() => {});
    for (const [user, follower] of followers) {
      const socket = sockets.get(user);
      assert.ok(socket.connected, `${follower.label} is not connected again`);
      assert.ok(follower.connects.length >= 2, `${follower.label} did not reconnect`);
      follower.assertHoldsExactly(history);
      const lastCatchUp = follower.catchUps.at(-1);
      assert.ok(lastCatchUp.fresh > 0, `${follower.label} missed nothing while away: the test shows nothing`);
      t.diagnostic(
        `${follower.label}: back ${follower.connects.at(-1) - killedAt} ms after SIGKILL, after_seq=${lastCatchUp.afterSeq} fetched ${lastCatchUp.fetched} (${lastCatchUp.fresh} new)`,
      );
    }
    const sentMeanwhile = acked.filter((m) => m.ackedAt >= killedAt && m.ackedAt <= slowBackAt);
    assert.ok(sentMeanwhile.length > 0, 'no message was sent while the movers were away');
    assert.deepEqual(senders.flatMap((s) => s.failures), [], 'the peers could not send while an instance died');
    assert.deepEqual(peer2Drops, [], 'a client pinned to a surviving instance was disconnected');

    // The peers saw slow go offline and come back; quick1 and quick2 never looked offline.
    for (const [label, log] of [['peer1', presence1], ['peer2', presence2]]) {
      const slowEvents = log.filter((e) => e.user_id === slow.user.id && e.at >= killedAt).map((e) => e.event);
      assert.deepEqual(slowEvents, ['user:offline', 'user:online'], `${label}: presence events of ${slow.user.username}`);
      for (const quick of [quick1, quick2]) {
        const last = log.filter((e) => e.user_id === quick.user.id && e.at >= killedAt).at(-1);
        assert.notEqual(last?.event, 'user:offline', `${label} was last told that ${quick.user.username} (reconnected) is offline`);
      }
    }
    for (const user of movers) {
      const profile = await s1.get(`/api/users/${user.user.id}`, { token: peer1.token });
      assert.equal(profile.body?.user?.status, 'online', `profile of ${user.user.username} after reconnecting: ${profile.text}`);
    }

    // What nginx did (proxy_next_upstream): requests the dead instance had accepted failed with it
    // (a WebSocket closed, a long-poll retried on a survivor, which does not know the session);
    // every later request was refused by the dead instance's port and went on to one and the same
    // survivor, so the new long-polling session worked.
    const afterKill = nginx.accessEntries().slice(logLines).filter((e) => e.client === victimAddress && e.path.startsWith('/socket.io/'));
    const show = (e) => `${e.method} ${e.path.includes('transport=websocket') ? 'ws' : 'poll'} ${e.status} via ${e.upstreams.join(' > ')}`;
    const inFlight = afterKill.filter((e) => e.upstreams.every((u) => u === victimHost));
    const moved = afterKill.filter((e) => e.upstreams.some((u) => u !== victimHost));
    const survivorsUsed = new Set(moved.map((e) => e.upstreams.at(-1)));
    t.diagnostic(`in flight at the kill: ${[...new Set(inFlight.map(show))].join('; ') || 'none'}`);
    t.diagnostic(`after: ${[...new Set(moved.map(show))].join('; ')}`);
    assert.ok(moved.length > 0, 'nginx logged no request of the movers after the kill');
    assert.equal(survivorsUsed.size, 1, `the movers' requests went to ${[...survivorsUsed].join(' and ')}: a long-polling session needs one instance`);
    assert.ok(!survivorsUsed.has(victimHost));
  });
});

// ---------------------------------------------------------------- 2. seq under concurrency, receivers cut

describe('resilience: two instances write into one conversation while receivers are cut', { skip: skipReason ?? false, timeout: 120_000 }, () => {
  const SENDERS_PER_INSTANCE = 3;
  const PER_SENDER = 334; // 6 x 334 = 2004 messages at least
  const MIN_CUTS = 5;
  const WINDOW = 8;
  let s1;
  let s2;

  before(async () => {
    requirePrerequisites();
    ({ servers: [s1, s2] } = await deployment(2, { presenceTtl: PRESENCE_TTL_S }));
  });

  after(releaseAll);

  it(`${2 * SENDERS_PER_INSTANCE} clients on 2 instances send ${2 * SENDERS_PER_INSTANCE * PER_SENDER}+ messages: seq 1..N in commit order; cut receivers catch up to every message once`, async (t) => {
    const instances = [s1, s2];
    const senders = await Promise.all(Array.from({ length: 2 * SENDERS_PER_INSTANCE }, () => s1.register()));
    const receivers = await Promise.all([1, 2].map(() => s1.register()));
    const group = await createGroup(s1, senders[0], [...senders.slice(1), ...receivers], `seq ${newClientId().slice(0, 8)}`);
    const senderSockets = await Promise.all(senders.map((u, i) => direct(instances[i % 2], u)));

    // Receiver i on instance i, with reconnection; the first with the default transports.
    const followers = receivers.map((u, i) => {
      const socket = socketTo(instances[i].url, u.token, {
        transports: i === 0 ? null : ['websocket'],
        reconnection: true,
        reconnectionDelay: 50,
        reconnectionDelayMax: 300,
      });
      return new Follower(`receiver ${i + 1}`, socket, group.id, pageFrom(instances[i], u, group.id));
    });
    await Promise.all(followers.map((f) => connectSocket(f.socket)));
    await Promise.all(followers.map((f) => f.settled()));
    const baseline = (await allMessages(s1, senders[0].token, group.id)).length;

    let sending = true;
    // A reader polls history with after_seq all along: a page with a gap would mean a higher seq
    // became visible before a lower one (not commit order).
    const gaps = [];
    const reader = (async () => {
      let cursor = 0;
      for (let round = 0; sending; round++) {
        const res = await pageFrom(instances[round % 2], senders[0], group.id)(cursor);
        if (res.status !== 200) {
          gaps.push(`after_seq=${cursor}: HTTP ${res.status}`);
          break;
        }
        const seqs = res.body.messages.map((m) => m.seq);
        const expected = seqs.map((_, i) => cursor + 1 + i);
        if (seqs.join() !== expected.join()) gaps.push(`after_seq=${cursor}: ${seqs.slice(0, 12).join(',')}`);
        if (seqs.length) cursor = seqs.at(-1);
        else await sleep(5);
      }
      return cursor;
    })();

    // The receivers are cut at random moments, one way or the other.
    const cuts = [0, 0];
    const cutters = followers.map((f, i) =>
      (async () => {
        while (sending) {
          await sleep(50 + Math.random() * 350);
          if (!sending || !f.socket.connected) continue;
          if (Math.random() < 0.5) {
            f.socket.io.engine.close();
          } else {
            f.socket.disconnect();
            f.socket.connect();
          }
          cuts[i]++;
        }
      })(),
    );

    const sendAll = async (socket, label) => {
      const acked = [];
      let next = 0;
      const worker = async () => {
        // At least PER_SENDER each, and on until every receiver was cut enough
        // times (a fast server would otherwise finish between two cuts).
        while (next < PER_SENDER || (cuts.some((c) => c < MIN_CUTS) && next < 4 * PER_SENDER)) {
          const n = next++;
          acked.push(await sendText(socket, group.id, `${label} ${n}`, { client_id: newClientId() }, 30_000));
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, worker));
      return acked;
    };
    const started = Date.now();
    const acked = (await Promise.all(senderSockets.map((s, i) => sendAll(s, `sender ${i + 1} on instance ${(i % 2) + 1}`)))).flat();
    const elapsed = Date.now() - started;
    sending = false;
    await Promise.all(cutters);
    await reader;

    const total = baseline + acked.length;
    const history = await allMessages(s2, senders[1].token, group.id);
    assertSeqHistory(history, total, acked);
    assert.deepEqual(gaps, [], 'history showed a message before one with a lower seq (not commit order)');

    // The receivers reconnect, catch up and then get the rest live.
    await eventually(() => followers.every((f) => f.socket.connected), 10_000, 'a receiver did not reconnect');
    await Promise.all(followers.map((f) => f.settled()));
    await eventually(
      () => followers.every((f) => f.holdsAll(history)),
      15_000,
      () => `receivers are missing messages: ${followers.map((f) => history.filter((m) => !f.held.has(m.id)).length).join(', ')}`,
    ).catch(() => {});
    for (const [i, f] of followers.entries()) {
      t.diagnostic(
        `${f.label}: ${cuts[i]} cuts, ${f.connects.length} connections, ${f.catchUps.reduce((n, c) => n + c.fresh, 0)} messages first seen by catching up`,
      );
      f.assertHoldsExactly(history);
      assert.ok(cuts[i] >= MIN_CUTS, `${f.label} was cut only ${cuts[i]} times`);
      assert.ok(f.catchUps.some((c) => c.fresh > 0), `${f.label} never missed a message: the cuts show nothing`);
    }
    t.diagnostic(`${acked.length} messages in ${elapsed} ms`);
  });
});

// ---------------------------------------------------------------- 2b. bursts across instances

describe('resilience: bursts from many conversations cross instances without loss', { skip: skipReason ?? false, timeout: 90_000 }, () => {
  const GROUPS = 40;
  const PER_GROUP = 25; // 1000 messages, sent all at once
  let s1;
  let s2;

  before(async () => {
    requirePrerequisites();
    ({ servers: [s1, s2] } = await deployment(2, { presenceTtl: PRESENCE_TTL_S }));
  });

  after(releaseAll);

  it(`${GROUPS * PER_GROUP} messages sent at once on instance 1 into ${GROUPS} groups all reach the members on instance 2`, async (t) => {
    const [sender, receiver] = await Promise.all([1, 2].map(() => s1.register()));
    const groups = [];
    for (let g = 0; g < GROUPS; g++) groups.push(await createGroup(s1, sender, [receiver], `burst ${g}`));
    const senderSocket = await direct(s1, sender);
    const receiverSocket = await direct(s2, receiver);
    await barrier(senderSocket, groups[0].id, [receiverSocket]);
    const received = new Set();
    receiverSocket.on('message:new', (m) => {
      if (m.content?.startsWith('burst ')) received.add(m.id);
    });

    // Every send at once: instance 1 publishes a burst of broadcasts that instance 2's Redis
    // subscriber must take without dropping one.
    const acks = await Promise.all(
      groups.flatMap((group, g) =>
        Array.from({ length: PER_GROUP }, (_, n) =>
          emitAck(senderSocket, 'message:send', { conversation_id: group.id, content: `burst ${g}.${n}`, client_id: newClientId() }, 30_000),
        ),
      ),
    );
    const stored = acks.filter((a) => a?.success === true).map((a) => a.message.id);
    assert.equal(stored.length, GROUPS * PER_GROUP, 'every send acknowledged');
    const deadline = Date.now() + 15_000;
    while (received.size < stored.length && Date.now() < deadline) await sleep(50);
    t.diagnostic(`instance 2 delivered ${received.size} of ${stored.length}`);
    const missing = stored.filter((id) => !received.has(id));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} messages never reached the member on the other instance`);
  });
});

// ---------------------------------------------------------------- 3. SIGTERM while sending

describe('resilience: an instance stopped with SIGTERM while clients send through it', { skip: skipReason ?? false, timeout: 90_000 }, () => {
  const SENDERS = 4;
  const PER_SENDER = 60;
  const WINDOW = 3;
  let s1;
  let s2;
  let nginx;
  let addresses;

  before(async () => {
    requirePrerequisites();
    ({ servers: [s1, s2] } = await deployment(2, { presenceTtl: PRESENCE_TTL_S, SHUTDOWN_TIMEOUT: '5' }));
    nginx = await nginxFor([s1, s2]);
    addresses = await addressesPerUpstream(nginx, [s1, s2].map(hostOf));
  });

  after(releaseAll);

  it('every acknowledged message is stored; unacknowledged ones resent with their client_id after reconnecting are stored once', async (t) => {
    const victim = s1;
    const users = await Promise.all(Array.from({ length: SENDERS + 1 }, () => s2.register()));
    const observer = users[SENDERS];
    const group = await createGroup(s2, observer, users.slice(0, SENDERS), `sigterm ${newClientId().slice(0, 8)}`);
    // The observer on the surviving instance is a client that fills gaps with after_seq.
    const observerFollower = new Follower('observer', socketTo(s2.url, observer.token), group.id, pageFrom(s2, observer, group.id), {
      fillGaps: true,
    });
    await connectSocket(observerFollower.socket);
    await observerFollower.settled();

    const sockets = users.slice(0, SENDERS).map((u) =>
      socketTo(nginx.url, u.token, { transports: null, reconnection: true, agent: agentFrom(addresses.get(hostOf(victim))) }),
    );
    const connects = sockets.map(() => 0);
    sockets.forEach((s, i) => s.on('connect', () => connects[i]++));
    await Promise.all(sockets.map(connectSocket));

    // Each sender: every message has its client_id; a send that is not acknowledged is sent again,
    // with the same client_id, once the socket is connected again.
    const intended = new Map(); // client_id -> content
    const ackedBy = new Map(); // client_id -> message from the ack
    const interrupted = new Set(); // client_ids whose first send got no ack
    const failures = [];
    let stopAt = Infinity;
    const connected = (socket) => (socket.connected ? Promise.resolve() : new Promise((resolve) => socket.once('connect', resolve)));
    const sendUntilAcked = async (socket, clientId, content) => {
      for (let attempt = 1; Date.now() < stopAt; attempt++) {
        await connected(socket);
        try {
          const ack = await emitAck(socket, 'message:send', { conversation_id: group.id, content, client_id: clientId }, 5_000);
          if (ack?.success === true) {
            ackedBy.set(clientId, ack.message);
            return;
          }
          failures.push(`${content}: ${JSON.stringify(ack)}`);
        } catch (err) {
          if (!/disconnected|timed out|operation has timed out/i.test(err.message)) failures.push(`${content}: ${err.message}`);
        }
        interrupted.add(clientId);
        await sleep(100);
      }
    };
    const sender = async (socket, i) => {
      let next = 0;
      const worker = async () => {
        while (next < PER_SENDER) {
          const n = next++;
          const clientId = newClientId();
          const content = `sender ${i + 1} #${n}`;
          intended.set(clientId, content);
          await sendUntilAcked(socket, clientId, content);
          await sleep(10);
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, worker));
    };
    stopAt = Date.now() + 60_000;
    const sending = Promise.all(sockets.map(sender));

    await sleep(400);
    const ackedBeforeStop = ackedBy.size;
    const stopStarted = Date.now();
    await victim.kill('SIGTERM', 20_000);
    const stopTook = Date.now() - stopStarted;
    await sending;

    t.diagnostic(
      `${ackedBeforeStop} acked before SIGTERM, the instance exited after ${stopTook} ms; ${interrupted.size} sends interrupted and resent`,
    );
    assert.ok(stopTook < 15_000, `the instance did not exit within SHUTDOWN_TIMEOUT after SIGTERM (${stopTook} ms)`);
    // Sends being stored when SIGTERM arrives are finished and acked before the
    // sockets close, so there may be no interrupted send at all; any there is
    // must have been stored once after its resend (checked below).
    assert.deepEqual(failures, [], 'sends failed with an error ack');
    assert.equal(ackedBy.size, intended.size, `${intended.size - ackedBy.size} messages were never acknowledged`);
    // A sender whose sends were all acked before the close reconnects on its
    // own schedule (socket.io's randomized backoff): wait for it.
    await eventually(
      () => connects.every((n) => n >= 2),
      15_000,
      () => `senders did not reconnect (through nginx, to the other instance): ${connects.join(', ')}`,
    );

    const history = await allMessages(s2, observer.token, group.id);
    const byClientId = new Map();
    const duplicates = [];
    for (const m of history) {
      if (!m.client_id) continue;
      if (byClientId.has(m.client_id)) duplicates.push(`${m.client_id} (${m.content})`);
      byClientId.set(m.client_id, m);
    }
    assert.deepEqual(duplicates, [], 'a client_id is stored twice');
    for (const [clientId, message] of ackedBy) {
      const stored = byClientId.get(clientId);
      assert.ok(stored, `acknowledged message ${message.id} (${message.content}) is not in history`);
      assert.equal(stored.id, message.id, `the ack of ${clientId} names message ${message.id}, history has ${stored.id}`);
    }
    const stray = history.filter((m) => m.message_type !== 'system' && !intended.has(m.client_id));
    assert.deepEqual(stray, [], 'history holds messages nobody sent');
    assert.equal(byClientId.size, intended.size, 'history does not hold every message once');
    assert.equal(history.length, new Set(history.map((m) => m.id)).size);

    // The observer received no message twice and, filling gaps by after_seq, holds every message once.
    await eventually(() => observerFollower.holdsAll(history), 10_000, 'the observer is missing messages').catch(() => {});
    await observerFollower.settled();
    observerFollower.assertHoldsExactly(history);
    const notLive = history.filter((m) => m.message_type !== 'system' && !observerFollower.live.has(m.id));
    t.diagnostic(
      `the observer received ${observerFollower.live.size} messages live; by filling gaps (${observerFollower.gapFills}): ${
        notLive.map((m) => `"${m.content}" (seq ${m.seq}${interrupted.has(m.client_id) ? ', its first send was not acknowledged' : ''})`).join(', ') || 'none'
      }`,
    );
  });
});

// ---------------------------------------------------------------- 4. Redis restart

describe('resilience: Redis killed and started again under running instances', { skip: skipReason ?? false, timeout: 120_000 }, () => {
  let redis;
  let s1;
  let s2;
  let alice;
  let bob;
  let aliceSocket; // instance 1
  let bobSocket; // instance 2
  let conversation;
  let restarted = false;

  before(async () => {
    requirePrerequisites();
    redis = new RedisServer();
    openResources.push(() => redis.stop());
    await redis.start();
    ({ servers: [s1, s2] } = await deployment(2, { redisUrl: redis.url, presenceTtl: PRESENCE_TTL_S }));
    [alice, bob] = await Promise.all([1, 2].map(() => s1.register()));
    conversation = await createDirect(s1, alice, bob);
    aliceSocket = await direct(s1, alice);
    bobSocket = await direct(s2, bob);
    await barrier(aliceSocket, conversation.id, [bobSocket]);
    await barrier(bobSocket, conversation.id, [aliceSocket]);
  });

  after(releaseAll);

  /** GET /ready with a bound; resolves to the status, or a sentence when there was no answer. */
  const ready = (server) =>
    request(`${server.url}/ready`, { timeoutMs: 3_000 }).then(
      (res) => res.status,
      (err) => `no answer: ${err.message}`,
    );

  /**
   * Sends from `from` (a new client_id each time: a repeated one is not delivered again) every
   * second until `to` receives one of them; resolves to the time it took from `since`, or null
   * when none arrived within `timeoutMs`.
   */
  async function deliveredWithin(from, to, label, since, timeoutMs) {
    const sent = new Set();
    let received = null;
    const onNew = (m) => {
      if (sent.has(m?.client_id)) received = m;
    };
    to.on('message:new', onNew);
    try {
      const deadline = since + timeoutMs;
      for (let n = 0; !received && Date.now() < deadline; n++) {
        const clientId = newClientId();
        sent.add(clientId);
        emitAck(from, 'message:send', { conversation_id: conversation.id, content: `${label} ${n}`, client_id: clientId }, 3_000).catch(() => {});
        const until = Date.now() + 1_000;
        while (!received && Date.now() < until) await sleep(25);
      }
      return received ? Date.now() - since : null;
    } finally {
      to.off('message:new', onNew);
    }
  }

  it('/ready goes 503 while Redis is down and back to 200; cross-instance message:new resumes within 20 s without restarting the instances', async (t) => {
    assert.deepEqual(await Promise.all([s1, s2].map(ready)), [200, 200], '/ready before the Redis restart');
    const killedAt = Date.now();
    await redis.kill('SIGKILL');

    // While Redis is down both instances say so (and answer at all).
    const whileDown = [[], []];
    const downDeadline = killedAt + 2_000;
    while (Date.now() < downDeadline) {
      const statuses = await Promise.all([s1, s2].map(ready));
      statuses.forEach((s, i) => whileDown[i].push(s));
      await sleep(200);
    }
    await redis.start(); // same port
    restarted = true;
    const restartedAt = Date.now();
    t.diagnostic(`/ready while Redis was down: instance 1 ${[...new Set(whileDown[0])].join(', ')}; instance 2 ${[...new Set(whileDown[1])].join(', ')}`);

    const readyWithin = async (server) => {
      let status;
      while (Date.now() < restartedAt + 20_000) {
        status = await ready(server);
        if (status === 200) return Date.now() - restartedAt;
        await sleep(250);
      }
      return `still ${status}`;
    };
    const [toBob, toAlice, ready1, ready2] = await Promise.all([
      deliveredWithin(aliceSocket, bobSocket, 'alice to bob', restartedAt, 20_000),
      deliveredWithin(bobSocket, aliceSocket, 'bob to alice', restartedAt, 20_000),
      readyWithin(s1),
      readyWithin(s2),
    ]);
    const took = (v) => (typeof v === 'number' ? `${v} ms` : v ?? 'never');
    t.diagnostic(`after the restart: message:new 1 -> 2 after ${took(toBob)}, 2 -> 1 after ${took(toAlice)}; /ready 200 after ${took(ready1)} / ${took(ready2)}`);

    const problems = [];
    for (const [i, statuses] of whileDown.entries()) {
      if (statuses.at(-1) !== 503) problems.push(`instance ${i + 1}: /ready while Redis was down: ${[...new Set(statuses)].join(', ')} (expected 503)`);
    }
    if (toBob === null) problems.push('no message:new from instance 1 reached instance 2 within 20 s of the Redis restart');
    if (toAlice === null) problems.push('no message:new from instance 2 reached instance 1 within 20 s of the Redis restart');
    for (const [i, r] of [ready1, ready2].entries()) {
      if (typeof r !== 'number') problems.push(`instance ${i + 1}: /ready not 200 within 20 s of the Redis restart (${r})`);
    }
    if (!aliceSocket.connected || !bobSocket.connected) problems.push('the sockets were dropped');
    assert.deepEqual(problems, [], 'the deployment did not ride out the Redis restart');
  });

  // A Redis restarted without persistence comes back empty: each instance
  // rebuilds its presence counts from its own sockets.
  it('after the Redis restart, presence and typing cross instances again', async () => {
    assert.ok(restarted, 'Redis was not restarted');
    // Bob leaves and comes back: alice (instance 1) hears both.
    const offline = waitFor(aliceSocket, 'user:offline', isUser(bob), 10_000);
    bobSocket.disconnect();
    await offline.catch((err) => {
      throw new Error(`no user:offline for bob after the Redis restart: ${err.message}`);
    });
    const online = waitFor(aliceSocket, 'user:online', isUser(bob), 10_000);
    bobSocket = await direct(s2, bob);
    await online.catch((err) => {
      throw new Error(`no user:online for bob after the Redis restart: ${err.message}`);
    });
    const typing = waitFor(aliceSocket, 'typing:start', (p) => p?.user_id === bob.user.id, 10_000);
    await emitOk(bobSocket, 'typing:start', { conversation_id: conversation.id });
    await typing;
    await barrier(aliceSocket, conversation.id, [bobSocket], 10_000);
  });
});

// ---------------------------------------------------------------- 4b. Redis loses its data

describe('resilience: Redis loses its data (FLUSHALL) under running instances', { skip: skipReason ?? false, timeout: 60_000 }, () => {
  let redis;
  let s1;
  let s2;

  before(async () => {
    requirePrerequisites();
    redis = new RedisServer();
    openResources.push(() => redis.stop());
    await redis.start();
    ({ servers: [s1, s2] } = await deployment(2, { redisUrl: redis.url, presenceTtl: PRESENCE_TTL_S }));
  });

  after(releaseAll);

  it('presence is announced as before: offline on the last socket, online on the first, nothing for a second tab', async () => {
    const [alice, bob] = await Promise.all([1, 2].map(() => s1.register()));
    const conversation = await createDirect(s1, alice, bob);
    const aliceSocket = await direct(s1, alice);
    const online = waitFor(aliceSocket, 'user:online', isUser(bob));
    let bobSocket = await direct(s2, bob);
    await online;

    // A Redis restarted without persistence comes back empty: the same as FLUSHALL.
    await redisCommand(redis, 'FLUSHALL');

    const problems = [];
    const offline = waitFor(aliceSocket, 'user:offline', isUser(bob));
    bobSocket.disconnect();
    await offline.catch(() => problems.push('bob closing his only socket was not announced offline'));
    const onlineAgain = waitFor(aliceSocket, 'user:online', isUser(bob));
    bobSocket = await direct(s2, bob);
    await onlineAgain.catch(() => problems.push('bob connecting again was not announced online'));
    const quiet = expectNoEvent(aliceSocket, 'user:offline', 1_000, isUser(bob));
    const secondTab = await direct(s1, bob);
    secondTab.disconnect();
    await quiet.catch(() => problems.push('bob closing a second tab (one still open) was announced offline'));
    const profile = await s1.get(`/api/users/${bob.user.id}`, { token: alice.token });
    if (profile.body?.user?.status !== 'online') problems.push(`bob's profile says ${profile.body?.user?.status} while he is connected`);
    await barrier(aliceSocket, conversation.id, [bobSocket]);
    assert.deepEqual(problems, [], 'presence after Redis lost its data');
  });
});

// ---------------------------------------------------------------- 5. Redis Cluster

describe('resilience: two instances on a Redis Cluster', { skip: skipReason ?? false, timeout: 90_000 }, () => {
  let cluster;
  let s1;
  let s2;
  let alice;
  let bob;
  let carol;
  let dave;
  let aliceSocket; // instance 1
  let bobSocket; // instance 2
  let carolSocket; // instance 2
  let daveSocket; // instance 2
  let group;

  before(async () => {
    requirePrerequisites();
    cluster = await startRedisCluster(3);
    openResources.push(() => cluster.stop());
    ({ servers: [s1, s2] } = await deployment(2, { redisUrl: cluster.url, presenceTtl: PRESENCE_TTL_S }));
    [alice, bob, carol, dave] = await Promise.all([1, 2, 3, 4].map(() => s1.register()));
    await createDirect(s1, alice, bob);
    bobSocket = await direct(s2, bob);
    carolSocket = await direct(s2, carol);
    daveSocket = await direct(s2, dave);
  });

  after(releaseAll);

  it('user:online: alice connecting on instance 1 is announced to bob on instance 2', async () => {
    const online = waitFor(bobSocket, 'user:online', isUser(alice));
    aliceSocket = await direct(s1, alice);
    assert.equal((await online).username, alice.user.username);
  });

  it('conversation:new reaches members on instance 2 when a group is created on instance 1', async () => {
    const name = `redis cluster ${newClientId().slice(0, 8)}`;
    const news = [bobSocket, carolSocket].map((s) => waitFor(s, 'conversation:new', (c) => c?.name === name));
    group = await createGroup(s1, alice, [bob, carol], name);
    for (const conv of await Promise.all(news)) assert.equal(conv.id, group.id);
  });

  it('message:new crosses instances both ways', async () => {
    for (const [from, to] of [
      [aliceSocket, [bobSocket, carolSocket]],
      [bobSocket, [aliceSocket, carolSocket]],
    ]) {
      const clientId = newClientId();
      const arrivals = to.map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
      const sent = await sendText(from, group.id, `over the cluster ${clientId}`, { client_id: clientId });
      for (const m of await Promise.all(arrivals)) assert.equal(m.id, sent.id);
    }
  });

  it('message:read from instance 2 reaches instance 1', async () => {
    const delivered = waitFor(bobSocket, 'message:new', (m) => m?.content === 'read me');
    const last = await sendText(aliceSocket, group.id, 'read me');
    await delivered;
    const read = waitFor(aliceSocket, 'message:read', (r) => r?.conversation_id === group.id && r?.user_id === bob.user.id && r?.message_id === last.id);
    await emitOk(bobSocket, 'message:read', { conversation_id: group.id, message_id: last.id });
    assert.equal(typeof (await read).read_at, 'string');
  });

  it('typing:start / typing:stop from instance 2 reach instance 1', async () => {
    const isCarol = (p) => p?.conversation_id === group.id && p?.user_id === carol.user.id;
    const start = waitFor(aliceSocket, 'typing:start', isCarol);
    await emitOk(carolSocket, 'typing:start', { conversation_id: group.id });
    assert.equal((await start).username, carol.user.username);
    const stop = waitFor(aliceSocket, 'typing:stop', isCarol);
    await emitOk(carolSocket, 'typing:stop', { conversation_id: group.id });
    await stop;
  });

  it('conversation:member_joined crosses instances; the new member on instance 2 receives and sends', async () => {
    const added = waitFor(daveSocket, 'conversation:new', (c) => c?.id === group.id);
    const joined = [aliceSocket, bobSocket].map((s) => waitFor(s, 'conversation:member_joined', aboutMember(group, dave)));
    const res = await s1.post(`/api/conversations/${group.id}/members`, { user_id: dave.user.id }, { token: alice.token });
    assert.ok([200, 201].includes(res.status), `add member: HTTP ${res.status} ${res.text}`);
    await added;
    await Promise.all(joined);
    await barrier(aliceSocket, group.id, [daveSocket]);
    await barrier(daveSocket, group.id, [aliceSocket, bobSocket]);
  });

  it('a member who leaves through instance 1 is refused on instance 2 at once and receives nothing more there', async () => {
    const left = [aliceSocket, bobSocket].map((s) => waitFor(s, 'conversation:member_left', aboutMember(group, dave)));
    const afterLeave = [];
    daveSocket.on('message:new', (m) => m?.conversation_id === group.id && m?.message_type !== 'system' && afterLeave.push(m));
    const leave = await s1.post(`/api/conversations/${group.id}/leave`, undefined, { token: dave.token });
    assert.equal(leave.status, 204, `leave: HTTP ${leave.status} ${leave.text}`);
    await Promise.all(left);
    const refused = await emitAck(daveSocket, 'message:send', { conversation_id: group.id, content: 'dave after leaving', client_id: newClientId() });
    // A private group one left answers like one that does not exist.
    assertAckError(refused, 'not_found');
    assertApiError(await s2.get(`/api/conversations/${group.id}/messages`, { token: dave.token }), 404, 'not_found');
    await barrier(aliceSocket, group.id, [bobSocket, carolSocket]);
    await barrier(bobSocket, group.id, [aliceSocket, carolSocket]);
    await sleep(200);
    assert.deepEqual(afterLeave.map((m) => m.content), [], 'dave received messages on instance 2 after leaving');
  });

  it('user:offline: bob closing his only socket (instance 2) is announced to alice on instance 1', async () => {
    const offline = waitFor(aliceSocket, 'user:offline', isUser(bob));
    bobSocket.disconnect();
    const payload = await offline;
    assert.equal(payload.username, bob.user.username);
    assert.equal(typeof payload.last_seen, 'string');
  });
});
