// Typing indicators: relayed to the other members, stopped explicitly, by a timeout, by
// sending a message and by disconnecting.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, expectNoEvent, sleep, waitFor } from '../lib/server.js';
import { assertAckError, barrier, createDirect, createGroup, emitOk, handlersReady, sendText } from '../lib/chat.js';

// The server stops a typing indicator 5 s after the last typing:start.
const AUTO_STOP_MIN_MS = 4_000;
const AUTO_STOP_MAX_MS = 7_000;

describe('typing indicators', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let direct;
  let aliceSocket;
  let bobSocket;
  let carolSocket;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    carol = await server.register();
    direct = await createDirect(server, alice, bob);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  const about = (conversationId, user) => (t) => t?.conversation_id === conversationId && t?.user_id === user.user.id;

  function assertTyping(payload, conversationId, user) {
    assert.equal(payload.conversation_id, conversationId, `conversation_id: ${JSON.stringify(payload)}`);
    assert.equal(payload.user_id, user.user.id, `user_id: ${JSON.stringify(payload)}`);
    assert.equal(payload.username, user.user.username, `username: ${JSON.stringify(payload)}`);
  }

  /** Alice starts typing in `conversationId` and Bob sees it. */
  async function aliceStarts(conversationId) {
    const onBob = waitFor(bobSocket, 'typing:start', about(conversationId, alice));
    await emitOk(aliceSocket, 'typing:start', { conversation_id: conversationId });
    await onBob;
  }

  it('typing:start reaches the other member with {conversation_id, user_id, username}; the sender gets only the ack', async () => {
    const onBob = waitFor(bobSocket, 'typing:start', about(direct.id, alice));
    const notOnAlice = expectNoEvent(aliceSocket, 'typing:start', 1_000);
    const notOnCarol = expectNoEvent(carolSocket, 'typing:start', 1_000);

    const ack = await emitOk(aliceSocket, 'typing:start', { conversation_id: direct.id });
    assert.equal(ack.conversation_id, direct.id, `ack: ${JSON.stringify(ack)}`);
    assertTyping(await onBob, direct.id, alice);
    await Promise.all([notOnAlice, notOnCarol]);
  });

  it('typing:stop reaches the other member likewise', async () => {
    const onBob = waitFor(bobSocket, 'typing:stop', about(direct.id, alice));
    const notOnAlice = expectNoEvent(aliceSocket, 'typing:stop', 1_000);
    const notOnCarol = expectNoEvent(carolSocket, 'typing:stop', 1_000);

    const ack = await emitOk(aliceSocket, 'typing:stop', { conversation_id: direct.id });
    assert.equal(ack.conversation_id, direct.id, `ack: ${JSON.stringify(ack)}`);
    assertTyping(await onBob, direct.id, alice);
    await Promise.all([notOnAlice, notOnCarol]);
  });

  it('works in both directions', async () => {
    const onAlice = waitFor(aliceSocket, 'typing:start', about(direct.id, bob));
    await emitOk(bobSocket, 'typing:start', { conversation_id: direct.id });
    assertTyping(await onAlice, direct.id, bob);
    const stopped = waitFor(aliceSocket, 'typing:stop', about(direct.id, bob));
    await emitOk(bobSocket, 'typing:stop', { conversation_id: direct.id });
    assertTyping(await stopped, direct.id, bob);
  });

  it('a non-member cannot type into a conversation: not_found (it is private), nothing relayed', async () => {
    const quiet = [aliceSocket, bobSocket].map((s) => expectNoEvent(s, 'typing:start', 1_000));
    const ack = await emitAck(carolSocket, 'typing:start', { conversation_id: direct.id });
    assertAckError(ack, 'not_found');
    await Promise.all(quiet);
  });

  it('stops by itself ~5 s after the last typing:start; a refresh extends it; an explicit stop is final', async () => {
    // Three conversations between the same two users, observed at the same time.
    const lone = direct;
    const refreshed = await createGroup(server, alice, [bob], 'refreshed typing');
    const stopped = await createGroup(server, alice, [bob], 'stopped typing');
    const stops = [];
    const record = (t) => {
      if (t?.user_id === alice.user.id) stops.push({ conversation_id: t.conversation_id, at: Date.now(), payload: t });
    };
    bobSocket.on('typing:stop', record);
    try {
      const started = Date.now();
      await aliceStarts(lone.id);
      await aliceStarts(refreshed.id);
      await aliceStarts(stopped.id);
      const explicitStop = waitFor(bobSocket, 'typing:stop', about(stopped.id, alice));
      await emitOk(aliceSocket, 'typing:stop', { conversation_id: stopped.id });
      await explicitStop;

      await sleep(2_500);
      const refreshedAt = Date.now();
      await emitOk(aliceSocket, 'typing:start', { conversation_id: refreshed.id });

      const autoStop = await waitFor(bobSocket, 'typing:stop', about(lone.id, alice), AUTO_STOP_MAX_MS);
      const loneDelay = Date.now() - started;
      assertTyping(autoStop, lone.id, alice);
      assert.ok(loneDelay >= AUTO_STOP_MIN_MS, `typing:stop came by itself after only ${loneDelay} ms`);
      assert.ok(loneDelay <= AUTO_STOP_MAX_MS, `typing:stop came by itself after ${loneDelay} ms`);

      const refreshStop = await waitFor(bobSocket, 'typing:stop', about(refreshed.id, alice), AUTO_STOP_MAX_MS);
      const refreshDelay = Date.now() - refreshedAt;
      assertTyping(refreshStop, refreshed.id, alice);
      assert.ok(refreshDelay >= AUTO_STOP_MIN_MS, `a refreshed indicator stopped ${refreshDelay} ms after the refresh`);
      assert.ok(refreshDelay <= AUTO_STOP_MAX_MS, `a refreshed indicator stopped ${refreshDelay} ms after the refresh`);

      // Past the 5 s of the explicitly stopped one as well: it is never stopped a second time.
      await sleep(Math.max(0, started + AUTO_STOP_MAX_MS - Date.now()));
      for (const conversation of [lone, refreshed, stopped]) {
        const count = stops.filter((s) => s.conversation_id === conversation.id).length;
        assert.equal(count, 1, `conversation ${conversation.name ?? 'direct'}: ${count} typing:stop events`);
      }
    } finally {
      bobSocket.off('typing:stop', record);
    }
  });

  it('sending a message stops typing: the others get typing:stop', async () => {
    await aliceStarts(direct.id);
    const stop = waitFor(bobSocket, 'typing:stop', about(direct.id, alice), 3_000);
    const message = waitFor(bobSocket, 'message:new', (m) => m?.content === 'done typing');
    try {
      await sendText(aliceSocket, direct.id, 'done typing');
      await message;
      const stopped = await stop.catch(() => assert.fail('no typing:stop within 3 s of sending a message while typing'));
      assertTyping(stopped, direct.id, alice);
    } finally {
      // Leaves no indicator behind for the next cases (a no-op when it was stopped), and
      // lets whatever that sent reach Bob before they start.
      await emitOk(aliceSocket, 'typing:stop', { conversation_id: direct.id });
      await barrier(aliceSocket, direct.id, [bobSocket]);
    }
  });

  it('sending a message while not typing sends no typing:stop', async () => {
    const quiet = expectNoEvent(bobSocket, 'typing:stop', 1_000, about(direct.id, alice));
    const message = waitFor(bobSocket, 'message:new', (m) => m?.content === 'not typing');
    await sendText(aliceSocket, direct.id, 'not typing');
    await message;
    await quiet;
  });

  it('disconnecting the typing socket sends typing:stop', async () => {
    const tab = await server.connect(alice.token, { transports: ['websocket'] });
    await handlersReady(tab);
    const onBob = waitFor(bobSocket, 'typing:start', about(direct.id, alice));
    await emitOk(tab, 'typing:start', { conversation_id: direct.id });
    await onBob;

    const stop = waitFor(bobSocket, 'typing:stop', about(direct.id, alice), 3_000);
    tab.disconnect();
    assertTyping(await stop, direct.id, alice);
  });
});
