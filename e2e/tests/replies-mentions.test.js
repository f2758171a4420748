// Replies, mentions and muting, driven by the real socket.io-client: a reply carries a quote of its
// parent in the ack, in `message:new` and in history, the parent counts its replies, and the thread
// reads oldest first in pages; a reply to a message elsewhere, to one that does not exist or to a
// deleted one is refused and the socket stays usable; a deleted parent is quoted as deleted.
// `@username` of a member lands in `mentions` and in that member's `mention_count` until they read;
// a member's own mute setting shows on their conversation only and silences no event.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectNoEvent, recordEvents, startServer, waitFor } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  createGroup,
  emitOk,
  listConversations,
  newClientId,
  sendRaw,
  sendText,
} from '../lib/chat.js';

const QUOTE_FIELDS = ['id', 'seq', 'sender_id', 'username', 'content', 'message_type', 'deleted'];

/** The documented fields of a `reply_to` quote. */
const quoteOf = (q) => (q === null || q === undefined ? q : Object.fromEntries(QUOTE_FIELDS.map((k) => [k, q[k]])));

/** The quote a reply to `parent` (sent by `author`) carries while the parent is as given. */
const expectedQuote = (parent, author, { content = parent.content, deleted = false } = {}) => ({
  id: parent.id,
  seq: parent.seq,
  sender_id: author.user.id,
  username: author.user.username,
  content,
  message_type: parent.message_type,
  deleted,
});

describe('replies, mentions and muting', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let dave;
  let group; // alice (creator), bob, carol
  let elsewhere; // alice and dave
  let aliceSocket;
  let bobSocket;
  let carolSocket;
  let daveSocket;

  before(async () => {
    server = await startServer();
    [alice, bob, carol, dave] = await Promise.all([0, 1, 2, 3].map(() => server.register()));
    group = await createGroup(server, alice, [bob, carol], 'plans');
    elsewhere = await createGroup(server, alice, [dave], 'elsewhere');
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    daveSocket = await server.connect(dave.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  /** One message as `member` reads it in history. */
  async function stored(member, conversationId, messageId) {
    const message = (await allMessages(server, member.token, conversationId)).find((m) => m.id === messageId);
    assert.ok(message, `message ${messageId} is not in the history of conversation ${conversationId}`);
    return message;
  }

  /** The conversation as it appears in `member`'s list. */
  async function listed(member, conversationId) {
    const conv = (await listConversations(server, member)).find((c) => c.id === conversationId);
    assert.ok(conv, `conversation ${conversationId} is not in the list of user ${member.user.id}`);
    return conv;
  }

  async function mentionCount(member, conversationId) {
    const conv = await listed(member, conversationId);
    assert.ok(Number.isInteger(conv.mention_count), `mention_count: ${JSON.stringify(conv)}`);
    return conv.mention_count;
  }

  const replies = (token, messageId, query = {}) => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return server.get(`/api/messages/${messageId}/replies${qs ? `?${qs}` : ''}`, { token });
  };

  it('a reply quotes its parent in the ack, in message:new and in history; the parent counts it; GET /api/messages/:id/replies pages through the thread oldest first', async () => {
    const parent = await sendText(aliceSocket, group.id, 'lunch at 12?');
    assert.equal(parent.reply_to, null);
    assert.equal(parent.reply_count, 0);

    const clientId = newClientId();
    const arrivals = [aliceSocket, carolSocket].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
    const first = await sendText(bobSocket, group.id, 'make it 12:30', { reply_to: parent.id, client_id: clientId });
    assert.deepEqual(quoteOf(first.reply_to), expectedQuote(parent, alice));
    assert.equal(first.reply_count, 0);
    for (const m of await Promise.all(arrivals)) {
      assert.equal(m.id, first.id);
      assert.deepEqual(m.reply_to, first.reply_to, 'message:new carries the same quote as the ack');
    }

    // Over REST: delivered to every member's sockets, the sender's included, with the quote.
    const restId = newClientId();
    const restArrivals = [aliceSocket, bobSocket, carolSocket].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === restId));
    const rest = await server.post(`/api/conversations/${group.id}/messages`, { content: 'fine by me', reply_to: parent.id, client_id: restId }, { token: carol.token });
    assert.equal(rest.status, 201, rest.text);
    assert.deepEqual(quoteOf(rest.body.reply_to), expectedQuote(parent, alice));
    for (const m of await Promise.all(restArrivals)) assert.deepEqual(m.reply_to, rest.body.reply_to);

    // A long parent is quoted to its first 200 characters (not UTF-16 units).
    const long = await sendText(carolSocket, group.id, 'ab🎉'.repeat(100));
    const toLong = await sendText(aliceSocket, group.id, 'that is long', { reply_to: long.id });
    assert.equal(toLong.reply_to.content, [...long.content].slice(0, 200).join(''));
    assert.deepEqual(quoteOf(toLong.reply_to), expectedQuote(long, carol, { content: [...long.content].slice(0, 200).join('') }));

    // Three more replies, and traffic that is not part of the thread.
    await sendText(aliceSocket, group.id, 'not a reply');
    const thread = [first, rest.body];
    for (const [socket, text] of [[carolSocket, 'or 13:00'], [aliceSocket, '12:30 it is'], [bobSocket, 'see you']]) {
      thread.push(await sendText(socket, group.id, text, { reply_to: parent.id }));
    }

    const inHistory = await stored(bob, group.id, parent.id);
    assert.equal(inHistory.reply_count, 5, 'the parent counts its replies');
    assert.equal(inHistory.rev, parent.rev, "a reply does not change the parent's revision");
    const replyInHistory = await stored(carol, group.id, first.id);
    assert.deepEqual(replyInHistory.reply_to, first.reply_to, 'history quotes like the ack');

    const all = await replies(bob.token, parent.id);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.body.has_more, false);
    assert.deepEqual(all.body.messages.map((m) => m.id), thread.map((m) => m.id), 'the thread, oldest first');
    for (const m of all.body.messages) assert.equal(m.reply_to.id, parent.id);

    const pages = [];
    let query = { limit: 2 };
    for (let n = 0; n < 5; n++) {
      const page = await replies(carol.token, parent.id, query);
      assert.equal(page.status, 200, page.text);
      pages.push({ ids: page.body.messages.map((m) => m.id), has_more: page.body.has_more });
      if (!page.body.has_more) break;
      query = { limit: 2, after: page.body.messages.at(-1).id };
    }
    assert.deepEqual(pages, [
      { ids: [thread[0].id, thread[1].id], has_more: true },
      { ids: [thread[2].id, thread[3].id], has_more: true },
      { ids: [thread[4].id], has_more: false },
    ]);
    const none = await replies(alice.token, toLong.id);
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.body.messages, []);
    assert.equal(none.body.has_more, false);

    // Outsiders and bad requests.
    assertApiError(await replies(dave.token, parent.id), 404, 'not_found');
    assertApiError(await replies(alice.token, 987_654_321), 404, 'not_found');
    const zero = await replies(alice.token, 0);
    assertApiError(zero, 400, 'validation_failed');
    assert.ok(Array.isArray(zero.body.details?.id), `details do not name id: ${zero.text}`);
    assertApiError(await replies(alice.token, 'x'), 400, 'invalid_parameter');
    assertApiError(await replies(alice.token, parent.id, { limit: 0 }), 400, 'validation_failed');
    assertApiError(await replies(alice.token, parent.id, { limit: 101 }), 400, 'validation_failed');
    assertApiError(await replies(alice.token, parent.id, { after: 0 }), 400, 'validation_failed');
  });

  it('a reply to a message of another conversation, to one that does not exist or to a deleted one is refused; nothing is stored and the socket stays usable', async () => {
    const theirs = await sendText(daveSocket, elsewhere.id, 'in another conversation');
    const mine = await sendText(aliceSocket, elsewhere.id, 'also in another conversation');
    const gone = await sendText(aliceSocket, group.id, 'about to vanish');
    await emitOk(aliceSocket, 'message:delete', { message_id: gone.id });
    const snapshot = await allMessages(server, alice.token, group.id);
    const quiet = [bobSocket, carolSocket].map((s) => expectNoEvent(s, 'message:new', 1_000));

    const socketCases = [
      [theirs.id, 'unprocessable'],
      [mine.id, 'unprocessable'],
      [987_654_321, 'unprocessable'],
      [gone.id, 'unprocessable'],
      [0, 'validation_failed'],
      [-3, 'validation_failed'],
      ['x', 'invalid_payload'],
      [String(gone.id + 1), 'invalid_payload'],
      [1.5, 'invalid_payload'],
    ];
    for (const [replyTo, code] of socketCases) {
      const ack = await sendRaw(aliceSocket, { conversation_id: group.id, content: 'refused reply', reply_to: replyTo, client_id: newClientId() });
      assertAckError(ack, code);
      if (code === 'validation_failed') assert.ok(Array.isArray(ack.details?.reply_to), `details do not name reply_to: ${JSON.stringify(ack)}`);
    }
    const restCases = [
      [theirs.id, 422, 'unprocessable'],
      [987_654_321, 422, 'unprocessable'],
      [gone.id, 422, 'unprocessable'],
      [0, 400, 'validation_failed'],
      ['x', 400, 'invalid_body'],
    ];
    for (const [replyTo, status, code] of restCases) {
      const res = await server.post(`/api/conversations/${group.id}/messages`, { content: 'refused reply', reply_to: replyTo }, { token: alice.token });
      assertApiError(res, status, code);
    }
    await Promise.all(quiet);

    assert.deepEqual(await allMessages(server, alice.token, group.id), snapshot, 'a refused reply changed the conversation');
    assert.equal((await stored(dave, elsewhere.id, theirs.id)).reply_count, 0);
    assert.equal(aliceSocket.connected, true, 'the socket was disconnected');
    const clientId = newClientId();
    const toBob = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
    const ok = await sendText(aliceSocket, group.id, 'still here', { client_id: clientId });
    assert.equal((await toBob).id, ok.id);
  });

  it("a parent's edit shows in its replies' quotes, and once it is deleted they quote it as deleted, without its text", async () => {
    const parent = await sendText(aliceSocket, group.id, 'the plan: meet at the old mill');
    const reply = await sendText(bobSocket, group.id, 'count me in', { reply_to: parent.id });
    const rest = await server.post(`/api/conversations/${group.id}/messages`, { content: 'me too', reply_to: parent.id }, { token: carol.token });
    assert.equal(rest.status, 201, rest.text);

    const edited = await emitOk(aliceSocket, 'message:edit', { message_id: parent.id, content: 'the plan: meet at the new mill' });
    for (const id of [reply.id, rest.body.id]) {
      assert.deepEqual(quoteOf((await stored(carol, group.id, id)).reply_to), expectedQuote(edited.message, alice));
    }

    const deleted = [bobSocket, carolSocket].map((s) => waitFor(s, 'message:deleted', (e) => e?.message_id === parent.id));
    await emitOk(aliceSocket, 'message:delete', { message_id: parent.id });
    await Promise.all(deleted);
    const history = await allMessages(server, bob.token, group.id);
    for (const id of [reply.id, rest.body.id]) {
      const m = history.find((x) => x.id === id);
      assert.deepEqual(quoteOf(m.reply_to), expectedQuote(parent, alice, { content: '', deleted: true }));
      assert.ok(!JSON.stringify(m).includes('mill'), `the deleted text is still quoted: ${JSON.stringify(m)}`);
    }
    assert.equal(history.find((x) => x.id === reply.id).content, 'count me in', 'the reply itself is unchanged');
    const thread = await replies(carol.token, parent.id);
    if (thread.status === 200) {
      for (const m of thread.body.messages) assert.equal(m.reply_to.deleted, true);
    }
  });

  it('@username of a member lands in mentions and in their mention_count until they read; the sender, non-members and unknown names are left out', async () => {
    const [a, b, c, d] = [alice, bob, carol, dave].map((u) => u.user.username);
    assert.equal(await mentionCount(bob, group.id), 0);

    const clientId = newClientId();
    const arrivals = [bobSocket, carolSocket].map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId));
    const m1 = await sendText(aliceSocket, group.id, `@${b} lunch? cc @${d} @nobody and me, @${a}`, { client_id: clientId });
    assert.deepEqual(m1.mentions, [bob.user.id]);
    for (const m of await Promise.all(arrivals)) assert.deepEqual(m.mentions, [bob.user.id]);
    assert.equal(await mentionCount(bob, group.id), 1);
    assert.equal(await mentionCount(carol, group.id), 0);
    assert.equal(await mentionCount(alice, group.id), 0, "the sender's own count");
    assert.equal(await mentionCount(dave, elsewhere.id), 0, 'a non-member named in another conversation');

    // Case-insensitive, a trailing dot ends the name; over REST too.
    const m2 = await server.post(`/api/conversations/${group.id}/messages`, { content: `thanks @${b.toUpperCase()}. and @${a},` }, { token: carol.token });
    assert.equal(m2.status, 201, m2.text);
    assert.deepEqual([...m2.body.mentions].sort((x, y) => x - y), [alice.user.id, bob.user.id].sort((x, y) => x - y));
    assert.equal(await mentionCount(bob, group.id), 2);
    assert.equal(await mentionCount(alice, group.id), 1);
    assert.equal(await mentionCount(carol, group.id), 0);

    // An @ inside a word names nobody.
    const m3 = await sendText(aliceSocket, group.id, `write to x@${b} or ${c}@example.com`);
    assert.deepEqual(m3.mentions, []);
    assert.equal(await mentionCount(bob, group.id), 2);
    assert.equal(await mentionCount(carol, group.id), 0);

    // Reading up to the last message clears Bob's count; Alice's stays until she reads.
    await emitOk(bobSocket, 'message:read', { conversation_id: group.id, message_id: m3.id });
    const bobs = await listed(bob, group.id);
    assert.equal(bobs.mention_count, 0);
    assert.equal(bobs.unread_count, 0);
    assert.equal(await mentionCount(alice, group.id), 1);

    // An edit keeps the mentions; a delete clears them.
    const m4 = await sendText(aliceSocket, group.id, `@${c} can you book it?`);
    assert.deepEqual(m4.mentions, [carol.user.id]);
    assert.equal(await mentionCount(carol, group.id), 1);
    const edit = await emitOk(aliceSocket, 'message:edit', { message_id: m4.id, content: 'can someone book it?' });
    assert.deepEqual(edit.message.mentions, [carol.user.id]);
    assert.equal(await mentionCount(carol, group.id), 1);
    const m5 = await sendText(bobSocket, group.id, `@${c} and @${a} see above`);
    assert.deepEqual([...m5.mentions].sort((x, y) => x - y), [alice.user.id, carol.user.id].sort((x, y) => x - y));
    assert.equal(await mentionCount(carol, group.id), 2);
    await emitOk(bobSocket, 'message:delete', { message_id: m5.id });
    assert.equal(await mentionCount(carol, group.id), 1, 'a deleted message mentions nobody');
    assert.equal(await mentionCount(alice, group.id), 1);
    assert.deepEqual((await stored(carol, group.id, m5.id)).mentions, []);
    assert.deepEqual((await stored(carol, group.id, m4.id)).mentions, [carol.user.id]);
    assert.equal(await mentionCount(bob, group.id), 0, 'nobody named bob since he read');
  });

  it('PUT /api/conversations/:id/settings mutes and unmutes for the caller only, refuses what is not a time, and a muted member still receives messages', async () => {
    const until = new Date(Date.now() + 7 * 86_400_000);
    until.setUTCMilliseconds(0);
    const settingsPath = (id) => `/api/conversations/${id}/settings`;
    const bobsEvents = recordEvents(bobSocket);
    const aliceTab = await server.connect(alice.token, { transports: ['websocket'] });
    const alicesEvents = recordEvents(aliceTab);

    const muted = await server.api('PUT', settingsPath(group.id), { token: bob.token, body: { muted_until: until.toISOString() } });
    assert.equal(muted.status, 200, muted.text);
    assert.equal(muted.body.id, group.id);
    assert.equal(Date.parse(muted.body.muted_until), until.getTime(), `muted_until: ${muted.text}`);
    assert.match(muted.body.muted_until, /Z$/);
    assert.equal(Date.parse((await listed(bob, group.id)).muted_until), until.getTime());
    const one = await server.get(`/api/conversations/${group.id}`, { token: bob.token });
    assert.equal(one.status, 200, one.text);
    assert.equal(Date.parse(one.body.muted_until), until.getTime());
    assert.equal((await listed(alice, group.id)).muted_until, null, "bob's mute shows on alice's side");

    // Still delivered, still counted as unread.
    const unreadBefore = (await listed(bob, group.id)).unread_count;
    const clientId = newClientId();
    const toBob = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
    const toAlice = waitFor(aliceTab, 'message:new', (m) => m?.client_id === clientId);
    const sent = await sendText(carolSocket, group.id, 'are you there, bob?', { client_id: clientId });
    assert.equal((await toBob).id, sent.id);
    assert.equal((await listed(bob, group.id)).unread_count, unreadBefore + 1);
    // Nothing announced the setting to anyone: the only events since are that message's. (Alice's
    // new tab may change the group's online count, announced up to a second later: not a setting.)
    await toAlice;
    const since = (events) => events.map((e) => e.event).filter((name) => name !== 'conversation:online_count');
    assert.deepEqual(since(bobsEvents), ['message:new'], `bob's socket heard ${JSON.stringify(bobsEvents.map((e) => e.event))}`);
    assert.ok(since(alicesEvents).every((name) => name === 'message:new'), `alice heard ${JSON.stringify(alicesEvents.map((e) => e.event))}`);

    // What is not a time is refused, and the setting stays.
    for (const bad of ['tomorrow', '', '2026-13-45T99:00:00Z', 12_345, true, { at: until.toISOString() }, ['2030-01-01T00:00:00Z'], 'x'.repeat(20_000)]) {
      const res = await server.api('PUT', settingsPath(group.id), { token: bob.token, body: { muted_until: bad } });
      assertApiError(res, 400, 'invalid_body');
    }
    assert.equal(Date.parse((await listed(bob, group.id)).muted_until), until.getTime(), 'a refused setting changed the mute');

    // Members only; ids are checked.
    assertApiError(await server.api('PUT', settingsPath(group.id), { token: dave.token, body: { muted_until: until.toISOString() } }), 404, 'not_found');
    assertApiError(await server.api('PUT', settingsPath(987_654_321), { token: bob.token, body: { muted_until: null } }), 404, 'not_found');
    assertApiError(await server.api('PUT', settingsPath(0), { token: bob.token, body: { muted_until: null } }), 400, 'validation_failed');
    assertApiError(await server.api('PUT', settingsPath('x'), { token: bob.token, body: { muted_until: null } }), 400, 'invalid_parameter');
    const room = await createGroup(server, alice, [], 'open room', { isPublic: true });
    assertApiError(await server.api('PUT', settingsPath(room.id), { token: dave.token, body: { muted_until: until.toISOString() } }), 403, 'not_a_member');

    // null unmutes; so does an absent muted_until.
    const unmuted = await server.api('PUT', settingsPath(group.id), { token: bob.token, body: { muted_until: null } });
    assert.equal(unmuted.status, 200, unmuted.text);
    assert.equal(unmuted.body.muted_until, null);
    assert.equal((await listed(bob, group.id)).muted_until, null);
    const again = await server.api('PUT', settingsPath(group.id), { token: bob.token, body: { muted_until: until.toISOString() } });
    assert.equal(Date.parse(again.body.muted_until), until.getTime(), again.text);
    const absent = await server.api('PUT', settingsPath(group.id), { token: bob.token, body: {} });
    assert.equal(absent.status, 200, absent.text);
    assert.equal(absent.body.muted_until, null);
    assert.equal((await listed(bob, group.id)).muted_until, null);
    aliceTab.disconnect();
  });
});
