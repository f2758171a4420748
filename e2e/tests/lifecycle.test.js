// Messages that change after sending, driven by the real socket.io-client: an edit and a delete
// reach every other socket of the conversation once, after the commit; nobody changes what the
// rules do not let them; a member who was away catches up on every new message, edit, reaction and
// delete with one `after_rev` request and ends with exactly the server's state; a deleted message's
// text is gone from the SQLite database file.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { emitAck, expectNoEvent, recordEvents, startServer, waitFor } from '../lib/server.js';
import { allMessages, assertAckError, assertApiError, createDirect, createGroup, historyPage, sendText } from '../lib/chat.js';

describe('editing and deleting messages', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let group;
  let aliceSocket;
  let aliceTab;
  let bobSocket;
  let carolSocket;

  before(async () => {
    server = await startServer();
    [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    // Alice created the group; Carol shares only a direct conversation with Alice.
    group = await createGroup(server, alice, [bob], 'lifecycle');
    await createDirect(server, alice, carol);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    aliceTab = await server.connect(alice.token, { transports: ['polling'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  it('an edit is acked with the new text and the next revision, and every other socket hears it once', async () => {
    const sent = await sendText(aliceSocket, group.id, 'helo bob');
    const heard = [aliceTab, bobSocket].map((s) => waitFor(s, 'message:updated', (m) => m?.id === sent.id));
    const quietSender = expectNoEvent(aliceSocket, 'message:updated', 500);
    const recorded = [aliceTab, bobSocket].map((s) => recordEvents(s));
    const ack = await emitAck(aliceSocket, 'message:edit', { message_id: sent.id, content: ' hello bob ' });
    assert.equal(ack.success, true, JSON.stringify(ack));
    assert.equal(ack.message.content, 'hello bob');
    assert.equal(ack.message.seq, sent.seq);
    assert.equal(ack.message.rev, sent.rev + 1);
    assert.ok(ack.message.edited_at, 'edited_at is set');
    const { my_reactions: mine, ...shared } = ack.message;
    assert.deepEqual(mine, [], 'the ack carries the editor\'s own reactions; broadcasts do not');
    for (const message of await Promise.all(heard)) assert.deepEqual(message, shared);
    await quietSender;
    for (const events of recorded) {
      const updates = events.filter((e) => e.event === 'message:updated' && e.args[0]?.id === sent.id);
      assert.equal(updates.length, 1, 'message:updated arrived more than once');
    }
  });

  it("nobody edits or deletes outside the rules, and the socket stays usable", async () => {
    const alices = await sendText(aliceSocket, group.id, 'only mine to change');
    const bobs = await sendText(bobSocket, group.id, 'bob says');
    assertAckError(await emitAck(bobSocket, 'message:edit', { message_id: alices.id, content: 'bob was here' }), 'forbidden');
    assertAckError(await emitAck(bobSocket, 'message:delete', { message_id: alices.id }), 'forbidden');
    assertAckError(await emitAck(carolSocket, 'message:edit', { message_id: bobs.id, content: 'carol was here' }), 'not_found');
    assertAckError(await emitAck(carolSocket, 'message:delete', { message_id: bobs.id }), 'not_found');
    assertAckError(await emitAck(aliceSocket, 'message:edit', { message_id: alices.id, content: '' }), 'validation_failed');
    assertAckError(await emitAck(aliceSocket, 'message:edit', { message_id: 0, content: 'x' }), 'validation_failed');
    assertAckError(await emitAck(aliceSocket, 'message:edit', { message_id: String(alices.id), content: 'x' }), 'invalid_payload');
    assertApiError(await server.api('PATCH', `/api/messages/${alices.id}`, { token: bob.token, body: { content: 'x' } }), 403, 'forbidden');
    assertApiError(await server.api('DELETE', `/api/messages/${bobs.id}`, { token: carol.token }), 404, 'not_found');
    const history = await allMessages(server, bob.token, group.id);
    assert.equal(history.find((m) => m.id === alices.id).content, 'only mine to change');
    assert.equal(history.find((m) => m.id === bobs.id).content, 'bob says');
    await sendText(bobSocket, group.id, 'still here');
  });

  it("the group's creator deletes a member's message over REST: a tombstone, and message:deleted on every member socket", async () => {
    const secret = `regret ${Date.now()} ${Math.random()}`;
    const bobs = await sendText(bobSocket, group.id, secret);
    const sockets = [aliceSocket, aliceTab, bobSocket];
    const heard = sockets.map((s) => waitFor(s, 'message:deleted', (e) => e?.message_id === bobs.id));
    const outsider = expectNoEvent(carolSocket, 'message:deleted', 500);
    const res = await server.api('DELETE', `/api/messages/${bobs.id}`, { token: alice.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.content, '');
    assert.equal(res.body.seq, bobs.seq);
    assert.ok(res.body.deleted_at);
    for (const event of await Promise.all(heard)) {
      assert.deepEqual(event, {
        conversation_id: group.id,
        message_id: bobs.id,
        seq: bobs.seq,
        rev: res.body.rev,
        deleted_at: res.body.deleted_at,
      });
    }
    await outsider;
    assertAckError(await emitAck(bobSocket, 'message:edit', { message_id: bobs.id, content: 'undo' }), 'unprocessable');

    if (server.db === 'sqlite') {
      // Overwritten in the row, and no older copy left in the database file or its log.
      const files = readdirSync(server.dataDir).filter((f) => f.startsWith('chat.db'));
      assert.ok(files.includes('chat.db'), `no database file in ${files}`);
      for (const file of files) {
        const bytes = readFileSync(path.join(server.dataDir, file));
        assert.equal(bytes.includes(Buffer.from(secret)), false, `${file} still holds the deleted text`);
      }
    }
  });

  it('a member who was away catches up on every send, edit and delete with one after_rev request', async () => {
    const before = await historyPage(server, bob.token, group.id, { after_rev: 0, limit: 100 });
    assert.equal(before.status, 200, before.text);
    const applied = new Map(before.body.messages.map((m) => [m.id, m]));
    let known = Math.max(before.body.last_rev, ...before.body.messages.map((m) => m.rev));
    bobSocket.disconnect();

    const sent = [];
    for (let n = 0; n < 12; n++) sent.push(await sendText(aliceSocket, group.id, `while away ${n}`));
    for (const m of sent.slice(0, 4)) {
      const ack = await emitAck(aliceSocket, 'message:edit', { message_id: m.id, content: `${m.content} (edited)` });
      assert.equal(ack.success, true, JSON.stringify(ack));
    }
    for (const m of sent.slice(3, 6)) {
      const ack = await emitAck(aliceSocket, 'message:delete', { message_id: m.id });
      assert.equal(ack.success, true, JSON.stringify(ack));
    }

    const res = await historyPage(server, bob.token, group.id, { after_rev: known, limit: 100 });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.has_more, false);
    const revs = res.body.messages.map((m) => m.rev);
    assert.deepEqual(revs, [...revs].sort((a, b) => a - b), 'changes come in revision order');
    assert.ok(revs.every((r) => r > known), 'only changes after the revision asked');
    for (const m of res.body.messages) applied.set(m.id, m);
    known = Math.max(res.body.last_rev, ...revs);

    const server_state = await allMessages(server, bob.token, group.id);
    assert.deepEqual(
      [...applied.values()].sort((a, b) => a.seq - b.seq),
      server_state,
      "the caught-up copy differs from the server's messages",
    );
    assert.equal(known, Math.max(...server_state.map((m) => m.rev)));
    assert.equal(server_state.filter((m) => m.deleted_at).every((m) => m.content === ''), true);
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
  });
});

describe('catching up on many changes in several conversations', { timeout: 120_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  it('200 sends, 50 edits, 100 reactions (25 taken back) and 20 deletes in three conversations while away: one after_rev request each restores the exact state', async () => {
    const [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    const groups = await Promise.all([0, 1, 2].map((n) => createGroup(server, alice, [bob, carol], `busy ${n}`)));
    // Bob's client holds each conversation as it was, and the revision it had applied.
    const held = new Map();
    for (const g of groups) {
      const page = await historyPage(server, bob.token, g.id, { after_rev: 0, limit: 100 });
      assert.equal(page.status, 200, page.text);
      held.set(g.id, { messages: new Map(page.body.messages.map((m) => [m.id, m])), rev: page.body.last_rev });
    }

    const aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    const sent = [];
    for (let n = 0; n < 200; n++) {
      sent.push(await sendText(aliceSocket, groups[n % 3].id, `busy message ${n}`));
    }
    for (const m of sent.filter((_, i) => i % 4 === 0)) {
      const ack = await emitAck(aliceSocket, 'message:edit', { message_id: m.id, content: `${m.content}, edited` });
      assert.equal(ack.success, true, JSON.stringify(ack));
    }
    // Alice and Carol react 100 times (on 50 messages, some with the same emoji), then Alice takes
    // back a quarter of them; a few of those messages are deleted afterwards.
    const carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    const EMOJI = ['👍', '🎉', '❤️', '😂', '🚀'];
    const reactions = new Map(); // message id -> emoji -> user ids
    const reactors = [[alice, aliceSocket], [carol, carolSocket]];
    const added = [];
    for (let n = 0; n < 100; n++) {
      const m = sent[Math.floor(n / 2) * 3];
      const [user, socket] = reactors[n % 2];
      const emoji = EMOJI[(Math.floor(n / 2) + (n % 4 === 3 ? 1 : 0)) % EMOJI.length];
      const ack = await emitAck(socket, 'reaction:add', { message_id: m.id, emoji });
      assert.equal(ack.success, true, JSON.stringify(ack));
      if (!reactions.has(m.id)) reactions.set(m.id, new Map());
      const byEmoji = reactions.get(m.id);
      if (!byEmoji.has(emoji)) byEmoji.set(emoji, new Set());
      byEmoji.get(emoji).add(user.user.id);
      assert.equal(ack.reactions.find((r) => r.emoji === emoji)?.count, byEmoji.get(emoji).size, JSON.stringify(ack));
      added.push({ m, emoji, user });
    }
    for (const { m, emoji, user } of added.filter((_, n) => n % 4 === 0)) {
      const ack = await emitAck(aliceSocket, 'reaction:remove', { message_id: m.id, emoji });
      assert.equal(ack.success, true, JSON.stringify(ack));
      reactions.get(m.id).get(emoji).delete(user.user.id);
      assert.equal(ack.reactions.find((r) => r.emoji === emoji)?.count ?? 0, reactions.get(m.id).get(emoji).size, JSON.stringify(ack));
    }
    carolSocket.disconnect();
    for (const m of sent.filter((_, i) => i % 10 === 1)) {
      const ack = await emitAck(aliceSocket, 'message:delete', { message_id: m.id });
      assert.equal(ack.success, true, JSON.stringify(ack));
    }

    for (const g of groups) {
      const mine = held.get(g.id);
      const res = await historyPage(server, bob.token, g.id, { after_rev: mine.rev, limit: 100 });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.has_more, false, 'one request per conversation');
      for (const m of res.body.messages) mine.messages.set(m.id, m);
      const server_state = await allMessages(server, bob.token, g.id);
      // Both are Bob's reads (his own reactions, none, included), so they compare as they are.
      assert.deepEqual([...mine.messages.values()].sort((a, b) => a.seq - b.seq), server_state, `conversation ${g.id}`);
    }
    const all = (await Promise.all(groups.map((g) => allMessages(server, bob.token, g.id)))).flat();
    assert.equal(all.filter((m) => m.edited_at).length, 50);
    assert.equal(all.filter((m) => m.deleted_at).length, 20);
    // The reactions are those given and not taken back, on the messages that still exist.
    const counts = (list) => list.filter((r) => r.count > 0).map((r) => `${r.emoji}×${r.count}`).sort();
    let total = 0;
    for (const m of all) {
      const expected = m.deleted_at
        ? []
        : [...(reactions.get(m.id) ?? new Map())].map(([emoji, users]) => ({ emoji, count: users.size }));
      assert.deepEqual(counts(m.reactions), counts(expected), `reactions of message ${m.id} (seq ${m.seq})`);
      assert.deepEqual(m.my_reactions, [], 'bob reacted to nothing');
      total += m.reactions.reduce((sum, r) => sum + r.count, 0);
    }
    const deletedWithReactions = all.filter((m) => m.deleted_at && reactions.has(m.id)).length;
    assert.ok(deletedWithReactions > 0, 'some reacted messages were deleted');
    assert.ok(total > 0 && total < 75, `reactions left: ${total}`);
  });
});
