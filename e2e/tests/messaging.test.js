// Two users talk in a direct conversation, over each Socket.IO transport mode.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor, expectNoEvent } from '../lib/server.js';
import {
  allMessages,
  assertMessageShape,
  createDirect,
  historyPage,
  newClientId,
  sendText,
} from '../lib/chat.js';

const MODES = [
  { name: 'websocket only', transports: ['websocket'], expectTransport: 'websocket' },
  { name: 'polling only', transports: ['polling'], expectTransport: 'polling' },
  { name: 'default transports (polling, then upgrade)', transports: undefined, expectTransport: 'websocket' },
];

function assertSameMessage(received, stored) {
  for (const key of ['id', 'seq', 'conversation_id', 'sender_id', 'content', 'message_type', 'client_id', 'created_at']) {
    assert.deepEqual(received[key], stored[key], `message:new ${key} differs from the acked message`);
  }
}

describe('messaging in a direct conversation', { timeout: 120_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  for (const mode of MODES) {
    describe(`over ${mode.name}`, () => {
      let alice;
      let bob;
      let conversation;
      let aliceSocket;
      let bobSocket;
      const acked = [];

      before(async () => {
        alice = await server.register();
        bob = await server.register();
        conversation = await createDirect(server, alice, bob);
        aliceSocket = await server.connect(alice.token, { transports: mode.transports });
        bobSocket = await server.connect(bob.token, { transports: mode.transports });
      });

      after(() => {
        aliceSocket?.disconnect();
        bobSocket?.disconnect();
      });

      it(`runs on the ${mode.expectTransport} transport`, async () => {
        for (const socket of [aliceSocket, bobSocket]) {
          const engine = socket.io.engine;
          if (engine.transport.name !== mode.expectTransport) {
            await new Promise((resolve, reject) => {
              const timer = setTimeout(
                () => reject(new Error(`still on ${engine.transport.name}, expected ${mode.expectTransport}`)),
                5_000,
              );
              engine.once('upgrade', () => {
                clearTimeout(timer);
                resolve();
              });
            });
          }
          assert.equal(engine.transport.name, mode.expectTransport);
          assert.equal(socket.connected, true);
        }
      });

      it('alice -> bob: the ack carries the stored message and bob receives message:new with it', async () => {
        const clientId = newClientId();
        const incoming = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
        const stored = await sendText(aliceSocket, conversation.id, `hello bob over ${mode.name}`, { client_id: clientId });
        assertMessageShape(stored, {
          conversation_id: conversation.id,
          sender_id: alice.user.id,
          content: `hello bob over ${mode.name}`,
          message_type: 'text',
          client_id: clientId,
        });
        assert.equal(stored.sender.username, alice.user.username);
        const received = await incoming;
        assertMessageShape(received);
        assertSameMessage(received, stored);
        acked.push(stored);
      });

      it('bob -> alice: the reply reaches alice with the next seq', async () => {
        const clientId = newClientId();
        const incoming = waitFor(aliceSocket, 'message:new', (m) => m?.client_id === clientId);
        const stored = await sendText(bobSocket, conversation.id, 'hi alice', { client_id: clientId });
        assertMessageShape(stored, {
          conversation_id: conversation.id,
          sender_id: bob.user.id,
          content: 'hi alice',
          client_id: clientId,
        });
        assert.equal(stored.seq, acked[acked.length - 1].seq + 1, 'seq is not consecutive');
        assert.ok(stored.id > acked[acked.length - 1].id, 'id does not increase');
        assertSameMessage(await incoming, stored);
        acked.push(stored);
      });

      it('content is stored trimmed', async () => {
        const incoming = waitFor(bobSocket, 'message:new', (m) => m?.content === 'padded words');
        const stored = await sendText(aliceSocket, conversation.id, '  \n\tpadded words \n ');
        assert.equal(stored.content, 'padded words');
        assert.equal((await incoming).id, stored.id);
        acked.push(stored);
      });

      it('history returns the messages, newest first', async () => {
        const res = await historyPage(server, bob.token, conversation.id);
        assert.equal(res.status, 200, res.text);
        assert.equal(typeof res.body.has_more, 'boolean');
        assert.equal(res.body.has_more, false);
        const ids = res.body.messages.map((m) => m.id);
        assert.deepEqual(ids, acked.map((m) => m.id).reverse());
        for (const message of res.body.messages) assertMessageShape(message, { conversation_id: conversation.id });
        const byId = new Map(res.body.messages.map((m) => [m.id, m]));
        for (const sent of acked) assertSameMessage(byId.get(sent.id), sent);
        // The sender sees the same history.
        const own = await historyPage(server, alice.token, conversation.id);
        assert.deepEqual(own.body.messages.map((m) => m.id), ids);
      });

      it('a repeated client_id returns the same message and delivers nothing new', async () => {
        const clientId = newClientId();
        const first = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
        const original = await sendText(aliceSocket, conversation.id, 'sent once', { client_id: clientId });
        await first;
        const before = await allMessages(server, alice.token, conversation.id);

        const quiet = expectNoEvent(bobSocket, 'message:new', 1_000);
        const quietSender = expectNoEvent(aliceSocket, 'message:new', 1_000);
        const retry = await sendText(aliceSocket, conversation.id, 'sent once', { client_id: clientId });
        assert.equal(retry.id, original.id, 'a retry with the same client_id created another message');
        assert.equal(retry.seq, original.seq);
        assert.equal(retry.content, original.content);
        await quiet;
        await quietSender;

        const afterRetry = await allMessages(server, alice.token, conversation.id);
        assert.equal(afterRetry.length, before.length, 'the retry added a stored message');
        assert.equal(afterRetry.filter((m) => m.client_id === clientId).length, 1);
        acked.push(original);
      });

      it('the same client_id from the other user is a different message', async () => {
        const clientId = newClientId();
        const a = await sendText(aliceSocket, conversation.id, 'mine', { client_id: clientId });
        const incoming = waitFor(aliceSocket, 'message:new', (m) => m?.client_id === clientId && m.sender_id === bob.user.id);
        const b = await sendText(bobSocket, conversation.id, 'yours', { client_id: clientId });
        assert.notEqual(b.id, a.id);
        assert.equal(b.sender_id, bob.user.id);
        assert.equal(b.content, 'yours');
        assert.equal((await incoming).id, b.id);
      });

      it('both sockets are still connected', () => {
        assert.equal(aliceSocket.connected, true);
        assert.equal(bobSocket.connected, true);
      });
    });
  }
});
