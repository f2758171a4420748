// One user with several tabs, and a stranger who tries to write into someone else's conversation.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor, expectNoEvent } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  createDirect,
  newClientId,
  sendRaw,
  sendText,
} from '../lib/chat.js';

describe('several sockets per user', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let mallory;
  let conversation;
  let aliceTab1;
  let aliceTab2;
  let bobSocket;
  let mallorySocket;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    mallory = await server.register();
    conversation = await createDirect(server, alice, bob);
    aliceTab1 = await server.connect(alice.token, { transports: ['websocket'] });
    aliceTab2 = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    mallorySocket = await server.connect(mallory.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  it("the sender's other tab and the receiver get message:new; the sending tab gets only the ack", async () => {
    const clientId = newClientId();
    const match = (m) => m?.client_id === clientId;
    const onTab2 = waitFor(aliceTab2, 'message:new', match);
    const onBob = waitFor(bobSocket, 'message:new', match);
    const notOnTab1 = expectNoEvent(aliceTab1, 'message:new', 1_000);

    const stored = await sendText(aliceTab1, conversation.id, 'from tab 1', { client_id: clientId });
    assert.equal((await onTab2).id, stored.id);
    assert.equal((await onBob).id, stored.id);
    await notOnTab1;
  });

  it('a message from the other user reaches every tab of the receiver', async () => {
    const clientId = newClientId();
    const match = (m) => m?.client_id === clientId;
    const onTab1 = waitFor(aliceTab1, 'message:new', match);
    const onTab2 = waitFor(aliceTab2, 'message:new', match);
    const notOnBob = expectNoEvent(bobSocket, 'message:new', 1_000);

    const stored = await sendText(bobSocket, conversation.id, 'to both tabs', { client_id: clientId });
    assert.equal((await onTab1).id, stored.id);
    assert.equal((await onTab2).id, stored.id);
    await notOnBob;
  });

  it('a tab opened later receives messages too', async () => {
    const tab3 = await server.connect(alice.token, { transports: ['polling'] });
    try {
      const clientId = newClientId();
      const onTab3 = waitFor(tab3, 'message:new', (m) => m?.client_id === clientId);
      const stored = await sendText(bobSocket, conversation.id, 'to the new tab', { client_id: clientId });
      assert.equal((await onTab3).id, stored.id);
    } finally {
      tab3.disconnect();
    }
  });

  it("a non-member's message:send is refused with not_found (a private conversation) and reaches no one", async () => {
    const before = await allMessages(server, alice.token, conversation.id);
    const quiet = [aliceTab1, aliceTab2, bobSocket, mallorySocket].map((s) => expectNoEvent(s, 'message:new', 1_500));

    const ack = await sendRaw(mallorySocket, {
      conversation_id: conversation.id,
      content: 'let me in',
      client_id: newClientId(),
    });
    assertAckError(ack, 'not_found');
    await Promise.all(quiet);

    const afterRefusal = await allMessages(server, alice.token, conversation.id);
    assert.equal(afterRefusal.length, before.length);
    assert.ok(!afterRefusal.some((m) => m.content === 'let me in'));
    assert.equal(mallorySocket.connected, true, 'the refused socket was disconnected');
  });

  it('a non-member cannot read the history or post over REST either', async () => {
    const history = await server.get(`/api/conversations/${conversation.id}/messages`, { token: mallory.token });
    assertApiError(history, 404, 'not_found');

    const quiet = [aliceTab1, bobSocket].map((s) => expectNoEvent(s, 'message:new', 1_000));
    const post = await server.post(
      `/api/conversations/${conversation.id}/messages`,
      { content: 'over rest' },
      { token: mallory.token },
    );
    assertApiError(post, 404, 'not_found');
    await Promise.all(quiet);
  });

  it('a non-member cannot subscribe to a private conversation with conversation:join', async () => {
    const ack = await mallorySocket.timeout(5_000).emitWithAck('conversation:join', { conversation_id: conversation.id });
    assertAckError(ack, 'not_found');
    const quiet = expectNoEvent(mallorySocket, 'message:new', 1_000);
    await sendText(bobSocket, conversation.id, 'still private');
    await quiet;
  });

  it('the refused user can still talk in their own conversations', async () => {
    const own = await createDirect(server, mallory, bob);
    // Bob's socket was connected before this conversation existed; he learns of it in real time.
    const clientId = newClientId();
    const onBob = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
    const stored = await sendText(mallorySocket, own.id, 'hello bob', { client_id: clientId });
    assert.equal((await onBob).id, stored.id);
  });

  it('a conversation created while both users are online is announced and delivers in real time', async () => {
    const carol = await server.register();
    const carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    try {
      const announced = waitFor(carolSocket, 'conversation:new', () => true);
      const conv = await createDirect(server, alice, carol);
      const announcement = await announced;
      assert.equal(announcement.id, conv.id);

      const clientId = newClientId();
      const onCarol = waitFor(carolSocket, 'message:new', (m) => m?.client_id === clientId);
      const onTab2 = waitFor(aliceTab2, 'message:new', (m) => m?.client_id === clientId);
      const stored = await sendText(aliceTab1, conv.id, 'welcome carol', { client_id: clientId });
      assert.equal((await onCarol).id, stored.id);
      assert.equal((await onTab2).id, stored.id);
    } finally {
      carolSocket.disconnect();
    }
  });

  it('closing one tab leaves the other tab receiving', async () => {
    aliceTab1.disconnect();
    const clientId = newClientId();
    const onTab2 = waitFor(aliceTab2, 'message:new', (m) => m?.client_id === clientId);
    const stored = await sendText(bobSocket, conversation.id, 'after tab 1 closed', { client_id: clientId });
    assert.equal((await onTab2).id, stored.id);
  });
});
