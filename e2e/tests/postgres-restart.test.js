// PostgreSQL crashing (pg_ctl stop -m immediate) and starting again under a running server while
// clients send, as the clients see it:
//
// - the sockets stay connected and the server keeps running;
// - a send that fails while the database is down is answered with code `unavailable`;
// - GET /ready answers 503 while it is down and 200 once it is back;
// - sends succeed again within 10 s of PostgreSQL accepting connections;
// - every acknowledged message is stored once, seq stays 1..N, and a member that only receives ends
//   with every message once (live, or by catching up with after_seq);
// - the failed sends, resent with their client_id, are each stored once.
//
// Runs in the PostgreSQL pass (E2E_DB=postgres) on a private PostgreSQL server of its own (initdb and
// pg_ctl from /usr/lib/postgresql/*/bin, psql; as root also runuser and a postgres OS user). Without
// them the suite is skipped with the reason, except when CI=true, where that is a failure.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dbMode, emitAck, sleep, startServer } from '../lib/server.js';
import { allMessages, assertAckError, barrier, createGroup, historyPage, newClientId, sendText } from '../lib/chat.js';
import { CI, assertSeqHistory, request } from '../lib/cluster.js';
import { PrivatePostgres, missingForPrivatePostgres } from '../lib/postgres.js';

const PERIOD_MS = 25; // one send per sender every 25 ms
const BEFORE_MS = 1_000; // traffic before the crash
const DOWN_MS = 3_000; // how long PostgreSQL stays down
const AFTER_MS = 8_000; // traffic after it is back
const RECOVERY_BOUND_MS = 10_000;
// The server's wait for a database connection (DATABASE_ACQUIRE_TIMEOUT). Shorter than the outage,
// so that sends made while the database is down fail instead of waiting for it to return.
const ACQUIRE_TIMEOUT_S = 1;
// Longer than any wait for a connection: every send gets an answer.
const ACK_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------- prerequisites

const missing = [];
let skipReason = null;
if (dbMode() !== 'postgres') {
  skipReason = 'the PostgreSQL restart suite runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  missing.push(...missingForPrivatePostgres());
  if (missing.length && !CI) skipReason = `PostgreSQL restart suite skipped: ${missing.join('; ')}`;
}
if (skipReason) process.stderr.write(`${skipReason}\n`);
const requirePrerequisites = () =>
  assert.deepEqual(missing, [], `CI=true and the PostgreSQL restart suite cannot run: ${missing.join('; ')}`);

// ---------------------------------------------------------------- helpers

/**
 * Sends a text every PERIOD_MS without waiting for the previous ack, each with a fresh client_id,
 * until `stop()`, which resolves once every send is answered (or timed out). Each send records
 * {clientId, content, sentAt, answeredAt, ack | error}.
 */
function pacedSender(socket, conversationId, label) {
  const sends = [];
  let running = true;
  const loop = (async () => {
    const startedAt = Date.now();
    for (let n = 0; running; n++) {
      const send = { socket, clientId: newClientId(), content: `${label} ${n}`, sentAt: Date.now() };
      sends.push(send);
      send.done = emitAck(socket, 'message:send', { conversation_id: conversationId, content: send.content, client_id: send.clientId }, ACK_TIMEOUT_MS).then(
        (ack) => Object.assign(send, { answeredAt: Date.now(), ack }),
        (err) => Object.assign(send, { answeredAt: Date.now(), error: err.message }),
      );
      await sleep(Math.max(0, startedAt + (n + 1) * PERIOD_MS - Date.now()));
    }
  })();
  return {
    sends,
    async stop() {
      running = false;
      await loop;
      await Promise.all(sends.map((s) => s.done));
      return sends;
    },
  };
}

const isOk = (send) => send.ack?.success === true;

/** GET /ready every `everyMs` (not waiting for the previous answer) until `stop()`. */
function readyPoller(server, everyMs = 200) {
  const log = [];
  const pending = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const entry = { sentAt: Date.now() };
      log.push(entry);
      pending.push(
        request(`${server.url}/ready`, { timeoutMs: ACK_TIMEOUT_MS }).then(
          (res) => Object.assign(entry, { answeredAt: Date.now(), status: res.status, body: res.body }),
          (err) => Object.assign(entry, { answeredAt: Date.now(), status: `no answer (${err.message})` }),
        ),
      );
      await sleep(everyMs);
    }
  })();
  return {
    log,
    async stop() {
      running = false;
      await loop;
      await Promise.all(pending);
    },
  };
}

const countBy = (items, key) => {
  const counts = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

const outcome = (send) => (isOk(send) ? 'ok' : send.ack ? send.ack.code : `no ack (${send.error})`);

// ---------------------------------------------------------------- the suite

describe('PostgreSQL crashes and starts again while clients send', { skip: skipReason ?? false, timeout: 90_000 }, () => {
  let pg;
  let server;
  let alice; // sender
  let bob; // sender
  let carol; // receives only
  let group;
  let sockets;
  const disconnects = [];
  const received = new Map(); // message id -> [message, times received live]
  let knownBefore = 0; // carol's highest seq before the traffic
  const acked = new Map(); // client_id -> message of a successful ack
  const intended = new Set(); // every client_id sent
  let sends = [];
  let ready = [];
  let times = null; // {stopping, down, starting, back}
  let resent = null;

  before(async () => {
    requirePrerequisites();
    pg = new PrivatePostgres();
    await pg.start();
    const database = await pg.createDatabase('chat');
    server = await startServer({ database, env: { DATABASE_ACQUIRE_TIMEOUT: String(ACQUIRE_TIMEOUT_S) } });
    [alice, bob, carol] = await Promise.all([1, 2, 3].map(() => server.register()));
    group = await createGroup(server, alice, [bob, carol], 'postgres restart');
    sockets = await Promise.all([alice, bob, carol].map((u) => server.connect(u.token)));
    for (const [i, socket] of sockets.entries()) {
      socket.on('disconnect', (reason) => disconnects.push(`${['alice', 'bob', 'carol'][i]}: ${reason} at ${Date.now()}`));
    }
    sockets[2].on('message:new', (m) => {
      if (m?.conversation_id !== group.id) return;
      const seen = received.get(m.id);
      if (seen) seen[1]++;
      else received.set(m.id, [m, 1]);
    });
    const history = await allMessages(server, carol.token, group.id);
    knownBefore = history.at(-1)?.seq ?? 0;
    const first = await barrier(sockets[0], group.id, [sockets[1], sockets[2]]);
    acked.set(first.client_id, first);
    intended.add(first.client_id);
  });

  after(async () => {
    await server?.stop();
    await pg?.cleanup();
  });

  it(`clients keep sending through the crash: no socket drops, the server keeps running, sends succeed again within ${RECOVERY_BOUND_MS / 1000} s`, async (t) => {
    const senders = [pacedSender(sockets[0], group.id, 'alice'), pacedSender(sockets[1], group.id, 'bob')];
    const poller = readyPoller(server);
    await sleep(BEFORE_MS);
    const stopping = Date.now();
    await pg.stop({ mode: 'immediate' });
    const down = Date.now();
    await sleep(DOWN_MS);
    const starting = Date.now();
    await pg.start();
    const back = Date.now();
    times = { stopping, down, starting, back };
    await sleep(AFTER_MS);
    sends = (await Promise.all(senders.map((s) => s.stop()))).flat();
    await poller.stop();
    ready = poller.log;
    for (const send of sends) {
      intended.add(send.clientId);
      if (isOk(send)) acked.set(send.clientId, send.ack.message);
    }

    const phase = (at) => (at < stopping ? 'before' : at < down ? 'stopping' : at < starting ? 'down' : at < back ? 'starting' : 'after');
    for (const name of ['before', 'stopping', 'down', 'starting', 'after']) {
      const inPhase = sends.filter((s) => phase(s.sentAt) === name);
      const slowest = Math.max(0, ...inPhase.map((s) => s.answeredAt - s.sentAt));
      t.diagnostic(`sent ${name}: ${inPhase.length}, ${JSON.stringify(countBy(inPhase, outcome))}, slowest answer ${slowest} ms`);
    }
    const firstOk = sends.filter((s) => isOk(s) && s.sentAt >= stopping && s.answeredAt >= back).sort((a, b) => a.answeredAt - b.answeredAt)[0];
    const recovery = firstOk ? firstOk.answeredAt - back : null;
    process.stderr.write(`postgres-restart: first ok send ${recovery ?? 'never'} ms after PostgreSQL was back\n`);

    assert.ok(sends.some((s) => isOk(s) && s.sentAt < stopping), 'no send succeeded before the crash: the test shows nothing');
    assert.deepEqual(disconnects, [], 'a socket was disconnected');
    assert.ok(sockets.every((s) => s.connected), 'a socket is not connected');
    assert.ok(server.child && server.child.exitCode === null && server.child.signalCode === null, 'the server process exited');
    assert.equal((await server.get('/health')).status, 200);
    assert.doesNotMatch(server.output, /panicked/, 'the server panicked');
    assert.ok(recovery !== null && recovery <= RECOVERY_BOUND_MS, `no send succeeded within ${RECOVERY_BOUND_MS} ms of PostgreSQL accepting connections again (first after ${recovery} ms)`);
    // Once one send goes through again, the server serves as before.
    const failedLater = sends.filter((s) => !isOk(s) && s.sentAt > firstOk.answeredAt);
    assert.deepEqual(failedLater.map((s) => `${s.content}: ${outcome(s)}`), [], 'sends failed after the server had recovered');
  });

  it('sends that fail while PostgreSQL is down are answered with code unavailable, each in time', () => {
    assert.ok(times, 'the crash scenario did not run');
    const unanswered = sends.filter((s) => !s.ack);
    assert.deepEqual(unanswered.map((s) => `${s.content}: ${s.error}`), [], `sends got no ack within ${ACK_TIMEOUT_MS} ms`);
    const failed = sends.filter((s) => !isOk(s));
    const whileDown = failed.filter((s) => s.sentAt >= times.down && s.sentAt < times.starting);
    const wrong = failed.filter((s) => s.ack.code !== 'unavailable');
    assert.deepEqual(
      wrong.slice(0, 5).map((s) => `${s.content}: ${JSON.stringify(s.ack)}`),
      [],
      `${wrong.length} of ${failed.length} failed acks (${whileDown.length} of sends made while PostgreSQL was down) do not say unavailable: ${JSON.stringify(countBy(failed, outcome))}`,
    );
    for (const send of failed) assertAckError(send.ack, 'unavailable');
  });

  it('GET /ready answers 503 while PostgreSQL is down and 200 once it is back', (t) => {
    assert.ok(times, 'the crash scenario did not run');
    // Asked and answered while the database was down (not merely slow to answer).
    const whileDown = ready.filter((r) => r.sentAt >= times.down && r.answeredAt < times.starting);
    const afterBack = ready.filter((r) => r.sentAt >= times.back);
    t.diagnostic(`/ready while down: ${JSON.stringify(countBy(whileDown, (r) => r.status))}; after: ${JSON.stringify(countBy(afterBack, (r) => r.status))}`);
    assert.ok(whileDown.length > 0, `no /ready was answered while PostgreSQL was down (answers took up to ${Math.max(...ready.map((r) => r.answeredAt - r.sentAt))} ms)`);
    assert.deepEqual([...new Set(whileDown.map((r) => r.status))], [503], '/ready while PostgreSQL was down');
    for (const r of whileDown) assert.deepEqual({ status: r.body?.status, database: r.body?.database }, { status: 'unavailable', database: false });
    const firstOk = afterBack.find((r) => r.status === 200);
    assert.ok(firstOk && firstOk.answeredAt - times.back <= RECOVERY_BOUND_MS, `/ready did not say 200 within ${RECOVERY_BOUND_MS} ms of PostgreSQL being back`);
    assert.equal(afterBack.at(-1).status, 200, '/ready at the end');
  });

  it('the failed sends, resent with their client_id after recovery, are stored once', async (t) => {
    assert.ok(times, 'the crash scenario did not run');
    const failed = sends.filter((s) => !isOk(s));
    // A failed ack may still hide a commit (the server could not confirm it); the resend tells.
    const before = new Map((await allMessages(server, carol.token, group.id)).map((m) => [m.client_id, m]));
    const storedAnyway = failed.filter((s) => before.has(s.clientId));
    resent = [];
    for (const send of failed) {
      const message = await sendText(send.socket, group.id, send.content, { client_id: send.clientId }, ACK_TIMEOUT_MS);
      assert.equal(message.client_id, send.clientId);
      if (before.has(send.clientId)) assert.equal(message.id, before.get(send.clientId).id, `the resend of ${send.content} stored it again`);
      acked.set(send.clientId, message);
      resent.push(message);
    }
    t.diagnostic(`${failed.length} failed sends resent; ${storedAnyway.length} of them had been stored despite the failed ack`);
    // Everything emitted to carol before this has arrived once this has.
    const last = await barrier(sockets[0], group.id, [sockets[2]]);
    acked.set(last.client_id, last);
    intended.add(last.client_id);
  });

  it('history holds every acknowledged message exactly once, seq 1..N without gap or repeat', async () => {
    assert.ok(resent, 'the resends did not run');
    const history = await allMessages(server, carol.token, group.id);
    assertSeqHistory(history, history.length, [...acked.values()]);
    const byClientId = new Map();
    const duplicates = [];
    for (const m of history.filter((m) => m.client_id)) {
      if (byClientId.has(m.client_id)) duplicates.push(`${m.client_id} (${m.content})`);
      byClientId.set(m.client_id, m);
    }
    assert.deepEqual(duplicates, [], 'a client_id is stored twice');
    for (const [clientId, message] of acked) {
      assert.equal(byClientId.get(clientId)?.id, message.id, `acked message ${message.id} (${message.content}) is not in history under its id`);
    }
    const stray = history.filter((m) => m.message_type !== 'system' && !intended.has(m.client_id));
    assert.deepEqual(stray, [], 'history holds messages nobody sent');
    // After the resends every send is stored, each once.
    assert.equal(acked.size, intended.size, 'not every send was finally acknowledged');
  });

  it('the receiver holds every acknowledged message once: live, or by catching up with after_seq', async (t) => {
    assert.ok(resent, 'the resends did not run');
    const twice = [...received.values()].filter(([, n]) => n > 1).map(([m, n]) => `${m.id} (${m.content}) x${n}`);
    assert.deepEqual(twice, [], 'message:new delivered a message more than once');
    // Catch up as a client does: after_seq = the highest seq held with nothing missing below it.
    const held = new Map([...received.values()].map(([m]) => [m.seq, m]));
    let known = knownBefore;
    while (held.has(known + 1)) known++;
    const caughtUp = [];
    for (let cursor = known, more = true; more; ) {
      const res = await historyPage(server, carol.token, group.id, { after_seq: cursor, limit: 100 });
      assert.equal(res.status, 200, `after_seq=${cursor}: HTTP ${res.status} ${res.text}`);
      for (const m of res.body.messages) {
        if (!held.has(m.seq)) caughtUp.push(m);
        held.set(m.seq, m);
      }
      more = res.body.has_more && res.body.messages.length > 0;
      if (more) cursor = res.body.messages.at(-1).seq;
    }
    t.diagnostic(`carol received ${received.size} messages live, ${caughtUp.length} more by catching up from after_seq=${known}`);
    const heldIds = new Map([...held.values()].map((m) => [m.id, m]));
    assert.equal(heldIds.size, held.size, 'one message id under two seqs');
    const missed = [...acked.values()].filter((m) => heldIds.get(m.id)?.seq !== m.seq);
    assert.deepEqual(missed.map((m) => `${m.id} (${m.content})`), [], 'the receiver lacks acknowledged messages');
  });
});
