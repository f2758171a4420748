// Blocking with the real socket.io-client: the routes and their answers, a blocked user's
// message:send into the direct conversation refused with `blocked` while the blocker receives
// nothing, the blocker refused too until they unblock, typing not relayed, no user:online /
// user:offline of the blocker for the blocked user while a contact hears them, the blocker
// offline in what the blocked user reads, groups unaffected, and unblocking restoring it all.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emitAck, expectNoEvent, startServer, waitFor } from '../lib/server.js';
import {
  assertAckError,
  assertApiError,
  assertPublicUser,
  barrier,
  createDirect,
  createGroup,
  emitOk,
  listConversations,
  newClientId,
  sendRaw,
  sendText,
} from '../lib/chat.js';

describe('blocking', { timeout: 120_000 }, () => {
  let server;
  let alice; // the blocker
  let bob; // blocked
  let carol; // a contact of Alice's, not blocked
  let direct;
  let group;
  let aliceSocket;
  let bobSocket;
  let carolSocket;

  const block = (user, who, method = 'POST') => server.api(method, `/api/users/${who.user.id}/block`, { token: user.token });
  const blocks = async (user) => {
    const res = await server.get('/api/users/me/blocks', { token: user.token });
    assert.equal(res.status, 200, `GET /api/users/me/blocks: HTTP ${res.status} ${res.text}`);
    assert.ok(Array.isArray(res.body?.users), `no users array in ${res.text}`);
    return res.body.users;
  };
  const isAlice = (p) => p?.user_id === alice.user.id;
  const aliceIn = (users) => users.find((u) => u.id === alice.user.id);

  before(async () => {
    server = await startServer();
    [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    direct = await createDirect(server, alice, bob);
    await createDirect(server, alice, carol);
    group = await createGroup(server, carol, [alice, bob], 'book club');
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    const heard = [bobSocket, carolSocket].map((s) => waitFor(s, 'user:online', isAlice));
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    await Promise.all(heard);
    // Both write before the block: the server holds the conversation in memory.
    await barrier(bobSocket, direct.id, [aliceSocket]);
    await barrier(aliceSocket, direct.id, [bobSocket]);
  });

  after(async () => {
    await server?.stop();
  });

  it('POST /api/users/:id/block answers 204 with no body, twice; the blocker\'s sockets get user:blocked; GET /api/users/me/blocks lists user objects', async () => {
    const told = waitFor(aliceSocket, 'user:blocked', (p) => p?.user_id === bob.user.id);
    const first = await block(alice, bob);
    assert.equal(first.status, 204, `block: HTTP ${first.status} ${first.text}`);
    assert.equal(first.text, '');
    assert.deepEqual(await told, { user_id: bob.user.id });
    const quiet = expectNoEvent(aliceSocket, 'user:blocked', 500);
    const again = await block(alice, bob);
    assert.equal(again.status, 204, `block again: HTTP ${again.status} ${again.text}`);
    await quiet;
    const users = await blocks(alice);
    assert.equal(users.length, 1);
    assertPublicUser(users[0], { id: bob.user.id, username: bob.user.username });
    assert.deepEqual(await blocks(bob), [], 'blocks are one way');
  });

  it('refusals: oneself 400 validation_failed, an unknown user 404, no token 401', async () => {
    assertApiError(await block(alice, alice), 400, 'validation_failed');
    assertApiError(await server.api('POST', '/api/users/987654321/block', { token: alice.token }), 404, 'not_found');
    assertApiError(await server.api('DELETE', '/api/users/987654321/block', { token: alice.token }), 404, 'not_found');
    assertApiError(await server.api('POST', `/api/users/${bob.user.id}/block`), 401, 'unauthorized');
    assertApiError(await server.get('/api/users/me/blocks'), 401, 'unauthorized');
  });

  it("the blocked user's message:send into the direct conversation fails with `blocked` and the blocker receives nothing", async () => {
    const nothing = expectNoEvent(aliceSocket, 'message:new', 1_000, (m) => m?.conversation_id === direct.id);
    const clientId = newClientId();
    const ack = await sendRaw(bobSocket, { conversation_id: direct.id, content: 'please read this', client_id: clientId });
    assertAckError(ack, 'blocked');
    assert.equal(ack.error, 'this user has blocked you');
    // REST alike; typing is acked but not relayed.
    assertApiError(await server.post(`/api/conversations/${direct.id}/messages`, { content: 'over REST' }, { token: bob.token }), 403, 'blocked');
    const noTyping = expectNoEvent(aliceSocket, 'typing:start', 1_000);
    await emitOk(bobSocket, 'typing:start', { conversation_id: direct.id });
    await Promise.all([nothing, noTyping]);
    assert.ok(bobSocket.connected, 'a refused send never disconnects');
    const history = await server.get(`/api/conversations/${direct.id}/messages`, { token: alice.token });
    assert.equal(history.status, 200);
    assert.ok(!history.body.messages.some((m) => m.content === 'please read this' || m.content === 'over REST'), 'a refused message was stored');
  });

  it('the blocked user cannot open the direct conversation; the blocker opens it to read but cannot send', async () => {
    assertApiError(await server.post('/api/conversations', { user_id: alice.user.id }, { token: bob.token }), 403, 'blocked');
    const opened = await server.post('/api/conversations', { user_id: bob.user.id }, { token: alice.token });
    assert.equal(opened.status, 200, `the blocker opens it: HTTP ${opened.status} ${opened.text}`);
    assert.equal(opened.body.id, direct.id);
    const ack = await sendRaw(aliceSocket, { conversation_id: direct.id, content: 'one last word' });
    assertAckError(ack, 'blocked');
    assert.match(ack.error, /you blocked/);
  });

  it('the blocked user hears no user:online / user:offline of the blocker while a contact does, and reads her offline with no last_seen', async () => {
    const bobHears = [
      expectNoEvent(bobSocket, 'user:offline', 2_000, isAlice),
      expectNoEvent(bobSocket, 'user:online', 2_000, isAlice),
    ];
    const carolOffline = waitFor(carolSocket, 'user:offline', isAlice);
    aliceSocket.disconnect();
    await carolOffline;
    const carolOnline = waitFor(carolSocket, 'user:online', isAlice);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    await carolOnline;
    await Promise.all(bobHears);

    const profile = await server.get(`/api/users/${alice.user.id}`, { token: bob.token });
    assert.deepEqual([profile.body.user.status, profile.body.user.last_seen], ['offline', null]);
    const members = await server.get(`/api/conversations/${group.id}/members`, { token: bob.token });
    assert.deepEqual([aliceIn(members.body.members).status, aliceIn(members.body.members).last_seen], ['offline', null]);
    for (const conversation of await listConversations(server, bob)) {
      const seen = aliceIn(conversation.members);
      if (seen) assert.deepEqual([seen.status, seen.last_seen], ['offline', null], `conversation ${conversation.id}`);
    }
    // Carol sees her as she is.
    const carolSees = await server.get(`/api/conversations/${group.id}/members`, { token: carol.token });
    assert.equal(aliceIn(carolSees.body.members).status, 'online');
  });

  it('groups are not affected: the blocked user writes there and the blocker receives it', async () => {
    const clientId = newClientId();
    const arrives = waitFor(aliceSocket, 'message:new', (m) => m?.client_id === clientId);
    await sendText(bobSocket, group.id, 'hello book club', { client_id: clientId });
    await arrives;
    await sendText(aliceSocket, group.id, 'hi all');
  });

  it('DELETE /api/users/:id/block (204, twice) restores sends, typing and presence at once', async () => {
    const told = waitFor(aliceSocket, 'user:unblocked', (p) => p?.user_id === bob.user.id);
    const res = await block(alice, bob, 'DELETE');
    assert.equal(res.status, 204, `unblock: HTTP ${res.status} ${res.text}`);
    assert.equal(res.text, '');
    assert.deepEqual(await told, { user_id: bob.user.id });
    assert.equal((await block(alice, bob, 'DELETE')).status, 204);
    assert.deepEqual(await blocks(alice), []);

    const clientId = newClientId();
    const arrives = waitFor(aliceSocket, 'message:new', (m) => m?.client_id === clientId);
    await sendText(bobSocket, direct.id, 'thanks', { client_id: clientId });
    await arrives;
    await sendText(aliceSocket, direct.id, 'you are welcome');
    const typing = waitFor(aliceSocket, 'typing:start', (t) => t?.conversation_id === direct.id);
    await emitOk(bobSocket, 'typing:start', { conversation_id: direct.id });
    await typing;
    assert.equal((await server.post('/api/conversations', { user_id: alice.user.id }, { token: bob.token })).status, 200);

    const offline = waitFor(bobSocket, 'user:offline', isAlice);
    aliceSocket.disconnect();
    await offline;
    const online = waitFor(bobSocket, 'user:online', isAlice);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    await online;
    const profile = await server.get(`/api/users/${alice.user.id}`, { token: bob.token });
    assert.equal(profile.body.user.status, 'online');
  });

  it('a socket that sends a refused message keeps working for other conversations', async () => {
    await block(alice, bob);
    const refused = await emitAck(bobSocket, 'message:send', { conversation_id: direct.id, content: 'x' });
    assertAckError(refused, 'blocked');
    await sendText(bobSocket, group.id, 'still here');
    await block(alice, bob, 'DELETE');
  });
});
