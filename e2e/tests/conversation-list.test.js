// GET /api/conversations in pages: newest activity first, `limit` per page, `before` = the
// `next_before` of the previous page, each conversation exactly once; bounded group creation
// (member_ids per request, groups per hour); and a socket joins every conversation of its user
// on connect, however many pages of ids that takes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor } from '../lib/server.js';
import { assertApiError, createGroup, sendText } from '../lib/chat.js';

/** Every page of the list as `user`, `limit` at a time; resolves to {ids, pages}. */
async function pagedIds(server, user, limit) {
  const ids = [];
  let pages = 0;
  let before = null;
  for (;;) {
    const qs = new URLSearchParams({ limit: String(limit) });
    if (before) qs.set('before', before);
    const res = await server.get(`/api/conversations?${qs}`, { token: user.token });
    assert.equal(res.status, 200, `page ${pages + 1}: HTTP ${res.status} ${res.text}`);
    const { conversations, has_more: hasMore, next_before: next } = res.body;
    assert.ok(conversations.length <= limit, `page of ${conversations.length} > limit ${limit}`);
    ids.push(...conversations.map((c) => c.id));
    pages += 1;
    assert.equal(hasMore, next !== null, `has_more ${hasMore} with next_before ${next}`);
    if (!next) break;
    assert.equal(conversations.length, limit, 'a page before the last one is short');
    before = next;
    assert.ok(pages < 1_000, 'the pages do not end');
  }
  return { ids, pages };
}

/** Runs `task(i)` for i < count, `concurrency` at a time. */
async function inParallel(count, concurrency, task) {
  let next = 0;
  const results = new Array(count);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe('the conversation list in pages', { timeout: 240_000 }, () => {
  let server;
  let me;
  let friend;
  let groups;

  before(async () => {
    server = await startServer();
    [me, friend] = [await server.register(), await server.register()];
    groups = [];
    for (let i = 0; i < 7; i++) groups.push(await createGroup(server, me, [friend], `page ${i}`));
  });

  after(async () => {
    await server?.stop();
  });

  it('pages in activity order, each conversation once; a new message moves its conversation first', async () => {
    const socket = await server.connect(me.token, { transports: ['websocket'] });
    await sendText(socket, groups[0].id, 'back on top');
    const whole = await server.get('/api/conversations', { token: me.token });
    assert.equal(whole.status, 200, whole.text);
    const expected = [groups[0], ...groups.slice(1).reverse()].map((g) => g.id);
    assert.deepEqual(whole.body.conversations.map((c) => c.id), expected, 'newest activity first');
    assert.equal(whole.body.has_more, false);
    assert.equal(whole.body.next_before, null);
    for (const limit of [1, 2, 3, 7]) {
      const { ids, pages } = await pagedIds(server, me, limit);
      assert.deepEqual(ids, expected, `pages of ${limit}`);
      assert.equal(pages, Math.ceil(expected.length / limit), `number of pages of ${limit}`);
    }
  });

  it('refuses a made-up cursor and a limit out of 1..200: 400 validation_failed', async () => {
    for (const qs of ['before=yesterday', 'before=12_x', 'before=1_0', 'limit=0', 'limit=201']) {
      assertApiError(await server.get(`/api/conversations?${qs}`, { token: me.token }), 400, 'validation_failed');
    }
    assertApiError(await server.get('/api/conversations?limit=many', { token: me.token }), 400, ['invalid_parameter', 'validation_failed']);
  });

  it('a group is created with at most 100 member ids', async () => {
    const body = { type: 'group', name: 'crowd', member_ids: Array(101).fill(friend.user.id) };
    const res = await server.post('/api/conversations', body, { token: me.token });
    assertApiError(res, 400, 'validation_failed');
    assert.ok(res.body.details?.member_ids, `no member_ids detail: ${res.text}`);
  });

  it('a socket is subscribed to every conversation of its user, beyond one page of ids', async () => {
    const many = 1_010;
    const created = await inParallel(many, 8, async (i) => {
      const res = await server.post('/api/conversations', { type: 'group', name: `many ${i}`, member_ids: [] }, { token: friend.token });
      assert.equal(res.status, 201, `group ${i}: HTTP ${res.status} ${res.text}`);
      return res.body.id;
    });
    const socket = await server.connect(friend.token, { transports: ['websocket'] });
    for (const id of [created[0], created[many - 1], groups[0].id]) {
      const arrived = waitFor(socket, 'message:new', (m) => m?.conversation_id === id);
      const res = await server.post(`/api/conversations/${id}/messages`, { content: `to ${id}` }, { token: friend.token });
      assert.equal(res.status, 201, res.text);
      await arrived;
    }
    const { ids } = await pagedIds(server, friend, 200);
    assert.equal(ids.length, many + groups.length);
    assert.equal(new Set(ids).size, ids.length, 'a conversation listed twice');
  });
});

describe('groups per hour', { timeout: 60_000 }, () => {
  let server;

  before(async () => {
    server = await startServer({ env: { GROUPS_PER_HOUR: '3' } });
  });

  after(async () => {
    await server?.stop();
  });

  it('a user creates at most GROUPS_PER_HOUR groups an hour: then 429 rate_limited; others are not affected', async () => {
    const [alice, bob] = [await server.register(), await server.register()];
    for (let i = 0; i < 3; i++) await createGroup(server, alice, [bob], `hourly ${i}`);
    const refused = await server.post('/api/conversations', { type: 'group', name: 'one too many', member_ids: [bob.user.id] }, { token: alice.token });
    assertApiError(refused, 429, 'rate_limited');
    const list = await server.get('/api/conversations', { token: bob.token });
    assert.equal(list.body.conversations.length, 3, 'the refused group was created');
    await createGroup(server, bob, [alice], 'bob has his own budget');
    // Direct conversations are not groups.
    const direct = await server.post('/api/conversations', { user_id: bob.user.id }, { token: alice.token });
    assert.ok([200, 201].includes(direct.status), direct.text);
  });
});
