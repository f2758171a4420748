// Per-user socket event budget: a client that floods gets failed acks with
// `rate_limited` and stays connected; a well-behaved one is never limited.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, sleep } from '../lib/server.js';
import { createDirect } from '../lib/chat.js';

describe('socket event rate limit', { timeout: 60_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;

  before(async () => {
    server = await startServer({ env: { SOCKET_EVENTS_PER_SECOND: '5', SOCKET_EVENTS_BURST: '10' } });
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
  });

  after(async () => {
    await server?.stop();
  });

  it('a flood gets rate_limited acks, the socket stays connected and recovers', async () => {
    const socket = await server.connect(alice.token, { transports: ['websocket'] });
    const acks = await Promise.all(
      Array.from({ length: 30 }, () => emitAck(socket, 'typing:start', { conversation_id: conversation.id })),
    );
    const limited = acks.filter((a) => a?.success === false && a.code === 'rate_limited').length;
    const accepted = acks.filter((a) => a?.success === true).length;
    assert.ok(limited >= 15, `expected most of the flood refused, got ${limited} refused / ${accepted} accepted`);
    assert.ok(accepted >= 10, `the burst is honoured: ${accepted} accepted`);
    assert.equal(socket.connected, true, 'never a disconnect');
    await sleep(1_200);
    const later = await emitAck(socket, 'message:send', { conversation_id: conversation.id, content: 'after the flood' });
    assert.equal(later?.success, true, `the budget refills: ${JSON.stringify(later)}`);
  });

  it('every event spends the budget: conversation:join, unknown events, malformed payloads', async () => {
    const carol = await server.register();
    const direct = await createDirect(server, carol, alice);
    const socket = await server.connect(carol.token, { transports: ['websocket'] });
    // Sent together: events are charged in the order they arrive, before their handlers run, so
    // the probes meet a spent budget however long the joins take to answer.
    const flood = Array.from({ length: 30 }, () => emitAck(socket, 'conversation:join', { conversation_id: direct.id }));
    const probing = [
      emitAck(socket, 'no-such-event', { a: 1 }),
      emitAck(socket, 'conversation:join', 'not an object'),
      emitAck(socket, 'message:send', [1, 2, 3]),
      emitAck(socket, 'typing:start', null),
    ];
    const joins = await Promise.all(flood);
    const limited = joins.filter((a) => a?.success === false && a.code === 'rate_limited').length;
    assert.ok(limited >= 15, `a conversation:join flood is limited: ${limited} of 30 refused`);
    // Whatever the event or its payload, the answer is rate_limited.
    const probes = await Promise.all(probing);
    for (const ack of probes) assert.equal(ack?.code, 'rate_limited', JSON.stringify(ack));
    assert.equal(socket.connected, true, 'never a disconnect');
    await sleep(1_200);
    const later = await emitAck(socket, 'conversation:join', { conversation_id: direct.id });
    assert.equal(later?.success, true, `the budget refills: ${JSON.stringify(later)}`);
  });

  it('a client within the rate is never limited', async () => {
    const socket = await server.connect(bob.token, { transports: ['websocket'] });
    for (let i = 0; i < 12; i++) {
      const ack = await emitAck(socket, 'message:send', { conversation_id: conversation.id, content: `steady ${i}` });
      assert.equal(ack?.success, true, `message ${i}: ${JSON.stringify(ack)}`);
      await sleep(250);
    }
  });
});
