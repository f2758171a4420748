// Graceful shutdown: on SIGTERM the server closes every socket (so clients
// reconnect, to another instance behind a load balancer), keeps what it
// acknowledged, and exits within its bound.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor } from '../lib/server.js';
import { createDirect, newClientId, sendText } from '../lib/chat.js';

describe('graceful shutdown', { timeout: 60_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;

  before(async () => {
    server = await startServer({ env: { SHUTDOWN_TIMEOUT: '5' } });
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
  });

  after(async () => {
    await server?.stop();
  });

  it('disconnects the sockets, keeps acknowledged messages and exits within the bound', async () => {
    const sender = await server.connect(alice.token, { transports: ['websocket'], reconnection: false });
    const receiver = await server.connect(bob.token, { transports: ['websocket'], reconnection: false });
    const disconnected = Promise.all([sender, receiver].map((s) => waitFor(s, 'disconnect', () => true, 15_000)));
    const ack = await sendText(sender, conversation.id, 'sent just before shutdown', { client_id: newClientId() });
    const started = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const reasons = await disconnected;
    for (const reason of reasons) {
      // "io server disconnect" would tell socket.io-client never to reconnect.
      assert.equal(reason, 'transport close', 'the transport closed: the client reconnects by itself');
    }
    await server.kill('SIGTERM', 15_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 12_000, `exited after ${elapsed} ms (bound: 5 s + start-up slack)`);

    await server.start();
    const res = await server.get(`/api/conversations/${conversation.id}/messages`, { token: bob.token });
    assert.equal(res.status, 200);
    assert.ok(res.body.messages.some((m) => m.id === ack.id), 'the acknowledged message is stored');
  });
});
