// Message search over REST after messages sent, edited and deleted with the real socket.io-client:
// only the caller's conversations are searched, an edit or a delete is reflected in the next
// search, the last word is a prefix, accents and case are ignored, the snippet's highlights are
// character offsets, and bad queries are 400s that leave the socket usable.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emitAck, startServer } from '../lib/server.js';
import { assertApiError, assertMessageShape, createDirect, createGroup, historyPage, sendText } from '../lib/chat.js';

describe('message search', { timeout: 60_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let group;
  let direct;
  let aliceSocket;
  let bobSocket;

  /** `GET /api/search/messages` as `user` with these query parameters; resolves to {status, body}. */
  function search(user, query) {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return server.get(`/api/search/messages?${qs}`, { token: user.token });
  }

  async function found(user, query) {
    const res = await search(user, typeof query === 'string' ? { query } : query);
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  const ids = (page) => page.results.map((r) => r.message.id);

  /** The highlighted words of a result, read from its snippet by character offsets. */
  const highlighted = (result) => {
    const chars = Array.from(result.snippet);
    return result.highlights.map(([start, end]) => chars.slice(start, end).join(''));
  };

  before(async () => {
    server = await startServer();
    [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    // Alice and Bob share a group; Carol is only in a direct conversation with Bob.
    group = await createGroup(server, alice, [bob], 'search');
    direct = await createDirect(server, bob, carol);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  it('finds messages of the caller\'s conversations only, shaped as history shows them', async () => {
    const shared = await sendText(aliceSocket, group.id, 'The kumquat harvest starts on Monday');
    const hidden = await sendText(bobSocket, direct.id, 'a kumquat for carol');
    const page = await found(bob, 'kumquat');
    assert.deepEqual(ids(page), [hidden.id, shared.id], 'equally good matches, newest first');
    assert.equal(page.has_more, false);
    assert.deepEqual(ids(await found(alice, 'kumquat')), [shared.id]);
    assert.deepEqual(ids(await found(carol, 'kumquat')), [hidden.id]);

    const result = (await found(alice, 'kumquat')).results[0];
    assert.deepEqual(Object.keys(result).sort(), ['highlights', 'message', 'snippet']);
    assertMessageShape(result.message, { content: shared.content });
    assert.deepEqual(result.message.my_reactions, []);
    const history = await historyPage(server, alice.token, group.id);
    assert.deepEqual(result.message, history.body.messages.find((m) => m.id === shared.id));
    assert.equal(result.snippet, 'The kumquat harvest starts on Monday');
    assert.deepEqual(result.highlights, [[4, 11]]);

    // Naming a conversation one is not in answers like its history does.
    assertApiError(await search(alice, { query: 'kumquat', conversation_id: direct.id }), 404, 'not_found');
    assertApiError(await historyPage(server, alice.token, direct.id), 404, 'not_found');
    assert.deepEqual(ids(await found(bob, { query: 'kumquat', conversation_id: group.id })), [shared.id]);
    assert.deepEqual(ids(await found(bob, { query: 'kumquat', sender_id: bob.user.id })), [hidden.id]);
  });

  it('an edit and a delete sent over the socket are reflected in the next search', async () => {
    const sent = await sendText(aliceSocket, group.id, 'meet at the lighthouse');
    assert.deepEqual(ids(await found(bob, 'lighthouse')), [sent.id]);
    const edited = await emitAck(aliceSocket, 'message:edit', { message_id: sent.id, content: 'meet at the windmill' });
    assert.equal(edited.success, true, JSON.stringify(edited));
    assert.deepEqual(ids(await found(bob, 'lighthouse')), [], 'the edited-away word no longer matches');
    const page = await found(bob, 'windmill');
    assert.deepEqual(ids(page), [sent.id]);
    assert.equal(page.results[0].message.content, 'meet at the windmill');
    assert.ok(page.results[0].message.edited_at);
    const deleted = await emitAck(aliceSocket, 'message:delete', { message_id: sent.id });
    assert.equal(deleted.success, true, JSON.stringify(deleted));
    assert.deepEqual(ids(await found(bob, 'windmill')), []);
    assert.deepEqual(ids(await found(bob, 'meet')), []);
  });

  it('the last word is a prefix, and accents and case are ignored', async () => {
    const accented = await sendText(bobSocket, group.id, 'Rendez-vous au Café de Flore, très bien');
    const plain = await sendText(aliceSocket, group.id, 'cafe latte for everyone');
    const sorted = (page) => ids(page).sort((a, b) => a - b);
    for (const query of ['café', 'cafe', 'CAFE', 'Café', 'caf']) {
      assert.deepEqual(sorted(await found(alice, query)), [accented.id, plain.id], query);
    }
    assert.deepEqual(ids(await found(alice, 'tres BIE')), [accented.id]);
    assert.deepEqual(ids(await found(alice, 'bie tres')), [], 'only the last word is a prefix');
    const result = (await found(alice, 'cafe flo')).results[0];
    assert.deepEqual(highlighted(result), ['Café', 'Flore']);
    assert.deepEqual(result.highlights, [[15, 19], [23, 28]]);
  });

  it('a long message gives a snippet around the match, with offsets in characters', async () => {
    const content = `${'🌍 Überall Wörter und mehr Wörter '.repeat(12)}the zeppelin lands at noon${' and then much more text follows'.repeat(10)}`;
    const sent = await sendText(aliceSocket, group.id, content);
    const result = (await found(bob, 'zeppelin')).results.find((r) => r.message.id === sent.id);
    assert.ok(result, 'found');
    const chars = Array.from(result.snippet);
    assert.ok(chars.length <= 200, `${chars.length} characters`);
    assert.ok(result.snippet.startsWith('…') && result.snippet.endsWith('…'), result.snippet);
    assert.deepEqual(highlighted(result), ['zeppelin']);
  });

  it('pages with limit, offset and has_more', async () => {
    const sent = [];
    for (let n = 0; n < 5; n += 1) sent.push(await sendText(aliceSocket, group.id, `paging marker ${n}`));
    const newestFirst = sent.map((m) => m.id).reverse();
    const first = await found(bob, { query: 'paging marker', limit: 2 });
    assert.deepEqual([ids(first), first.has_more], [newestFirst.slice(0, 2), true]);
    const last = await found(bob, { query: 'paging marker', limit: 2, offset: 4 });
    assert.deepEqual([ids(last), last.has_more], [newestFirst.slice(4), false]);
  });

  it('refuses bad queries with 400s, without a token with 401, and the socket stays usable', async () => {
    for (const query of ['', '   ', '"', '*', '(((', "'", '\\', '?!.,;:', 'x'.repeat(10_000)]) {
      const res = await search(alice, { query });
      assertApiError(res, 400, 'validation_failed');
      assert.ok(res.body.details?.query, res.text);
    }
    for (const [query, field] of [[{ limit: 51 }, 'limit'], [{ limit: 0 }, 'limit'], [{ offset: 1001 }, 'offset']]) {
      const res = await search(alice, { query: 'cafe', ...query });
      assertApiError(res, 400, 'validation_failed');
      assert.ok(res.body.details?.[field], res.text);
    }
    // Syntax of either database's search language is plain words here.
    for (const query of ['NEAR(', 'a:b', 'cafe" OR "x', 'caf*', '-cafe', 'cafe AND', 'café^']) {
      assert.equal((await search(alice, { query })).status, 200, query);
    }
    const res = await server.get('/api/search/messages?query=cafe');
    assertApiError(res, 401, 'unauthorized');
    await sendText(aliceSocket, group.id, 'still connected');
  });
});
