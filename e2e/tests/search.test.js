// User search: prefix and substring matches on the username, case-insensitive, the caller
// excluded, paged, and never an e-mail address or anything about passwords; presence only of
// the caller's contacts.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../lib/server.js';
import { assertApiError, assertPublicUser, createDirect } from '../lib/chat.js';

describe('user search', { timeout: 60_000 }, () => {
  let server;
  // A marker no other username contains: 'q' keeps a letter in it, so case matters.
  const tag = `q${randomBytes(4).toString('hex')}`;
  let me;
  let prefixed;
  let inside;
  let upper;
  let unrelated;

  before(async () => {
    server = await startServer();
    me = await server.register(`${tag}_me`);
    prefixed = await server.register(`${tag}ann`);
    inside = await server.register(`x_${tag}_bob`);
    upper = await server.register(`${tag.toUpperCase()}Cat`);
    unrelated = await server.register(`zz_${randomBytes(4).toString('hex')}`);
  });

  after(async () => {
    await server?.stop();
  });

  async function search(query, { token = me.token, ...params } = {}) {
    const qs = new URLSearchParams({ query, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
    const res = await server.get(`/api/users/search?${qs}`, { token });
    assert.equal(res.status, 200, `search "${query}": HTTP ${res.status} ${res.text}`);
    assert.ok(Array.isArray(res.body?.users), `no users array in ${res.text}`);
    for (const user of res.body.users) assertPublicUser(user);
    for (const secret of [me, prefixed, inside, upper, unrelated].map((u) => u.user.email)) {
      assert.ok(!res.text.toLowerCase().includes(secret.toLowerCase()), `the answer contains the e-mail ${secret}`);
    }
    return res.body.users;
  }

  const ids = (users) => users.map((u) => u.id).sort((a, b) => a - b);
  const idsOf = (...people) => ids(people.map((p) => p.user));

  it('finds prefix and substring matches, whatever the case, without the caller', async () => {
    const found = await search(tag);
    assert.deepEqual(ids(found), idsOf(prefixed, inside, upper));
    const byId = new Map(found.map((u) => [u.id, u]));
    assertPublicUser(byId.get(prefixed.user.id), { username: prefixed.user.username });
    assertPublicUser(byId.get(upper.user.id), { username: upper.user.username });
  });

  it('is case-insensitive in the query too', async () => {
    assert.deepEqual(ids(await search(tag.toUpperCase())), idsOf(prefixed, inside, upper));
    const mixed = tag.slice(0, 3).toUpperCase() + tag.slice(3);
    assert.deepEqual(ids(await search(mixed)), idsOf(prefixed, inside, upper));
  });

  it('a prefix narrows the result', async () => {
    assert.deepEqual(ids(await search(`${tag}AN`)), idsOf(prefixed));
    assert.deepEqual(ids(await search(`x_${tag}`)), idsOf(inside));
  });

  it('a substring in the middle or at the end of the name matches', async () => {
    assert.deepEqual(ids(await search(`${tag.slice(2)}_B`)), idsOf(inside));
    assert.deepEqual(ids(await search(`${tag.slice(3)}cat`)), idsOf(upper));
  });

  it('the caller is found by others but never by themselves', async () => {
    assert.ok(!(await search(`${tag}_me`)).some((u) => u.id === me.user.id));
    const byOther = await search(`${tag}_me`, { token: prefixed.token });
    assert.deepEqual(ids(byOther), idsOf(me));
  });

  it('no match is an empty list', async () => {
    assert.deepEqual(await search(`${tag}nobody`), []);
  });

  it('wildcard characters are taken literally', async () => {
    assert.deepEqual(await search('%'), [], '"%" matched usernames');
    assert.deepEqual(await search(`${tag}%`), [], `"${tag}%" matched usernames`);
    // "_" is a character of usernames, not a one-character wildcard.
    assert.deepEqual(ids(await search(`${tag}_`)), idsOf(inside), `"${tag}_" matched usernames without "_" after the tag`);
  });

  it('pages with limit and offset', async () => {
    const all = ids(await search(tag));
    const seen = [];
    for (let offset = 0; offset < all.length; offset++) {
      const page = await search(tag, { limit: 1, offset });
      assert.equal(page.length, 1, `page at offset ${offset}: ${JSON.stringify(page)}`);
      seen.push(page[0].id);
    }
    assert.deepEqual(seen.slice().sort((a, b) => a - b), all, 'pages of one are not the whole result, each once');
    assert.deepEqual(await search(tag, { limit: 1, offset: all.length }), []);

    const first = await search(tag, { limit: 2 });
    const rest = await search(tag, { limit: 2, offset: 2 });
    assert.equal(first.length, 2);
    assert.equal(rest.length, 1);
    assert.deepEqual(ids([...first, ...rest]), all);
  });

  it("shows status and last_seen only of users who share a conversation with the caller", async () => {
    // `prefixed` is online; `me` shares nothing with them yet.
    const socket = await server.connect(prefixed.token, { transports: ['websocket'] });
    try {
      const stranger = (await search(`${tag}ann`)).find((u) => u.id === prefixed.user.id);
      assert.equal(stranger?.status, 'offline', `a stranger's status is shown: ${JSON.stringify(stranger)}`);
      assert.equal(stranger?.last_seen, null, `a stranger's last_seen is shown: ${JSON.stringify(stranger)}`);
      await createDirect(server, me, prefixed);
      const contact = (await search(`${tag}ann`)).find((u) => u.id === prefixed.user.id);
      assert.equal(contact?.status, 'online', `a contact's status is hidden: ${JSON.stringify(contact)}`);
    } finally {
      socket.disconnect();
    }
    // ... and when they leave, the contact sees when; others do not.
    const seen = async (token) => {
      for (let i = 0; i < 100; i++) {
        const res = await server.get(`/api/users/search?query=${tag}ann`, { token });
        const user = res.body?.users?.find((u) => u.id === prefixed.user.id);
        if (user?.status === 'offline' && user.last_seen) return user;
        if (token !== me.token) return user;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return null;
    };
    assert.ok((await seen(me.token))?.last_seen, 'the contact does not see last_seen');
    const other = await seen(upper.token);
    assert.equal(other?.last_seen, null, `a stranger sees last_seen: ${JSON.stringify(other)}`);
  });

  it('an empty query is a 400', async () => {
    for (const qs of ['?query=', '', '?query=%20%20']) {
      const res = await server.get(`/api/users/search${qs}`, { token: me.token });
      assertApiError(res, 400, ['validation_failed', 'invalid_parameter']);
    }
  });

  it('needs a token', async () => {
    const res = await server.get(`/api/users/search?query=${tag}`);
    assertApiError(res, 401, 'unauthorized');
  });
});
