// A client may emit as soon as `connect` fires (a React app joins the open conversation or
// flushes its outbox right there). Every such event must be handled and acknowledged.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck } from '../lib/server.js';
import { allMessages, createDirect, newClientId } from '../lib/chat.js';

const CONNECTIONS = 120;

describe('events emitted right after connect', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;
  let firstMessage;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
    // Both users stay online meanwhile, so the new sockets' events are relayed to someone.
    await server.connect(alice.token, { transports: ['websocket'] });
    const bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    firstMessage = (await emitAck(bobSocket, 'message:send', { conversation_id: conversation.id, content: 'hi' })).message;
  });

  after(async () => {
    await server?.stop();
  });

  it(`each of ${CONNECTIONS} new sockets gets an ack for the event it emits in its connect callback`, async () => {
    const events = [
      () => ['message:send', { conversation_id: conversation.id, content: 'sent on connect', client_id: newClientId() }],
      () => ['typing:start', { conversation_id: conversation.id }],
      () => ['conversation:join', { conversation_id: conversation.id }],
      () => ['message:read', { conversation_id: conversation.id, message_id: firstMessage.id }],
    ];
    let sent = 0;
    for (let i = 0; i < CONNECTIONS; i++) {
      const [event, payload] = events[i % events.length]();
      const socket = await server.connect(alice.token, { transports: ['websocket'] });
      let ack;
      try {
        ack = await emitAck(socket, event, payload, 2_000);
      } catch {
        assert.fail(`connection ${i + 1}: "${event}" emitted right after connect was never acknowledged`);
      } finally {
        socket.disconnect();
      }
      assert.equal(ack?.success, true, `connection ${i + 1}: "${event}" refused: ${JSON.stringify(ack)}`);
      if (event === 'message:send') sent++;
    }
    const stored = await allMessages(server, alice.token, conversation.id);
    assert.equal(stored.filter((m) => m.content === 'sent on connect').length, sent);
  });
});
