// An acknowledged message is durable: it survives the server being killed with SIGKILL.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor, DEFAULT_PASSWORD } from '../lib/server.js';
import { allMessages, createDirect, createGroup, newClientId, sendText } from '../lib/chat.js';

const COUNT = 50;

async function login(server, account) {
  const res = await server.post('/api/auth/login', { username: account.user.username, password: DEFAULT_PASSWORD });
  assert.equal(res.status, 200, `login after restart: HTTP ${res.status} ${res.text}`);
  return { ...account, token: res.body.token };
}

describe('crash durability', { timeout: 150_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
  });

  after(async () => {
    await server?.stop();
  });

  it(`${COUNT} acknowledged messages survive SIGKILL right after the last ack`, async () => {
    const socket = await server.connect(alice.token, { transports: ['websocket'] });
    const acked = [];
    for (let i = 0; i < COUNT; i++) {
      acked.push(await sendText(socket, conversation.id, `durable ${i}`, { client_id: newClientId() }));
    }
    const pidBefore = server.pid;
    await server.restart();
    assert.notEqual(server.pid, pidBefore);

    alice = await login(server, alice);
    bob = await login(server, bob);
    const history = await allMessages(server, bob.token, conversation.id);
    const byId = new Map(history.map((m) => [m.id, m]));
    const missing = acked.filter((m) => !byId.has(m.id)).map((m) => m.content);
    assert.deepEqual(missing, [], 'acknowledged messages lost in the crash');
    for (const sent of acked) {
      const stored = byId.get(sent.id);
      assert.equal(stored.content, sent.content);
      assert.equal(stored.seq, sent.seq);
      assert.equal(stored.client_id, sent.client_id);
      assert.equal(stored.sender_id, alice.user.id);
    }
    assert.deepEqual(
      history.map((m) => m.seq),
      Array.from({ length: history.length }, (_, i) => i + 1),
      'seq has a gap after the restart',
    );
  });

  it('after the restart the conversation continues with the next seq and client_id dedup still holds', async () => {
    const before = await allMessages(server, alice.token, conversation.id);
    const lastSeq = before[before.length - 1].seq;
    const aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    const bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    const clientId = newClientId();
    const incoming = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
    const next = await sendText(aliceSocket, conversation.id, 'after the crash', { client_id: clientId });
    assert.equal(next.seq, lastSeq + 1);
    assert.equal((await incoming).id, next.id);

    // Retrying a message acked before the crash returns the stored one.
    const old = before[before.length - 1];
    const retry = await sendText(aliceSocket, conversation.id, old.content, { client_id: old.client_id });
    assert.equal(retry.id, old.id);
    assert.equal((await allMessages(server, alice.token, conversation.id)).length, before.length + 1);
  });

  it('concurrent acknowledged sends from several senders survive a SIGKILL too', async () => {
    const carol = await server.register();
    const group = await createGroup(server, alice, [bob, carol], 'crash group');
    const senders = [alice, bob, carol];
    const sockets = [];
    for (const account of senders) sockets.push(await server.connect(account.token, { transports: ['websocket'] }));
    const sends = [];
    for (let i = 0; i < 20; i++) {
      sockets.forEach((s, k) => sends.push(sendText(s, group.id, `group ${k}-${i}`, { client_id: newClientId() }, 15_000)));
    }
    const acked = await Promise.all(sends);
    await server.restart();

    const reader = await login(server, carol);
    const history = await allMessages(server, reader.token, group.id);
    const ids = new Set(history.map((m) => m.id));
    assert.deepEqual(acked.filter((m) => !ids.has(m.id)).map((m) => m.content), [], 'acknowledged messages lost');
    assert.deepEqual(
      history.map((m) => m.seq),
      Array.from({ length: history.length }, (_, i) => i + 1),
      'seq has a gap after the restart',
    );
  });
});
