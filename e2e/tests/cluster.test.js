// Three chat-server instances on one PostgreSQL database and one Redis, behind a real nginx
// rendered from nginx/nginx.conf.template: instances started together on an empty database
// all come up, every event crosses instances, membership changes and blocks reach every
// instance at once, long-polling works through nginx only with sticky sessions, bodies and
// cookies pass nginx as the API expects, the users of an instance killed without a goodbye go offline, and seq stays
// contiguous when several instances write to one conversation.
//
// Needs PostgreSQL (runs in the E2E_DB=postgres pass), Redis (E2E_REDIS_URL, default
// redis://127.0.0.1:6379) and nginx (on PATH or /usr/sbin/nginx). Without them the suite is
// skipped with the reason, except when CI=true, where that is a failure.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ChatServer,
  dbMode,
  emitAck,
  expectNoEvent,
  sleep,
  uniqueUsername,
  waitFor,
} from '../lib/server.js';
import { allMessages, assertAckError, assertApiError, barrier, createDirect, createGroup, emitOk, newClientId, sendText } from '../lib/chat.js';
import {
  CI,
  Nginx,
  assertSeqHistory,
  clusterEnv as deploymentEnv,
  closeAllSockets,
  connectSocket,
  connectTo,
  contiguousUpTo,
  deleteRedisKeys,
  missingForCluster,
  sharedDatabase,
  socketTo,
} from '../lib/cluster.js';

const PRESENCE_TTL_S = 6;

// ---------------------------------------------------------------- prerequisites

const missing = [];
let skipReason = null;
if (dbMode() !== 'postgres') {
  // Several instances share one PostgreSQL database; the E2E_DB=postgres pass runs this suite.
  skipReason = 'the cluster suite runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  missing.push(...(await missingForCluster()));
  if (missing.length && !CI) skipReason = `cluster suite skipped: ${missing.join('; ')}`;
}
if (skipReason) process.stderr.write(`${skipReason}\n`);

const on = (server, user, transports = ['websocket']) => connectTo(server.url, user.token, { transports });

const isUser = (user) => (p) => p?.user_id === user.user.id;
const aboutMember = (conv, user) => (p) => p?.conversation_id === conv.id && p?.user?.id === user.user.id;

// ---------------------------------------------------------------- suites

/** Environment shared by every instance of one cluster. */
const clusterEnv = () => deploymentEnv({ presenceTtl: PRESENCE_TTL_S });

describe('cluster: instances started together on a fresh database', { skip: skipReason ?? false, timeout: 60_000 }, () => {
  it('three instances started at the same moment on an empty database all come up', async () => {
    assert.deepEqual(missing, [], `CI=true and the cluster suite cannot run: ${missing.join('; ')}`);
    const env = clusterEnv();
    const db = sharedDatabase();
    const servers = [0, 1, 2].map(() => new ChatServer({ database: db, env }));
    try {
      const results = await Promise.allSettled(servers.map((s) => s.start()));
      const failed = results
        .map((r, i) => {
          if (r.status !== 'rejected') return null;
          const lines = r.reason.message.split('\n');
          const cause = lines.find((line) => /\bERROR\b/.test(line)) ?? lines.slice(0, 3).join(' | ');
          return `instance ${i + 1}: ${lines[0]}: ${cause.trim()}`;
        })
        .filter(Boolean);
      assert.deepEqual(failed, [], `instances failed to start (concurrent migrations on one database):\n${failed.join('\n')}`);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      db.drop();
      deleteRedisKeys(env.REDIS_PREFIX);
    }
  });
});

describe('cluster: three instances, one database, one Redis, nginx in front', { skip: skipReason ?? false, timeout: 240_000 }, () => {
  let env;
  let db;
  let s1;
  let s2;
  let s3;
  let sticky;

  before(async () => {
    assert.deepEqual(missing, [], `CI=true and the cluster suite cannot run: ${missing.join('; ')}`);
    env = clusterEnv();
    db = sharedDatabase();
    // The first instance applies the migrations; the others start on the migrated database.
    s1 = new ChatServer({ database: db, env });
    await s1.start();
    s2 = new ChatServer({ database: db, env });
    s3 = new ChatServer({ database: db, env });
    await Promise.all([s2.start(), s3.start()]);
    sticky = new Nginx({ upstreams: [s1, s2, s3].map((s) => new URL(s.url).host), sticky: true });
    await sticky.start();
  });

  after(async () => {
    closeAllSockets();
    await sticky?.stop();
    await Promise.all([s1, s2, s3].map((s) => s?.stop()));
    db?.drop();
    if (env) deleteRedisKeys(env.REDIS_PREFIX);
  });

  describe('events cross instances', () => {
    let alice;
    let bob;
    let carol;
    let dave;
    let frank;
    let aliceSocket; // s1
    let bobSocket; // s2
    let carolSocket; // s3
    let daveSocket; // s2
    let group;

    before(async () => {
      [alice, bob, carol, dave, frank] = await Promise.all([1, 2, 3, 4, 5].map(() => s1.register()));
      await createDirect(s1, alice, bob);
      bobSocket = await on(s2, bob);
      carolSocket = await on(s3, carol);
      daveSocket = await on(s2, dave);
    });

    it('user:online: alice connecting on instance 1 is announced to bob on instance 2', async () => {
      const online = waitFor(bobSocket, 'user:online', isUser(alice));
      aliceSocket = await on(s1, alice);
      const payload = await online;
      assert.equal(payload.username, alice.user.username);
    });

    it('conversation:new reaches members on instances 2 and 3 when a group is created on instance 1', async () => {
      const name = `cluster ${newClientId().slice(0, 8)}`;
      const news = [bobSocket, carolSocket].map((s) => waitFor(s, 'conversation:new', (c) => c?.name === name));
      group = await createGroup(s1, alice, [bob, carol], name);
      for (const conv of await Promise.all(news)) assert.equal(conv.id, group.id);
    });

    it('message:new: each member sends from their instance and the others receive it', async () => {
      const members = [
        [alice, aliceSocket],
        [bob, bobSocket],
        [carol, carolSocket],
      ];
      for (const [sender, socket] of members) {
        const clientId = newClientId();
        const others = members.filter(([, s]) => s !== socket).map(([, s]) => s);
        const arrivals = others.map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
        const quiet = expectNoEvent(socket, 'message:new', 500, (m) => m?.client_id === clientId);
        const sent = await sendText(socket, group.id, `hello from ${sender.user.username}`, { client_id: clientId });
        for (const m of await Promise.all(arrivals)) {
          assert.equal(m.id, sent.id);
          assert.equal(m.seq, sent.seq);
          assert.equal(m.sender_id, sender.user.id);
        }
        await quiet;
      }
    });

    it('message:edit on instance 2 and message:delete on instance 3 reach the members on the other instances', async () => {
      const sent = await sendText(bobSocket, group.id, 'typo on instance 2');
      const updates = [aliceSocket, carolSocket].map((s) => waitFor(s, 'message:updated', (m) => m?.id === sent.id));
      const edit = await emitOk(bobSocket, 'message:edit', { message_id: sent.id, content: 'fixed on instance 2' });
      for (const m of await Promise.all(updates)) {
        assert.equal(m.content, 'fixed on instance 2');
        assert.equal(m.rev, edit.message.rev);
      }
      const carols = await sendText(carolSocket, group.id, 'taken back on instance 3');
      const deletes = [aliceSocket, bobSocket].map((s) => waitFor(s, 'message:deleted', (e) => e?.message_id === carols.id));
      const deleted = await emitOk(carolSocket, 'message:delete', { message_id: carols.id });
      for (const e of await Promise.all(deletes)) assert.equal(e.rev, deleted.message.rev);
      // Revisions of one conversation stay contiguous whichever instance took them.
      const res = await s3.get(`/api/conversations/${group.id}/messages?after_rev=0&limit=100`, { token: carol.token });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.last_rev, deleted.message.rev);
      const revs = res.body.messages.map((m) => m.rev);
      assert.deepEqual(revs, [...revs].sort((x, y) => x - y));
    });

    it('a reaction added on instance 1 and a reply sent on instance 3 reach the members on the other instances once, with the same rev, counts and quote', async () => {
      const parent = await sendText(bobSocket, group.id, 'react and reply from anywhere');
      const aboutIt = (e) => e?.message_id === parent.id;
      const heard = new Map([aliceSocket, bobSocket, carolSocket, daveSocket].map((s) => [s, []]));
      const listeners = [...heard].map(([s, seen]) => {
        const fn = (e) => aboutIt(e) && seen.push(e);
        s.on('message:reaction', fn);
        return () => s.off('message:reaction', fn);
      });
      try {
        // Alice reacts on instance 1: Bob (instance 2) and Carol (instance 3) hear it.
        const first = [bobSocket, carolSocket].map((s) => waitFor(s, 'message:reaction', aboutIt, 10_000));
        const added = await emitOk(aliceSocket, 'reaction:add', { message_id: parent.id, emoji: '👍' });
        assert.deepEqual(added.reactions, [{ emoji: '👍', count: 1 }]);
        assert.deepEqual(added.my_reactions, ['👍']);
        for (const e of await Promise.all(first)) {
          assert.deepEqual(e, {
            conversation_id: group.id, message_id: parent.id, rev: added.rev, user_id: alice.user.id, emoji: '👍', action: 'add', count: 1,
          });
        }
        // Carol adds the same over REST on instance 3: every member socket, hers included, hears count 2.
        const second = [aliceSocket, bobSocket, carolSocket].map((s) => waitFor(s, 'message:reaction', (e) => aboutIt(e) && e.user_id === carol.user.id, 10_000));
        const put = await s3.api('PUT', `/api/messages/${parent.id}/reactions/${encodeURIComponent('👍')}`, { token: carol.token });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.body.rev, added.rev + 1);
        assert.deepEqual(put.body.reactions, [{ emoji: '👍', count: 2 }]);
        for (const e of await Promise.all(second)) {
          assert.equal(e.rev, put.body.rev);
          assert.equal(e.count, 2);
        }

        // Carol replies on instance 3: Alice (instance 1) and Bob (instance 2) get the quote.
        const clientId = newClientId();
        const replies = [aliceSocket, bobSocket].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId, 10_000));
        const reply = await sendText(carolSocket, group.id, 'replying from instance 3', { reply_to: parent.id, client_id: clientId });
        assert.equal(reply.reply_to?.id, parent.id, JSON.stringify(reply));
        assert.equal(reply.reply_to.username, bob.user.username);
        assert.equal(reply.reply_to.content, parent.content);
        assert.equal(reply.reply_to.deleted, false);
        for (const m of await Promise.all(replies)) {
          assert.equal(m.id, reply.id);
          assert.equal(m.seq, reply.seq);
          assert.deepEqual(m.reply_to, reply.reply_to);
        }

        // Once a later message reached everyone, each socket heard each change once, Dave nothing.
        await barrier(aliceSocket, group.id, [bobSocket, carolSocket]);
        await barrier(bobSocket, group.id, [aliceSocket]);
        const changes = (socket) => heard.get(socket).map((e) => `${e.user_id}:${e.rev}:${e.count}`);
        const alices = `${alice.user.id}:${added.rev}:1`;
        const carols = `${carol.user.id}:${put.body.rev}:2`;
        assert.deepEqual(changes(aliceSocket), [carols], 'instance 1');
        assert.deepEqual(changes(bobSocket), [alices, carols], 'instance 2');
        assert.deepEqual(changes(carolSocket), [alices, carols], 'instance 3');
        assert.deepEqual(changes(daveSocket), [], 'a non-member on instance 2');

        // Every instance reads the same state.
        for (const [instance, user] of [[s1, alice], [s2, bob], [s3, carol]]) {
          const res = await instance.get(`/api/conversations/${group.id}/messages?after_rev=${added.rev - 1}&limit=100`, { token: user.token });
          assert.equal(res.status, 200, res.text);
          const p = res.body.messages.find((m) => m.id === parent.id);
          assert.ok(p, `instance ${instance.url}: the reacted message is not among the changes`);
          assert.equal(p.rev, put.body.rev);
          assert.deepEqual(p.reactions, [{ emoji: '👍', count: 2 }]);
          assert.equal(p.reply_count, 1);
          assert.deepEqual(p.my_reactions, user === bob ? [] : ['👍']);
          assert.deepEqual(res.body.messages.find((m) => m.id === reply.id)?.reply_to, reply.reply_to);
        }
      } finally {
        for (const off of listeners) off();
      }
    });

    it('message:read from instance 2 reaches instances 1 and 3', async () => {
      const delivered = waitFor(bobSocket, 'message:new', (m) => m?.content === 'read me');
      const last = await sendText(aliceSocket, group.id, 'read me');
      await delivered;
      const isBobsRead = (r) => r?.conversation_id === group.id && r?.user_id === bob.user.id && r?.message_id === last.id;
      const reads = [aliceSocket, carolSocket].map((s) => waitFor(s, 'message:read', isBobsRead));
      await emitOk(bobSocket, 'message:read', { conversation_id: group.id, message_id: last.id });
      for (const r of await Promise.all(reads)) assert.equal(typeof r.read_at, 'string');
    });

    it('typing:start / typing:stop from instance 3 reach instances 1 and 2', async () => {
      const isCarol = (t) => t?.conversation_id === group.id && t?.user_id === carol.user.id;
      const starts = [aliceSocket, bobSocket].map((s) => waitFor(s, 'typing:start', isCarol));
      await emitOk(carolSocket, 'typing:start', { conversation_id: group.id });
      for (const t of await Promise.all(starts)) assert.equal(t.username, carol.user.username);
      const stops = [aliceSocket, bobSocket].map((s) => waitFor(s, 'typing:stop', isCarol, 3_000));
      await emitOk(carolSocket, 'typing:stop', { conversation_id: group.id });
      await Promise.all(stops);
    });

    it('conversation:member_joined / member_left cross instances; the new member receives and sends', async () => {
      // Alice (instance 1) adds Dave, who is connected to instance 2.
      const added = waitFor(daveSocket, 'conversation:new', (c) => c?.id === group.id);
      const joined = [aliceSocket, bobSocket, carolSocket].map((s) => waitFor(s, 'conversation:member_joined', aboutMember(group, dave)));
      const res = await s1.post(`/api/conversations/${group.id}/members`, { user_id: dave.user.id }, { token: alice.token });
      assert.ok([200, 201].includes(res.status), `add member: HTTP ${res.status} ${res.text}`);
      await added;
      await Promise.all(joined);

      // His socket on instance 2 is in the conversation's room: he gets Carol's message (instance 3) ...
      const clientId = newClientId();
      const toDave = waitFor(daveSocket, 'message:new', (m) => m?.client_id === clientId);
      await sendText(carolSocket, group.id, 'welcome dave', { client_id: clientId });
      await toDave;
      // ... and what he sends reaches instances 1 and 3.
      await barrier(daveSocket, group.id, [aliceSocket, carolSocket]);

      // He leaves through instance 3 (REST); everyone hears it.
      const left = [aliceSocket, bobSocket, carolSocket].map((s) => waitFor(s, 'conversation:member_left', aboutMember(group, dave)));
      const leave = await s3.post(`/api/conversations/${group.id}/leave`, undefined, { token: dave.token });
      assert.equal(leave.status, 204, `leave: HTTP ${leave.status} ${leave.text}`);
      await Promise.all(left);
    });

    it('a user with sockets on two instances gets message:new on both; the sender\'s own tab on another instance too', async () => {
      const frank2 = await on(s2, frank);
      const frank3 = await on(s3, frank);
      const direct = await createDirect(s1, alice, frank);
      const aliceTab3 = await on(s3, alice);

      let clientId = newClientId();
      const arrivals = [frank2, frank3, aliceTab3].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
      const quiet = expectNoEvent(aliceSocket, 'message:new', 1_000, (m) => m?.client_id === clientId);
      const sent = await sendText(aliceSocket, direct.id, 'to both of your tabs', { client_id: clientId });
      for (const m of await Promise.all(arrivals)) assert.equal(m.id, sent.id);
      await quiet;

      clientId = newClientId();
      const back = [aliceSocket, aliceTab3, frank3].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
      const quietSender = expectNoEvent(frank2, 'message:new', 1_000, (m) => m?.client_id === clientId);
      await sendText(frank2, direct.id, 'reply from instance 2', { client_id: clientId });
      await Promise.all(back);
      await quietSender;
      aliceTab3.disconnect();
    });

    it('user:offline: bob closing his only socket (instance 2) is announced to alice on instance 1', async () => {
      const offline = waitFor(aliceSocket, 'user:offline', isUser(bob));
      bobSocket.disconnect();
      const payload = await offline;
      assert.equal(payload.username, bob.user.username);
      assert.equal(typeof payload.last_seen, 'string');
      const online = waitFor(aliceSocket, 'user:online', isUser(bob));
      bobSocket = await on(s2, bob);
      await online;
    });
  });

  describe('membership changes reach every instance', () => {
    it('a member who leaves through instance 1 stops receiving on instances 2 and 3 at once, and is refused there', async () => {
      const [alice, bob, carol, eve] = await Promise.all([1, 2, 3, 4].map(() => s1.register()));
      const aliceSocket = await on(s1, alice);
      const bobSocket = await on(s2, bob);
      const carolSocket = await on(s3, carol);
      const eve2 = await on(s2, eve);
      const eve3 = await on(s3, eve);
      const name = `leavers ${newClientId().slice(0, 8)}`;
      const joined = [eve2, eve3].map((s) => waitFor(s, 'conversation:new', (c) => c?.name === name));
      const group = await createGroup(s1, alice, [bob, carol, eve], name);
      await Promise.all(joined);

      // Eve is a member everywhere: she receives on both instances and sends from both
      // (which also puts her membership into the caches of instances 2 and 3).
      await barrier(aliceSocket, group.id, [eve2, eve3, bobSocket, carolSocket]);
      await barrier(eve3, group.id, [aliceSocket, eve2]);
      await barrier(eve2, group.id, [aliceSocket, eve3]);
      const eveHistory = await s3.get(`/api/conversations/${group.id}/messages`, { token: eve.token });
      assert.equal(eveHistory.status, 200);

      const afterLeave = [];
      for (const socket of [eve2, eve3]) {
        socket.on('message:new', (m) => {
          if (m?.conversation_id === group.id && m?.message_type !== 'system') afterLeave.push(m);
        });
      }
      const leave = await s1.post(`/api/conversations/${group.id}/leave`, undefined, { token: eve.token });
      assert.equal(leave.status, 204, `leave: HTTP ${leave.status} ${leave.text}`);

      // Immediately: her sends are refused on instances 3 and 2 ...
      const refused3 = await emitAck(eve3, 'message:send', { conversation_id: group.id, content: 'eve after leaving (3)', client_id: newClientId() });
      assertAckError(refused3, 'not_found');
      const refused2 = await emitAck(eve2, 'message:send', { conversation_id: group.id, content: 'eve after leaving (2)', client_id: newClientId() });
      assertAckError(refused2, 'not_found');
      const rest3 = await s3.post(`/api/conversations/${group.id}/messages`, { content: 'eve after leaving (REST 3)' }, { token: eve.token });
      assertApiError(rest3, 404, 'not_found');
      assertApiError(await s2.get(`/api/conversations/${group.id}/messages`, { token: eve.token }), 404, 'not_found');

      // ... and the members' messages no longer reach her sockets on instances 2 and 3.
      await barrier(aliceSocket, group.id, [bobSocket, carolSocket]);
      await barrier(carolSocket, group.id, [aliceSocket, bobSocket]);
      await barrier(bobSocket, group.id, [aliceSocket, carolSocket]);
      await sleep(200);
      assert.deepEqual(
        afterLeave.map((m) => m.content),
        [],
        'eve received messages after leaving',
      );
      const stored = await allMessages(s1, alice.token, group.id);
      const leaked = stored.filter((m) => m.content.startsWith('eve after leaving'));
      assert.deepEqual(leaked, [], 'a refused message was stored');
    });
  });

  describe('blocks reach every instance', () => {
    it('a block made through instance 1 refuses the next send on instance 2 at once; unblocking restores it there at once', async () => {
      const [alice, bob] = await Promise.all([1, 2].map(() => s1.register()));
      const direct = await createDirect(s1, alice, bob);
      const aliceSocket = await on(s3, alice);
      const bobSocket = await on(s2, bob);
      // Instance 2 holds the conversation and the pair's blocks in memory now.
      await barrier(bobSocket, direct.id, [aliceSocket]);
      for (let round = 0; round < 3; round++) {
        const blocked = await s1.api('POST', `/api/users/${bob.user.id}/block`, { token: alice.token });
        assert.equal(blocked.status, 204, `block: HTTP ${blocked.status} ${blocked.text}`);
        const nothing = expectNoEvent(aliceSocket, 'message:new', 500, (m) => m?.conversation_id === direct.id);
        const refused = await emitAck(bobSocket, 'message:send', { conversation_id: direct.id, content: `blocked ${round}`, client_id: newClientId() });
        assertAckError(refused, 'blocked');
        assertApiError(await s2.post(`/api/conversations/${direct.id}/messages`, { content: `blocked REST ${round}` }, { token: bob.token }), 403, 'blocked');
        await nothing;
        const unblocked = await s1.api('DELETE', `/api/users/${bob.user.id}/block`, { token: alice.token });
        assert.equal(unblocked.status, 204, `unblock: HTTP ${unblocked.status} ${unblocked.text}`);
        await barrier(bobSocket, direct.id, [aliceSocket]);
      }
      const stored = await allMessages(s1, alice.token, direct.id);
      assert.deepEqual(stored.filter((m) => m.content.startsWith('blocked')), [], 'a refused message was stored');
    });
  });

  describe('seq across instances', () => {
    const PER_CLIENT = 50;
    const WINDOW = 10;
    let users;
    let sockets; // users[i] on instance i+1
    let group;
    let baseline;

    before(async () => {
      users = await Promise.all([1, 2, 3].map(() => s1.register()));
      sockets = await Promise.all([s1, s2, s3].map((s, i) => on(s, users[i])));
      const name = `seq ${newClientId().slice(0, 8)}`;
      const joined = sockets.slice(1).map((s) => waitFor(s, 'conversation:new', (c) => c?.name === name));
      group = await createGroup(s1, users[0], users.slice(1), name);
      await Promise.all(joined);
      baseline = (await allMessages(s1, users[0].token, group.id)).length;
    });

    /** Sends `count` messages from `socket`, at most WINDOW awaiting their ack; resolves to the acked messages. */
    async function sendMany(socket, label, count, window = WINDOW) {
      const acked = [];
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const n = next++;
          acked.push(await sendText(socket, group.id, `${label} ${n}`, { client_id: newClientId() }, 20_000));
        }
      };
      await Promise.all(Array.from({ length: window }, worker));
      return acked;
    }

    it(`3 clients on 3 instances send ${PER_CLIENT} messages each at once: history has seq 1..N, no gap, no repeat`, async () => {
      const received = sockets.map((socket) => {
        const seen = [];
        socket.on('message:new', (m) => {
          if (m?.conversation_id === group.id) seen.push(m);
        });
        return seen;
      });
      const acked = await Promise.all(sockets.map((s, i) => sendMany(s, `instance ${i + 1}`, PER_CLIENT)));
      const all = acked.flat();
      const total = baseline + 3 * PER_CLIENT;

      const history = await allMessages(s2, users[1].token, group.id);
      assertSeqHistory(history, total, all);

      // Every member receives the others' messages, whatever instance they were sent on.
      const deadline = Date.now() + 10_000;
      const expected = sockets.map((_, i) => all.filter((m) => m.sender_id !== users[i].user.id).length);
      while (received.some((seen, i) => seen.length < expected[i]) && Date.now() < deadline) await sleep(100);
      for (const [i, seen] of received.entries()) {
        const others = new Set(acked.filter((_, j) => j !== i).flat().map((m) => m.id));
        const got = new Set(seen.map((m) => m.id));
        const lost = [...others].filter((id) => !got.has(id));
        assert.deepEqual(lost, [], `instance ${i + 1} client did not receive ${lost.length} of ${others.size} messages`);
        assert.equal(seen.length, got.size, `instance ${i + 1} client received a message twice`);
      }
    });

    it('a client that drops, misses messages and reconnects to another instance catches up with after_seq exactly', async () => {
      const u3 = users[2];
      const held = new Map(); // seq -> message held by u3's client
      for (const m of await allMessages(s3, u3.token, group.id)) held.set(m.seq, m);
      const keep = (m) => {
        if (m?.conversation_id === group.id) held.set(m.seq, m);
      };
      sockets[2].on('message:new', keep);

      // Instances 1 and 2 keep sending, one message every ~25 ms each.
      let offlineFrom = Infinity;
      let offlineUntil = Infinity;
      const sentWhileOffline = [];
      const sender = (socket, label) =>
        (async () => {
          const acked = [];
          for (let n = 0; n < 40; n++) {
            const m = await sendText(socket, group.id, `${label} ${n}`, { client_id: newClientId() }, 20_000);
            acked.push(m);
            const now = Date.now();
            if (now > offlineFrom && now < offlineUntil) sentWhileOffline.push(m);
            await sleep(25);
          }
          return acked;
        })();
      const senders = Promise.all([sender(sockets[0], 'steady 1'), sender(sockets[1], 'steady 2')]);

      await sleep(400);
      // u3 drops off instance 3 (its client keeps what it has) ...
      sockets[2].off('message:new', keep);
      sockets[2].disconnect();
      offlineFrom = Date.now();
      const highest = contiguousUpTo([...held.keys()]);
      await sleep(800);
      // ... and comes back on instance 1, listening before it asks for what it missed.
      const back = socketTo(s1.url, u3.token, { transports: ['websocket'] });
      const live = [];
      back.on('message:new', (m) => {
        if (m?.conversation_id === group.id) live.push(m);
      });
      await connectSocket(back);
      offlineUntil = Date.now();
      const fetched = [];
      let cursor = highest;
      for (;;) {
        const res = await s1.get(`/api/conversations/${group.id}/messages?after_seq=${cursor}&limit=100`, { token: u3.token });
        assert.equal(res.status, 200, `after_seq=${cursor}: HTTP ${res.status} ${res.text}`);
        fetched.push(...res.body.messages);
        if (!res.body.has_more) break;
        cursor = res.body.messages.at(-1).seq;
      }
      const acked = (await senders).flat();
      const lastSeq = Math.max(...acked.map((m) => m.seq));
      const deadline = Date.now() + 10_000;
      while (!live.some((m) => m.seq === lastSeq) && !fetched.some((m) => m.seq === lastSeq) && Date.now() < deadline) await sleep(50);

      assert.ok(sentWhileOffline.length > 0, 'no message was sent while the client was away');
      const fetchedSeqs = fetched.map((m) => m.seq);
      assert.equal(new Set(fetchedSeqs).size, fetchedSeqs.length, `after_seq=${highest} returned a message twice`);
      assert.deepEqual(
        fetchedSeqs,
        Array.from({ length: fetchedSeqs.length }, (_, i) => highest + 1 + i),
        `after_seq=${highest} did not return the messages after ${highest} in order without a gap`,
      );
      const fetchedIds = new Set(fetched.map((m) => m.id));
      for (const m of sentWhileOffline) {
        if (m.seq > highest) assert.ok(fetchedIds.has(m.id), `message seq ${m.seq} sent while away was not fetched`);
        else assert.equal(held.get(m.seq)?.id, m.id, `message seq ${m.seq} is neither held nor fetched`);
      }
      assert.ok(fetched.some((m) => !held.has(m.seq)), 'the client missed nothing while away: the test proves nothing');

      // What the client now has (kept + fetched + received live) is 1..last, each once.
      const have = new Map(held);
      for (const m of [...fetched, ...live]) {
        const known = have.get(m.seq);
        if (known) assert.equal(known.id, m.id, `seq ${m.seq} names two different messages`);
        have.set(m.seq, m);
      }
      assert.equal(contiguousUpTo([...have.keys()]), lastSeq, 'the client is missing messages after catching up');
      assert.equal(have.size, lastSeq);
      assert.ok(acked.every((m) => have.get(m.seq)?.id === m.id), 'an acked message is not what the client holds at its seq');
      sockets[2] = back;
    });
  });

  describe('through nginx', () => {
    it('serves /health, and the client with a single-page-app fallback and gzip', async () => {
      const health = await fetch(`${sticky.url}/health`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, 'ok');

      const page = await fetch(`${sticky.url}/c/some/client/route`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(await page.text(), readFileSync(path.join(sticky.clientDir, 'index.html'), 'utf8'));

      const assets = readdirSync(path.join(sticky.clientDir, 'assets'))
        .filter((f) => f.endsWith('.js'))
        .map((f) => ({ f, size: statSync(path.join(sticky.clientDir, 'assets', f)).size }))
        .sort((a, b) => b.size - a.size);
      assert.ok(assets.length > 0, 'no JavaScript asset in the client');
      const script = await fetch(`${sticky.url}/assets/${assets[0].f}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(script.status, 200);
      assert.equal(script.headers.get('content-encoding'), 'gzip', 'JavaScript assets are not gzipped');
      await script.arrayBuffer();
    });

    /**
     * POSTs `body` to `url` with a bearer token; resolves to {status, text, json} (status is a
     * string when the connection failed).
     */
    async function post(url, token, body, headers = {}) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });
        const text = await res.text();
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        return { status: res.status, text, json };
      } catch (err) {
        return { status: `connection error: ${err.cause?.code ?? err.message}`, text: '', json: null };
      }
    }
    const MiB = 1024 * 1024;
    const jsonOf = (size) => JSON.stringify({ type: 'group', name: 'x'.repeat(size), member_ids: [] });
    const imageForm = (size) => {
      const form = new FormData();
      form.append('image', new Blob([Buffer.alloc(size)], { type: 'image/png' }), 'large.png');
      return form;
    };
    const summary = (res) => `HTTP ${res.status} ${res.text.slice(0, 100).replace(/\s+/g, ' ')}`;

    it('nginx passes bodies up to 26 MB to the instances, refuses larger ones itself, and a refused body moves no client', async () => {
      const [p1, p2] = await Promise.all([1, 2].map(() => s1.register()));
      const direct = await createDirect(s1, p1, p2);
      const a = await connectTo(sticky.url, p1.token, { transports: ['polling'] });
      const b = await connectTo(sticky.url, p2.token, { transports: ['polling'] });
      const drops = [];
      for (const s of [a, b]) s.on('disconnect', (reason) => drops.push(reason));

      // nginx's own refusal is its HTML page; the API answers in JSON.
      const refusedByNginx = (res) => res.status === 413 && /413 Request Entity Too Large/.test(res.text);
      const json = { 'content-type': 'application/json' };
      const fits = await post(`${sticky.url}/api/conversations`, p1.token, jsonOf(25.5 * MiB), json);
      assert.ok(!refusedByNginx(fits), `nginx refused a 25.5 MB body (client_max_body_size): ${summary(fits)}`);
      const upload = await post(`${sticky.url}/api/upload`, p1.token, imageForm(25.5 * MiB));
      assert.ok(!refusedByNginx(upload), `nginx refused a 25.5 MB upload (client_max_body_size): ${summary(upload)}`);
      const tooLarge = await post(`${sticky.url}/api/conversations`, p1.token, jsonOf(27 * MiB), json);
      assert.ok(refusedByNginx(tooLarge), `nginx did not refuse a 27 MB body: ${summary(tooLarge)}`);

      // Whatever the instance did with those bodies, the clients pinned to it keep their sessions.
      await barrier(a, direct.id, [b]);
      await barrier(b, direct.id, [a]);
      assert.deepEqual(drops, [], 'polling clients were disconnected after large bodies were refused');
      a.disconnect();
      b.disconnect();
    });

    it('bodies over the API limits get the API\'s 413 payload_too_large through nginx (JSON over 64 KiB, uploads over 25 MiB)', async () => {
      const user = await s1.register();
      const json = { 'content-type': 'application/json' };
      // Each size a few times: whether the answer survives depends on timing.
      const cases = [];
      for (let n = 1; n <= 4; n++) {
        for (const [label, size] of [['256 KiB', 256 * 1024], ['1 MiB', MiB], ['5.5 MiB', 5.5 * MiB]]) {
          cases.push([`${label} of JSON (#${n})`, () => post(`${sticky.url}/api/conversations`, user.token, jsonOf(size), json)]);
        }
        cases.push([`a 25.5 MiB upload (#${n})`, () => post(`${sticky.url}/api/upload`, user.token, imageForm(25.5 * MiB))]);
      }
      const wrong = [];
      for (const [label, request] of cases) {
        const res = await request();
        if (res.status !== 413 || res.json?.code !== 'payload_too_large') wrong.push(`${label}: ${summary(res)}`);
      }
      assert.deepEqual(wrong, [], 'expected HTTP 413 {"code": "payload_too_large"} from the API');
    });

    it('a cookie-authenticated POST from the page\'s own origin passes through nginx; a foreign origin is refused', async () => {
      const username = uniqueUsername('cookie');
      const reg = await fetch(`${sticky.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, email: `${username}@example.com`, password: 'correct-horse-battery-9' }),
      });
      assert.equal(reg.status, 201, `register through nginx: HTTP ${reg.status}`);
      await reg.arrayBuffer();
      const refresh = reg.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('refresh_token='));
      assert.ok(refresh, 'no refresh_token cookie');
      const refreshWith = (origin) =>
        fetch(`${sticky.url}/api/auth/refresh`, { method: 'POST', headers: { cookie: refresh, origin } }).then(async (res) => ({
          status: res.status,
          text: await res.text(),
        }));
      const foreign = await refreshWith('http://attacker.example');
      assert.equal(foreign.status, 403, `a foreign origin was not refused: HTTP ${foreign.status} ${foreign.text}`);
      // The browser's Origin carries the port; nginx must pass a Host that does too.
      const own = await refreshWith(sticky.url);
      assert.equal(own.status, 200, `refresh from the page's own origin through nginx: HTTP ${own.status} ${own.text}`);
      assert.equal(typeof JSON.parse(own.text).token, 'string');
    });

    it('polling-only, WebSocket-only and default clients exchange messages through nginx (and with direct clients)', async () => {
      const username = uniqueUsername('nginx');
      const reg = await fetch(`${sticky.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, email: `${username}@example.com`, password: 'correct-horse-battery-9' }),
      });
      assert.equal(reg.status, 201, `register through nginx: HTTP ${reg.status}`);
      const viaNginx = await reg.json();
      const [ws, dflt, d2, d3] = await Promise.all([1, 2, 3, 4].map(() => s1.register()));
      const group = await createGroup(s1, viaNginx, [ws, dflt, d2, d3], `nginx ${newClientId().slice(0, 8)}`);
      const polling = await connectTo(sticky.url, viaNginx.token, { transports: ['polling'] });
      const websocket = await connectTo(sticky.url, ws.token, { transports: ['websocket'] });
      const upgrading = await connectTo(sticky.url, dflt.token, { transports: ['polling', 'websocket'] });
      const direct2 = await on(s2, d2);
      const direct3 = await on(s3, d3);
      const all = [polling, websocket, upgrading, direct2, direct3];
      for (const sender of all) {
        await barrier(
          sender,
          group.id,
          all.filter((s) => s !== sender),
        );
      }
      assert.equal(polling.io.engine.transport.name, 'polling');
      assert.equal(websocket.io.engine.transport.name, 'websocket');
      const deadline = Date.now() + 5_000;
      while (upgrading.io.engine.transport.name !== 'websocket' && Date.now() < deadline) await sleep(50);
      assert.equal(upgrading.io.engine.transport.name, 'websocket', 'the default client did not upgrade to WebSocket through nginx');
      for (const s of [polling, websocket, upgrading]) s.disconnect();
    });

    it('polling-only clients stay connected through 60 s of traffic both ways (a message every 2 s), nothing lost', { timeout: 120_000 }, async () => {
      const [p1, p2] = await Promise.all([1, 2].map(() => s1.register()));
      const direct = await createDirect(s1, p1, p2);
      const a = await connectTo(sticky.url, p1.token, { transports: ['polling'] });
      const b = await connectTo(sticky.url, p2.token, { transports: ['polling'] });
      const trouble = [];
      for (const [label, s] of [['p1', a], ['p2', b]]) {
        s.on('disconnect', (reason) => trouble.push(`${label} disconnected: ${reason}`));
        s.on('connect_error', (err) => trouble.push(`${label} connect_error: ${err.message}`));
      }
      const receivedBy = { a: new Set(), b: new Set() };
      a.on('message:new', (m) => m?.conversation_id === direct.id && receivedBy.a.add(m.client_id));
      b.on('message:new', (m) => m?.conversation_id === direct.id && receivedBy.b.add(m.client_id));
      const sentBy = { a: [], b: [] };
      const started = Date.now();
      let round = 0;
      while (Date.now() - started < 60_000 && trouble.length === 0) {
        const ida = newClientId();
        const idb = newClientId();
        sentBy.a.push(ida);
        sentBy.b.push(idb);
        const [ackA, ackB] = await Promise.all([
          emitAck(a, 'message:send', { conversation_id: direct.id, content: `a ${round}`, client_id: ida }, 10_000).catch((e) => ({ error: e.message })),
          emitAck(b, 'message:send', { conversation_id: direct.id, content: `b ${round}`, client_id: idb }, 10_000).catch((e) => ({ error: e.message })),
        ]);
        if (ackA?.success !== true) trouble.push(`p1 send ${round}: ${JSON.stringify(ackA)}`);
        if (ackB?.success !== true) trouble.push(`p2 send ${round}: ${JSON.stringify(ackB)}`);
        round++;
        await sleep(Math.max(0, started + round * 2_000 - Date.now()));
      }
      const deadline = Date.now() + 5_000;
      const complete = () => sentBy.a.every((id) => receivedBy.b.has(id)) && sentBy.b.every((id) => receivedBy.a.has(id));
      while (!complete() && Date.now() < deadline) await sleep(100);
      assert.deepEqual(trouble, [], 'polling clients had trouble through nginx');
      assert.ok(Date.now() - started >= 60_000, 'the traffic did not last 60 s');
      assert.ok(a.connected && b.connected, 'a polling client is no longer connected');
      assert.equal(a.io.engine.transport.name, 'polling');
      const lostToB = sentBy.a.filter((id) => !receivedBy.b.has(id)).length;
      const lostToA = sentBy.b.filter((id) => !receivedBy.a.has(id)).length;
      assert.equal(lostToB + lostToA, 0, `lost messages: ${lostToB} of ${sentBy.a.length} to p2, ${lostToA} of ${sentBy.b.length} to p1`);
      a.disconnect();
      b.disconnect();
    });

    it('without the sticky directive the same polling-only clients fail (the configuration matters)', { timeout: 60_000 }, async (t) => {
      const roundRobin = new Nginx({ upstreams: [s1, s2, s3].map((s) => new URL(s.url).host), sticky: false });
      await roundRobin.start();
      assert.doesNotMatch(readFileSync(roundRobin.configPath, 'utf8'), /^\s*hash\s/m);
      const failures = [];
      const sockets = [];
      try {
        const [p1, p2] = await Promise.all([1, 2].map(() => s1.register()));
        const direct = await createDirect(s1, p1, p2);
        const started = Date.now();
        // Within the window, connect polling-only clients and exchange messages until something breaks.
        while (failures.length === 0 && Date.now() - started < 30_000) {
          let a;
          let b;
          try {
            a = await connectTo(roundRobin.url, p1.token, { transports: ['polling'] });
            sockets.push(a);
            b = await connectTo(roundRobin.url, p2.token, { transports: ['polling'] });
            sockets.push(b);
          } catch (err) {
            failures.push(`connect_error: ${err.message}`);
            break;
          }
          for (const [label, s] of [['p1', a], ['p2', b]]) {
            s.on('disconnect', (reason) => {
              if (reason !== 'io client disconnect') failures.push(`${label} disconnected: ${reason}`);
            });
          }
          for (let i = 0; i < 10 && failures.length === 0; i++) {
            const clientId = newClientId();
            const arrival = waitFor(b, 'message:new', (m) => m?.client_id === clientId, 3_000);
            const ack = await emitAck(a, 'message:send', { conversation_id: direct.id, content: `rr ${i}`, client_id: clientId }, 3_000).catch(
              (e) => ({ error: e.message }),
            );
            if (ack?.success !== true) failures.push(`send not acknowledged: ${JSON.stringify(ack)}`);
            else await arrival.catch(() => failures.push('message lost'));
            await sleep(300);
          }
          a.disconnect();
          b.disconnect();
        }
      } finally {
        for (const s of sockets) s.disconnect();
        const log = roundRobin.accessLog();
        await roundRobin.stop();
        const upstreamsUsed = new Set([...log.matchAll(/upstream=(\S+)/g)].map((m) => m[1]).filter((u) => u !== '-'));
        t.diagnostic(`without stickiness: ${failures[0] ?? 'no failure'}; upstreams used: ${[...upstreamsUsed].join(' ')}`);
      }
      assert.ok(failures.length > 0, 'polling-only clients worked through nginx without sticky sessions: the test cannot show that stickiness matters');
    });
  });

  describe('an instance that dies', () => {
    it(`SIGKILL of an instance: its user is reported offline on another instance within 30 s (PRESENCE_TTL=${PRESENCE_TTL_S})`, { timeout: 60_000 }, async (t) => {
      const [yan, zed] = await Promise.all([1, 2].map(() => s1.register()));
      await createDirect(s1, yan, zed);
      const yanSocket = await on(s1, yan);
      const online = waitFor(yanSocket, 'user:online', isUser(zed));
      await on(s3, zed); // zed is connected to instance 3 only
      await online;

      const offline = waitFor(yanSocket, 'user:offline', isUser(zed), 30_000);
      const killedAt = Date.now();
      await s3.kill('SIGKILL');
      const payload = await offline;
      const elapsed = Date.now() - killedAt;
      t.diagnostic(`user:offline ${elapsed} ms after SIGKILL`);
      assert.ok(elapsed <= 30_000, `user:offline came after ${elapsed} ms`);
      assert.equal(payload.username, zed.user.username);
      const profile = await s2.get(`/api/users/${zed.user.id}`, { token: yan.token });
      assert.equal(profile.status, 200);
      assert.equal(profile.body?.user?.status, 'offline', `profile after the instance died: ${profile.text}`);
    });
  });
});
