// Every socket.io client version across two instances behind nginx: socket.io-client 2.x, 3.x
// and 4.x and python-socketio, each over WebSocket and long-polling, seated on both instances
// (nginx's sticky hash sends each client address to one of them), chat in one conversation and
// each message reaches every other socket exactly once; in one group they also exchange read and
// delivered receipts, typing and presence, each event reaching every socket it is for exactly
// once. The tokens, passed in the query, stay out of both instances' logs and nginx's access log.
//
// Needs PostgreSQL (runs in the E2E_DB=postgres pass), Redis and nginx; without them it is
// skipped with the reason, except when CI=true.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRACE_REQUESTS_LOG, assertNotLogged, dbMode, expectNoEvent, sleep } from '../lib/server.js';
import { allMessages, assertTimestamp, createGroup } from '../lib/chat.js';
import {
  CI,
  Nginx,
  addressesPerUpstream,
  clusterEnv,
  deleteRedisKeys,
  missingForCluster,
  relay,
  sharedDatabase,
  startInstances,
} from '../lib/cluster.js';
import { CLIENT_KINDS, closeAllClients, openClient, pythonAvailable } from '../lib/clients.js';

let skipReason = null;
if (dbMode() !== 'postgres') {
  skipReason = 'the client versions cluster suite runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  const missing = await missingForCluster();
  if (missing.length && !CI) skipReason = `client versions cluster suite skipped: ${missing.join('; ')}`;
}
if (skipReason) process.stderr.write(`${skipReason}\n`);

const KINDS = CLIENT_KINDS.filter((kind) => kind !== 'python' || pythonAvailable() || CI);

/** The events a member's socket hears about the others in a group, counted per socket below. */
const TALLIED = ['message:new', 'message:delivered', 'message:read', 'typing:start', 'typing:stop', 'user:online', 'user:offline'];

describe('every client version across two instances behind nginx', { skip: skipReason ?? false, timeout: 180_000 }, () => {
  let env;
  let db;
  let servers = [];
  let nginx;
  let relays = [];

  before(async () => {
    // Both instances log every request and packet: the tokens must stay out of all of it.
    env = clusterEnv({ RUST_LOG: TRACE_REQUESTS_LOG });
    db = sharedDatabase();
    servers = await startInstances(2, env, db);
    const upstreams = servers.map((s) => new URL(s.url).host);
    nginx = new Nginx({ upstreams, sticky: true });
    await nginx.start();
    // A relay per instance: a client that connects to it reaches nginx from an address the
    // sticky hash sends to that instance.
    const addresses = await addressesPerUpstream(nginx, upstreams);
    relays = await Promise.all(upstreams.map((u) => relay(new URL(nginx.url).host, addresses.get(u))));
  });

  after(async () => {
    await closeAllClients();
    await Promise.all(relays.map((r) => r.stop()));
    await nginx?.stop();
    await Promise.all(servers.map((s) => s?.stop()));
    db?.drop();
    if (env) deleteRedisKeys(env.REDIS_PREFIX);
  });

  it('v2, v3, v4 and python on both instances chat in one conversation; each message reaches every other socket once', async () => {
    const seats = [];
    for (const kind of KINDS) {
      for (const [instance, transport] of [[0, 'websocket'], [1, 'polling'], [1, 'websocket'], [0, 'polling']]) {
        seats.push({ kind, instance, transport });
      }
    }
    const accounts = await Promise.all(seats.map(() => servers[0].register()));
    const [owner, ...members] = accounts;
    const group = await createGroup(servers[0], owner, members, 'every client, two instances');
    const clients = [];
    for (const [i, seat] of seats.entries()) {
      const client = await openClient(seat.kind, relays[seat.instance].url, accounts[i].token, { transport: seat.transport, tokenIn: 'query' });
      client.label += `@${seat.instance + 1}`;
      clients.push(client);
    }
    await sleep(300);
    const acked = [];
    for (const [i, client] of clients.entries()) {
      const ack = await client.emitAck('message:send', { conversation_id: group.id, content: `from ${client.label}`, client_id: `cluster-${i}` });
      assert.equal(ack?.success, true, `${client.label}: ${JSON.stringify(ack)}`);
      acked.push(ack.message);
    }
    const stored = await allMessages(servers[1], owner.token, group.id);
    assert.deepEqual(stored.map((m) => m.id), acked.map((m) => m.id));
    assert.deepEqual(stored.map((m) => m.seq), stored.map((_, i) => i + 1));
    for (const [i, client] of clients.entries()) {
      for (const [j, message] of stored.entries()) {
        if (i === j) continue;
        const heard = await client.next('message:new', (m) => m.id === message.id, 10_000);
        assert.equal(heard.content, message.content);
        assert.equal(heard.seq, message.seq);
        assert.equal(heard.created_at, message.created_at);
      }
    }
    await Promise.all(clients.map((client) => expectNoEvent(client, 'message:new', 500)));
    for (const client of clients) {
      assert.equal(client.count('message:new'), stored.length - 1, `${client.label} heard ${client.count('message:new')} messages`);
    }

    // The Socket.IO traffic went through nginx to both instances, and no log of the deployment
    // (the instances' output, nginx's access log) has a token.
    const served = new Set(
      nginx.accessEntries()
        .filter((e) => e.path.startsWith('/socket.io/'))
        .flatMap((e) => e.upstreams),
    );
    assert.deepEqual([...served].sort(), servers.map((s) => new URL(s.url).host).sort());
    for (const server of servers) assert.match(server.output, /engineioxide/, 'an instance logged nothing of its Socket.IO traffic');
    assertNotLogged(accounts.map((a) => a.token), { servers, nginx });
  });

  it('v2, v3, v4 and python over WebSocket and polling on both instances: receipts, typing and presence in one group reach every socket once', async () => {
    // Each kind once over WebSocket and once over polling only, one on each instance.
    const seats = KINDS.flatMap((kind, k) => [
      { kind, transport: 'websocket', instance: k % 2 },
      { kind, transport: 'polling', instance: (k + 1) % 2 },
    ]);
    const host = await servers[0].register();
    const accounts = await Promise.all(seats.map(() => servers[1].register()));
    const group = await createGroup(servers[0], host, accounts, 'receipts, typing and presence');
    const conversation_id = group.id;
    const names = new Map([[host.user.id, 'the host'], ...seats.map((seat, i) => [accounts[i].user.id, `${seat.kind}/${seat.transport}@${seat.instance + 1}`])]);

    // What each socket should have heard, one "event sender" line per event, for the final count.
    const expected = new Map();
    const line = (event, data) => `${event} ${names.get(data?.user_id ?? data?.sender_id) ?? JSON.stringify(data)}`;
    const hear = async (client, event, match) => {
      const data = await client.next(event, match, 10_000);
      expected.get(client).push(line(event, data));
      return data;
    };
    const open = async (i) => {
      const { kind, transport, instance } = seats[i];
      const client = await openClient(kind, relays[instance].url, accounts[i].token, { transport, tokenIn: 'query' });
      client.label += `@${instance + 1}`;
      assert.equal(client.transportName, transport, `${client.label} runs on ${client.transportName}`);
      expected.set(client, []);
      return client;
    };
    // Nothing more arrives for a while.
    const quiet = (live) => Promise.all(live.flatMap((client) => TALLIED.map((event) => expectNoEvent(client, event, 1_000))));
    // Each socket heard exactly what it should, each event once.
    const assertHeardExactly = () => {
      for (const client of expected.keys()) {
        const heard = client.events.filter((e) => TALLIED.includes(e.event)).map((e) => line(e.event, e.data)).sort();
        assert.deepEqual(heard, [...expected.get(client)].sort(), `${client.label} heard other events than expected`);
      }
    };
    const isUser = (i) => (p) => p.user_id === accounts[i].user.id;

    // Coming online: each member's first socket is announced to those already connected, on
    // either instance.
    const clients = [];
    for (const i of seats.keys()) {
      clients.push(await open(i));
      for (const earlier of clients.slice(0, i)) {
        const online = await hear(earlier, 'user:online', isUser(i));
        assert.equal(online.username, accounts[i].user.username);
      }
    }
    // The announcement goes out shortly after the connection, through the other instance too: a
    // member who connects in that moment may hear it as well, once (checked after the pause below).
    const connected = [...clients];
    const takeLateAnnouncements = async () => {
      for (const [k, client] of connected.entries()) {
        for (const j of seats.keys()) {
          if (j >= k) continue;
          const late = client.count('user:online', isUser(j));
          assert.ok(late <= 1, `${client.label} heard ${names.get(accounts[j].user.id)} come online ${late} times`);
          if (late === 1) await hear(client, 'user:online', isUser(j));
        }
      }
    };

    // Messages: each one reaches every other socket.
    for (const [i, client] of clients.entries()) {
      const ack = await client.emitAck('message:send', { conversation_id, content: `from ${client.label}` });
      assert.equal(ack?.success, true, `${client.label}: ${JSON.stringify(ack)}`);
      for (const other of clients.filter((c) => c !== client)) {
        assert.equal((await hear(other, 'message:new', (m) => m.id === ack.message.id)).sender_id, accounts[i].user.id);
      }
    }

    // Receipts: every member marks the host's message delivered, then read; every socket of the
    // group hears each receipt, the reader's own included.
    const sent = await servers[1].post(`/api/conversations/${conversation_id}/messages`, { content: 'read me' }, { token: host.token });
    assert.equal(sent.status, 201, sent.text);
    const message = sent.body;
    for (const client of clients) await hear(client, 'message:new', (m) => m.id === message.id);
    for (const [event, at] of [['message:delivered', 'delivered_at'], ['message:read', 'read_at']]) {
      for (const [i, reader] of clients.entries()) {
        const ack = await reader.emitAck(event, { conversation_id, message_id: message.id });
        assert.equal(ack?.success, true, `${reader.label} ${event}: ${JSON.stringify(ack)}`);
        assert.equal(ack.receipt?.user_id, accounts[i].user.id, `${reader.label} ${event}: ${JSON.stringify(ack)}`);
        for (const client of clients) {
          const receipt = await hear(client, event, (r) => r.user_id === accounts[i].user.id && r.message_id === message.id);
          assert.equal(receipt.conversation_id, conversation_id);
          assert.equal(receipt.seq, message.seq);
          assertTimestamp(receipt[at], `${event}.${at}`);
        }
      }
    }

    // Typing: start and stop reach the other members' sockets, never the typist's.
    for (const [i, typist] of clients.entries()) {
      for (const event of ['typing:start', 'typing:stop']) {
        const ack = await typist.emitAck(event, { conversation_id });
        assert.deepEqual(ack, { success: true, conversation_id }, `${typist.label} ${event}`);
        for (const other of clients.filter((c) => c !== typist)) {
          const typing = await hear(other, event, isUser(i));
          assert.deepEqual(typing, { conversation_id, user_id: accounts[i].user.id, username: accounts[i].user.username });
        }
      }
    }
    await quiet(clients);
    await takeLateAnnouncements();
    assertHeardExactly();

    // Presence: each member in turn leaves (their only socket closes) and comes back; the others'
    // sockets, on both instances, hear user:offline and then user:online once.
    for (const i of seats.keys()) {
      await clients[i].close();
      for (const other of clients.filter((_, j) => j !== i)) {
        const offline = await hear(other, 'user:offline', isUser(i));
        assert.equal(offline.username, accounts[i].user.username);
        assertTimestamp(offline.last_seen, 'user:offline.last_seen');
      }
      clients[i] = await open(i);
      for (const other of clients.filter((_, j) => j !== i)) {
        assert.equal((await hear(other, 'user:online', isUser(i))).username, accounts[i].user.username);
      }
    }
    await quiet(clients);
    assertHeardExactly();

    // Each client address went through nginx to the instance it was meant for, and no log of
    // the deployment carries a token.
    const byClient = nginx.upstreamsByClient();
    for (const [instance, r] of relays.entries()) {
      assert.deepEqual([...(byClient.get(r.localAddress) ?? [])], [new URL(servers[instance].url).host], `clients of instance ${instance + 1}`);
    }
    for (const server of servers) assert.match(server.output, /engineioxide/, 'an instance logged nothing of its Socket.IO traffic');
    assertNotLogged([host, ...accounts].map((a) => a.token), { servers, nginx });
  });
});
