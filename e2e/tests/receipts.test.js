// Read and delivery receipts between two users, one of them with two tabs, and the unread
// count the conversation list derives from them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, expectNoEvent, waitFor } from '../lib/server.js';
import {
  assertAckError,
  assertTimestamp,
  createDirect,
  emitOk,
  sendText,
  unreadCount,
} from '../lib/chat.js';

const KINDS = [
  { event: 'message:read', at: 'read_at', other: 'delivered_at' },
  { event: 'message:delivered', at: 'delivered_at', other: 'read_at' },
];

/** Asserts a receipt payload (ack `receipt` or broadcast). */
function assertReceipt(receipt, kind, expected) {
  assert.ok(receipt && typeof receipt === 'object', `${kind.event}: not a receipt: ${JSON.stringify(receipt)}`);
  for (const [key, value] of Object.entries(expected)) {
    assert.equal(receipt[key], value, `${kind.event}.${key}: ${JSON.stringify(receipt)}`);
  }
  assertTimestamp(receipt[kind.at], `${kind.event}.${kind.at}`);
}

describe('read and delivery receipts', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let conversation;
  let aliceWithCarol;
  let aliceTab1;
  let aliceTab2;
  let bobSocket;
  let carolSocket;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    carol = await server.register();
    conversation = await createDirect(server, alice, bob);
    aliceWithCarol = await createDirect(server, alice, carol);
    aliceTab1 = await server.connect(alice.token, { transports: ['websocket'] });
    aliceTab2 = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  /** Bob sends `n` messages that Alice's tabs receive; resolves to them, oldest first. */
  async function fromBob(n, label) {
    const sent = [];
    for (let i = 0; i < n; i++) {
      const content = `${label} ${i + 1}`;
      const arrived = waitFor(aliceTab1, 'message:new', (m) => m?.content === content);
      sent.push(await sendText(bobSocket, conversation.id, content));
      await arrived;
    }
    return sent;
  }

  it('unread_count counts the messages from others', async () => {
    assert.equal(await unreadCount(server, alice, conversation.id), 0, 'a new conversation has nothing unread');
    await fromBob(3, 'unread');
    assert.equal(await unreadCount(server, alice, conversation.id), 3);
    assert.equal(await unreadCount(server, bob, conversation.id), 0, "one's own messages are never unread");
  });

  for (const kind of KINDS) {
    describe(kind.event, () => {
      let older;
      let newest;

      before(async () => {
        [older, , newest] = await fromBob(3, `${kind.event} target`);
      });

      it(`reaches the other member and the reader's other tab with {conversation_id, message_id, user_id, ${kind.at}}`, async () => {
        const expected = { conversation_id: conversation.id, message_id: newest.id, user_id: alice.user.id };
        const match = (r) => r?.message_id === newest.id && r?.user_id === alice.user.id;
        const onBob = waitFor(bobSocket, kind.event, match);
        const onTab2 = waitFor(aliceTab2, kind.event, match);

        const ack = await emitOk(aliceTab1, kind.event, { conversation_id: conversation.id, message_id: newest.id });
        assertReceipt(ack.receipt, kind, expected);

        const atBob = await onBob;
        assertReceipt(atBob, kind, expected);
        assert.equal(atBob[kind.at], ack.receipt[kind.at], `the broadcast ${kind.at} differs from the ack`);
        assert.ok(!(kind.other in atBob) || atBob[kind.other] == null, `${kind.event} carries ${kind.other}`);
        assertReceipt(await onTab2, kind, expected);

        const at = Date.parse(atBob[kind.at]);
        assert.ok(Math.abs(Date.now() - at) < 60_000, `${kind.at} is not the current time: ${atBob[kind.at]}`);
      });

      it('never moves backwards: an older message is acked with receipt null and broadcast to no one', async () => {
        const quiet = [aliceTab1, aliceTab2, bobSocket].map((s) => expectNoEvent(s, kind.event, 1_000));
        const ack = await emitOk(aliceTab1, kind.event, { conversation_id: conversation.id, message_id: older.id });
        assert.ok('receipt' in ack, `ack without receipt: ${JSON.stringify(ack)}`);
        assert.equal(ack.receipt, null, `a backwards ${kind.event} was recorded: ${JSON.stringify(ack)}`);
        await Promise.all(quiet);
      });

      it('repeating the newest receipt changes nothing either', async () => {
        const quiet = [aliceTab2, bobSocket].map((s) => expectNoEvent(s, kind.event, 1_000));
        const ack = await emitOk(aliceTab1, kind.event, { conversation_id: conversation.id, message_id: newest.id });
        assert.equal(ack.receipt, null, `a repeated ${kind.event} was recorded again: ${JSON.stringify(ack)}`);
        await Promise.all(quiet);
      });

      it('a message of another conversation is not_found, and nothing is broadcast', async () => {
        const elsewhere = await sendText(carolSocket, aliceWithCarol.id, `elsewhere ${kind.event}`);
        const quiet = [aliceTab2, bobSocket, carolSocket].map((s) => expectNoEvent(s, kind.event, 1_000));
        const ack = await emitAck(aliceTab1, kind.event, { conversation_id: conversation.id, message_id: elsewhere.id });
        assertAckError(ack, 'not_found');
        await Promise.all(quiet);
      });

      it('a private conversation the caller is not in is not_found, and nothing is broadcast', async () => {
        const quiet = [aliceTab1, aliceTab2, bobSocket].map((s) => expectNoEvent(s, kind.event, 1_000));
        const ack = await emitAck(carolSocket, kind.event, { conversation_id: conversation.id, message_id: newest.id });
        assertAckError(ack, 'not_found');
        await Promise.all(quiet);
        assert.equal(carolSocket.connected, true, 'the refused socket was disconnected');
      });
    });
  }

  describe('unread_count follows message:read', () => {
    let newest;

    it('reading the newest message sets it to 0', async () => {
      const batch = await fromBob(2, 'before reading');
      newest = batch[batch.length - 1];
      assert.ok((await unreadCount(server, alice, conversation.id)) >= 2);
      await emitOk(aliceTab1, 'message:read', { conversation_id: conversation.id, message_id: newest.id });
      assert.equal(await unreadCount(server, alice, conversation.id), 0);
    });

    it('a delivery receipt does not mark anything read', async () => {
      const [m] = await fromBob(1, 'delivered only');
      const ack = await emitOk(aliceTab2, 'message:delivered', { conversation_id: conversation.id, message_id: m.id });
      assert.notEqual(ack.receipt, null);
      assert.equal(await unreadCount(server, alice, conversation.id), 1);
      await emitOk(aliceTab2, 'message:read', { conversation_id: conversation.id, message_id: m.id });
      newest = m;
      assert.equal(await unreadCount(server, alice, conversation.id), 0);
    });

    it('goes up again with each new message from the other member, not with own messages', async () => {
      await fromBob(2, 'after reading');
      assert.equal(await unreadCount(server, alice, conversation.id), 2);
      const onBob = waitFor(bobSocket, 'message:new', (m) => m?.content === 'my own reply');
      await sendText(aliceTab1, conversation.id, 'my own reply');
      await onBob;
      assert.equal(await unreadCount(server, alice, conversation.id), 2, "one's own message counted as unread");
      assert.equal(await unreadCount(server, bob, conversation.id), 1);
    });

    it('reading an older message after a newer one leaves it at 0', async () => {
      const batch = await fromBob(1, 'last');
      const latest = batch[0];
      const readLatest = (r) => r?.message_id === latest.id;
      const relayed = [aliceTab2, bobSocket].map((s) => waitFor(s, 'message:read', readLatest));
      await emitOk(aliceTab1, 'message:read', { conversation_id: conversation.id, message_id: latest.id });
      await Promise.all(relayed);
      assert.equal(await unreadCount(server, alice, conversation.id), 0);

      const quiet = [aliceTab2, bobSocket].map((s) => expectNoEvent(s, 'message:read', 1_000));
      const ack = await emitOk(aliceTab1, 'message:read', { conversation_id: conversation.id, message_id: newest.id });
      assert.equal(ack.receipt, null, `a backwards read was recorded: ${JSON.stringify(ack)}`);
      await Promise.all(quiet);
      assert.equal(await unreadCount(server, alice, conversation.id), 0, 'a backwards read brought unread messages back');
    });
  });
});
