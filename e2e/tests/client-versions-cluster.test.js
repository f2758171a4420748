// Every socket.io client version across two instances behind nginx: socket.io-client 2.x, 3.x
// and 4.x and python-socketio, each over WebSocket and long-polling, seated on both instances
// (nginx's sticky hash sends each client address to one of them), chat in one conversation and
// each message reaches every other socket exactly once; the query token stays out of nginx's
// access log.
//
// Needs PostgreSQL (runs in the E2E_DB=postgres pass), Redis and nginx; without them it is
// skipped with the reason, except when CI=true.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dbMode, sleep } from '../lib/server.js';
import { allMessages, createGroup } from '../lib/chat.js';
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

describe('every client version across two instances behind nginx', { skip: skipReason ?? false, timeout: 180_000 }, () => {
  let env;
  let db;
  let servers = [];
  let nginx;
  let relays = [];

  before(async () => {
    env = clusterEnv();
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
    await sleep(500);
    for (const client of clients) {
      assert.equal(client.count('message:new'), stored.length - 1, `${client.label} heard ${client.count('message:new')} messages`);
    }

    // The Socket.IO traffic went through nginx to both instances, and its log has no token.
    const served = new Set(
      nginx.accessEntries()
        .filter((e) => e.path.startsWith('/socket.io/'))
        .flatMap((e) => e.upstreams),
    );
    assert.deepEqual([...served].sort(), servers.map((s) => new URL(s.url).host).sort());
    const log = nginx.accessLog();
    for (const account of accounts) assert.ok(!log.includes(account.token), 'the access log carries a token');
  });
});
