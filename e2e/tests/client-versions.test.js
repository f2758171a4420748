// Every socket.io client connects unchanged: socket.io-client 2.x (Engine.IO 3, no `auth`
// option: the token goes in the query), 3.x and 4.x, and python-socketio, over WebSocket,
// long-polling and polling upgraded to WebSocket, on one server at one URL. Each version uses
// every client event of the protocol with its acks, chats with the others in one conversation,
// reconnects and catches up (also across a restart of the server); the token passed in the query
// never reaches a log line of the server or nginx's access log.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TRACE_REQUESTS_LOG, assertNotLogged, expectNoEvent, startServer, sleep } from '../lib/server.js';
import { allMessages, assertAckError, createDirect, createGroup, historyPage, listConversations } from '../lib/chat.js';
import { CI, Nginx, findNginx, freePort, relay } from '../lib/cluster.js';
import { CLIENT_KINDS, TRANSPORTS, closeAllClients, openClient, pythonAvailable, pythonPath } from '../lib/clients.js';

if (!pythonAvailable()) {
  const reason = `python-socketio is not installed at ${pythonPath()} (the test command installs it)`;
  if (CI) throw new Error(reason);
  process.stderr.write(`${reason}: the python client is left out\n`);
}
const KINDS = CLIENT_KINDS.filter((kind) => kind !== 'python' || pythonAvailable());

/** The fields every copy of a message shares, whoever reads it. */
function common(message) {
  const { id, conversation_id, seq, rev, sender_id, sender, content, message_type, created_at, edited_at, deleted_at, reply_to, reactions } = message;
  return { id, conversation_id, seq, rev, sender_id, sender, content, message_type, created_at, edited_at, deleted_at, reply_to, reactions };
}

describe('every socket.io client version on one server', { timeout: 180_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await closeAllClients();
    await server?.stop();
  });

  it('v2, v3, v4 and python-socketio connect over WebSocket, polling and polling-then-upgrade, with the token in the query or in auth', async () => {
    const account = await server.register();
    for (const kind of KINDS) {
      for (const transport of TRANSPORTS) {
        for (const tokenIn of kind === 'v2' ? ['query'] : ['query', 'auth']) {
          const client = await openClient(kind, server.url, account.token, { transport, tokenIn });
          const expected = transport === 'polling' ? 'polling' : 'websocket';
          assert.equal(client.transportName, expected, `${kind} ${transport} (${tokenIn}) runs on ${client.transportName}`);
          // The socket is usable: an ack comes back.
          const ack = await client.emitAck('typing:stop', { conversation_id: 999_999_999 });
          assert.equal(ack?.success, false, `${kind}: ${JSON.stringify(ack)}`);
          assert.equal(ack.code, 'not_found');
          await client.close();
        }
      }
    }
  });

  it('a wrong or empty token in the query is refused as unauthorized for every version', async () => {
    for (const kind of KINDS) {
      for (const token of ['not-a-token', '']) {
        await assert.rejects(
          openClient(kind, server.url, token, { transport: 'websocket', tokenIn: 'query' }),
          (err) => /unauthorized/.test(err.message),
          `${kind} with token ${JSON.stringify(token)}`,
        );
      }
    }
  });

  for (const kind of KINDS) {
    it(`${kind}: every client event works, with its ack and the events the other member receives`, async () => {
      const [alice, bob, owner] = await Promise.all([server.register(), server.register(), server.register()]);
      const direct = await createDirect(server, alice, bob);
      const room = await createGroup(server, owner, [], `room for ${kind}`, { isPublic: true });
      const a = await openClient(kind, server.url, alice.token, { transport: 'websocket' });
      const b = await openClient(kind, server.url, bob.token, { transport: kind === 'python' ? 'polling' : 'upgrade' });
      const conversation_id = direct.id;
      // Presence changes are written in batches: alice hears bob come online, so his going
      // offline at the end is a change she hears too.
      assert.equal((await a.next('user:online', (p) => p.user_id === bob.user.id)).username, bob.user.username);

      const sent = await a.emitAck('message:send', { conversation_id, content: `hello from ${kind}`, client_id: `${kind}-1` });
      assert.equal(sent?.success, true, JSON.stringify(sent));
      const message = sent.message;
      assert.equal(message.content, `hello from ${kind}`);
      const heard = await b.next('message:new', (m) => m.id === message.id);
      assert.deepEqual(common(heard), common(message));

      const edited = await a.emitAck('message:edit', { message_id: message.id, content: 'edited' });
      assert.equal(edited?.success, true, JSON.stringify(edited));
      assert.equal((await b.next('message:updated', (m) => m.id === message.id)).content, 'edited');

      const added = await b.emitAck('reaction:add', { message_id: message.id, emoji: '👍' });
      assert.equal(added?.success, true, JSON.stringify(added));
      assert.deepEqual(added.my_reactions, ['👍']);
      assert.equal((await a.next('message:reaction', (r) => r.action === 'add')).count, 1);
      const removed = await b.emitAck('reaction:remove', { message_id: message.id, emoji: '👍' });
      assert.equal(removed?.success, true, JSON.stringify(removed));
      assert.equal((await a.next('message:reaction', (r) => r.action === 'remove')).count, 0);

      const delivered = await b.emitAck('message:delivered', { conversation_id, message_id: message.id });
      assert.equal(delivered?.success, true, JSON.stringify(delivered));
      assert.equal((await a.next('message:delivered')).user_id, bob.user.id);
      const read = await b.emitAck('message:read', { conversation_id, message_id: message.id });
      assert.equal(read?.success, true, JSON.stringify(read));
      assert.equal((await a.next('message:read')).user_id, bob.user.id);

      assert.equal((await a.emitAck('typing:start', { conversation_id }))?.success, true);
      assert.equal((await b.next('typing:start')).username, alice.user.username);
      assert.equal((await a.emitAck('typing:stop', { conversation_id }))?.success, true);
      assert.equal((await b.next('typing:stop')).user_id, alice.user.id);

      const joined = await a.emitAck('conversation:join', { conversation_id: room.id });
      assert.equal(joined?.success, true, JSON.stringify(joined));
      const inRoom = await a.emitAck('message:send', { conversation_id: room.id, content: 'in the room' });
      assert.equal(inRoom?.success, true, JSON.stringify(inRoom));

      const refreshed = await a.emitAck('session:refresh', { token: alice.token });
      assert.equal(refreshed?.success, true, JSON.stringify(refreshed));
      assert.equal(typeof refreshed.expires_at, 'number');

      const deleted = await a.emitAck('message:delete', { message_id: message.id });
      assert.equal(deleted?.success, true, JSON.stringify(deleted));
      assert.equal((await b.next('message:deleted', (d) => d.message_id === message.id)).conversation_id, conversation_id);

      // Hostile input gets a failed ack and leaves the socket usable.
      assertAckError(await a.emitAck('message:send', { conversation_id: -1, content: 'x' }), 'validation_failed');
      assertAckError(await a.emitAck('message:send', 'not an object'), 'invalid_payload');
      const after = await a.emitAck('message:send', { conversation_id, content: 'still here' });
      assert.equal(after?.success, true, JSON.stringify(after));
      await b.next('message:new', (m) => m.id === after.message.id);

      // Each change reached the other member once.
      for (const event of ['message:new', 'message:updated', 'message:deleted']) {
        assert.equal(b.count(event, (m) => (m.id ?? m.message_id) === message.id), 1, `${event} heard ${b.count(event)} times`);
      }

      // Events that REST calls cause: a new group, a member added, a profile change, a block.
      const carol = await server.register();
      const group = await server.post('/api/conversations', { type: 'group', name: `${kind} group`, member_ids: [bob.user.id] }, { token: alice.token });
      assert.equal(group.status, 201, group.text);
      assert.equal((await b.next('conversation:new', (c) => c.id === group.body.id)).name, `${kind} group`);
      const memberAdded = await server.post(`/api/conversations/${group.body.id}/members`, { user_id: carol.user.id }, { token: alice.token });
      assert.equal(memberAdded.status, 201, memberAdded.text);
      assert.equal((await b.next('conversation:member_joined', (j) => j.conversation_id === group.body.id)).user.id, carol.user.id);
      const profile = await server.api('PATCH', '/api/users/me', { token: alice.token, body: { display_name: `Alice ${kind}` } });
      assert.equal(profile.status, 200, profile.text);
      assert.equal((await b.next('user:updated', (u) => u.id === alice.user.id)).display_name, `Alice ${kind}`);
      const blocked = await server.post(`/api/users/${alice.user.id}/block`, {}, { token: bob.token });
      assert.ok([200, 201, 204].includes(blocked.status), blocked.text);
      assert.equal((await b.next('user:blocked')).user_id, alice.user.id);
      const unblocked = await server.api('DELETE', `/api/users/${alice.user.id}/block`, { token: bob.token });
      assert.ok([200, 204].includes(unblocked.status), unblocked.text);
      assert.equal((await b.next('user:unblocked')).user_id, alice.user.id);

      await b.close();
      assert.equal((await a.next('user:offline', (p) => p.user_id === bob.user.id, 10_000)).username, bob.user.username);
      // Logging out everywhere ends the socket with session:ended.
      const logout = await server.post('/api/auth/logout-all', {}, { token: alice.token });
      assert.ok([200, 204].includes(logout.status), logout.text);
      assert.equal((await a.next('session:ended')).reason, 'logged_out_everywhere');
      await a.close();
    });
  }

  it('clients of every version and transport chat in one conversation: each message reaches every other socket once, as stored', async () => {
    const seats = [];
    for (const kind of KINDS) for (const transport of TRANSPORTS) seats.push({ kind, transport });
    const accounts = await Promise.all(seats.map(() => server.register()));
    const [owner, ...members] = accounts;
    const group = await createGroup(server, owner, members, 'every client');
    const clients = [];
    for (const [i, seat] of seats.entries()) {
      clients.push(await openClient(seat.kind, server.url, accounts[i].token, { transport: seat.transport }));
    }
    const acked = [];
    for (const [i, client] of clients.entries()) {
      const ack = await client.emitAck('message:send', { conversation_id: group.id, content: `from ${client.label}`, client_id: `seat-${i}` });
      assert.equal(ack?.success, true, `${client.label}: ${JSON.stringify(ack)}`);
      acked.push(ack.message);
    }
    const stored = await allMessages(server, owner.token, group.id);
    assert.deepEqual(stored.map((m) => m.id), acked.map((m) => m.id));
    for (const [i, client] of clients.entries()) {
      for (const [j, message] of stored.entries()) {
        if (i === j) continue;
        const heard = await client.next('message:new', (m) => m.id === message.id);
        assert.deepEqual(common(heard), common(message), `${client.label} heard message ${j} differently`);
      }
      await sleep(50);
      assert.equal(client.count('message:new'), stored.length - 1, `${client.label} heard ${client.count('message:new')} messages`);
    }
  });

  for (const kind of KINDS.filter((k) => k !== 'python')) {
    it(`${kind}: reconnects by itself with its query token and catches up on what was sent meanwhile`, async () => {
      const [alice, bob] = await Promise.all([server.register(), server.register()]);
      const direct = await createDirect(server, alice, bob);
      const a = await openClient(kind, server.url, alice.token, { transport: 'websocket', reconnection: true });
      const b = await openClient('v4', server.url, bob.token, { transport: 'websocket' });
      const first = await a.emitAck('message:send', { conversation_id: direct.id, content: 'before' });
      assert.equal(first?.success, true);
      const reconnected = new Promise((resolve) => a.socket.once('connect', resolve));
      a.dropConnection();
      const missed = [];
      for (let i = 0; i < 3; i++) {
        const ack = await b.emitAck('message:send', { conversation_id: direct.id, content: `while away ${i}` });
        assert.equal(ack?.success, true);
        missed.push(ack.message);
      }
      await reconnected;
      assert.ok(a.connected);
      const page = await server.get(`/api/conversations/${direct.id}/messages?after_seq=${first.message.seq}`, { token: alice.token });
      assert.equal(page.status, 200, page.text);
      assert.deepEqual(page.body.messages.map((m) => m.id), missed.map((m) => m.id));
      // Live again: the next message arrives on the reconnected socket.
      const next = await b.emitAck('message:send', { conversation_id: direct.id, content: 'back' });
      await a.next('message:new', (m) => m.id === next.message.id);
    });
  }
});

describe('the token in the query stays out of the logs', { timeout: 120_000 }, () => {
  const nginxBinary = findNginx();
  let server;
  let nginx;

  before(async () => {
    if (!nginxBinary && CI) throw new Error('CI=true and nginx is not installed');
    // Everything the server can say about requests and handshakes.
    server = await startServer({ env: { RUST_LOG: TRACE_REQUESTS_LOG } });
    if (nginxBinary) {
      nginx = new Nginx({ upstreams: [new URL(server.url).host], sticky: true });
      await nginx.start();
    }
  });

  after(async () => {
    await closeAllClients();
    await nginx?.stop();
    await server?.stop();
  });

  it('v2 over polling and WebSocket, v3, v4 and python with the token in the query: no log line carries it', async () => {
    const alice = await server.register();
    const bob = await server.register();
    const direct = await createDirect(server, alice, bob);
    const urls = [server.url, ...(nginx ? [nginx.url] : [])];
    for (const url of urls) {
      for (const kind of KINDS) {
        for (const transport of ['polling', 'upgrade']) {
          const client = await openClient(kind, url, alice.token, { transport, tokenIn: 'query' });
          const ack = await client.emitAck('message:send', { conversation_id: direct.id, content: `${kind} ${transport}` });
          assert.equal(ack?.success, true, JSON.stringify(ack));
          await client.close();
        }
      }
    }
    await sleep(300);
    assert.match(server.output, /socket\.io|engineio|request/i, 'the server logged nothing about the requests');
    assertNotLogged([alice.token], { servers: [server], nginx });
    // nginx's error log is left out: it prints the raw request line of a request that fails
    // inside nginx (an upstream that resets a closing WebSocket, say), which nothing in its
    // configuration can change; docs/protocol.md says so.
    if (nginx) {
      const polls = nginx.accessEntries().filter((e) => e.path.startsWith('/socket.io/'));
      assert.ok(polls.length > 10, `nginx logged ${polls.length} Socket.IO requests`);
      assert.ok(polls.every((e) => !e.path.includes('?')), 'the access log names paths with their query');
    }
  });
});

// A server restarted on the same port and data (a deploy, or a crash): a socket.io-client 2.x
// client, its token in the query, comes back by itself and misses nothing.
describe('a v2 client across a restart of the server', { timeout: 180_000 }, () => {
  let server;
  let network;

  before(async () => {
    // A fixed port, so that the restarted server is where the client reconnects; every request
    // and packet logged.
    server = await startServer({ env: { PORT: String(await freePort()), RUST_LOG: TRACE_REQUESTS_LOG } });
    // The client's way to the server, which the tests cut to keep it away for a while.
    network = await relay(new URL(server.url).host, '127.0.0.1');
  });

  after(async () => {
    await closeAllClients();
    await network?.stop();
    await server?.stop();
  });

  for (const transport of ['websocket', 'polling']) {
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      it(`v2 over ${transport} with its token in the query: the server restarts (${signal}), the client reconnects by itself and catches up with after_seq, each missed message once and in order`, async () => {
        const [alice, bob] = await Promise.all([server.register(), server.register()]);
        const direct = await createDirect(server, alice, bob);
        const a = await openClient('v2', network.url, alice.token, { transport, tokenIn: 'query', reconnection: true });
        const url = server.url;
        const first = await server.post(`/api/conversations/${direct.id}/messages`, { content: 'before the restart' }, { token: bob.token });
        assert.equal(first.status, 201, first.text);
        await a.next('message:new', (m) => m.id === first.body.id);
        // The highest seq alice's client holds with nothing missing below it.
        const known = first.body.seq;

        // The server restarts; alice's client cannot reach it again until bob has written.
        network.block();
        const dropped = new Promise((resolve) => a.socket.once('disconnect', resolve));
        const reconnected = new Promise((resolve) => a.socket.once('connect', resolve));
        await server.restart(signal);
        assert.equal(server.url, url, 'the server came back on another port');
        await dropped;
        const missed = [];
        for (let i = 0; i < 3; i++) {
          const sent = await server.post(`/api/conversations/${direct.id}/messages`, { content: `missed ${i}` }, { token: bob.token });
          assert.equal(sent.status, 201, sent.text);
          missed.push(sent.body);
        }
        network.unblock();
        await reconnected;
        assert.ok(a.connected);

        // Catch-up after a reconnect (docs/protocol.md, "Ordering and catch-up"): the list shows a
        // last_seq past `known`, and after_seq=<known> pages return what was missed.
        const listed = (await listConversations(server, alice)).find((c) => c.id === direct.id);
        assert.equal(listed?.last_seq, known + missed.length);
        const fetched = [];
        for (let after = known, more = true; more;) {
          const page = await historyPage(server, alice.token, direct.id, { after_seq: after });
          assert.equal(page.status, 200, page.text);
          fetched.push(...page.body.messages);
          more = page.body.has_more;
          if (more) after = page.body.messages.at(-1).seq;
        }
        assert.deepEqual(fetched.map((m) => m.id), missed.map((m) => m.id), 'after_seq returns exactly the missed messages');
        assert.deepEqual(fetched.map((m) => m.seq), missed.map((_, i) => known + 1 + i), 'in seq order, with no gap');

        // Live again: the next message arrives on the reconnected socket. Each message reached
        // the client once: live before and after the restart, by the catch-up in between.
        const next = await server.post(`/api/conversations/${direct.id}/messages`, { content: 'back' }, { token: bob.token });
        assert.equal(next.status, 201, next.text);
        await a.next('message:new', (m) => m.id === next.body.id);
        await expectNoEvent(a, 'message:new', 500);
        const live = (m) => a.count('message:new', (e) => e.id === m.id);
        assert.deepEqual([first.body, ...missed, next.body].map(live), [1, 0, 0, 0, 1]);
        await a.close();

        // Neither run of the server logged a token, though it logged every request and packet.
        assert.match(server.output, /engineioxide/, 'the server logged nothing of its Socket.IO traffic');
        assertNotLogged([alice.token, bob.token], { servers: [server] });
      });
    }
  }
});
