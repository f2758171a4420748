// Presence: user:online on a user's first socket, user:offline on their last, told only to
// the users who share a conversation with them, and the status the profile shows (to them only).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, expectNoEvent, recordEvents, waitFor } from '../lib/server.js';
import { assertPublicUser, assertTimestamp, barrier, createDirect, createGroup } from '../lib/chat.js';

const PRESENCE_EVENTS = ['user:online', 'user:offline'];

/** `GET /api/users/:id` as `viewer`; resolves to the user. */
async function profile(server, viewer, user) {
  const res = await server.get(`/api/users/${user.user.id}`, { token: viewer.token });
  assert.equal(res.status, 200, `GET /api/users/${user.user.id}: HTTP ${res.status} ${res.text}`);
  assertPublicUser(res.body?.user, { id: user.user.id, username: user.user.username });
  return res.body.user;
}

describe('presence', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let bobSocket;
  let carolSocket;
  let carolEvents;
  let bobWithCarol;
  let aliceTab1;
  let aliceTab2;

  const isAlice = (p) => p?.user_id === alice.user.id;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    carol = await server.register();
    await createDirect(server, alice, bob);
    // Carol knows Bob but shares nothing with Alice.
    bobWithCarol = await createDirect(server, bob, carol);
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    carolEvents = recordEvents(carolSocket);
  });

  after(async () => {
    await server?.stop();
  });

  it('a user who never connected is offline', async () => {
    const user = await profile(server, bob, alice);
    assert.equal(user.status, 'offline');
  });

  it("the first socket announces user:online {user_id, username} to a contact; the profile says online", async () => {
    const online = waitFor(bobSocket, 'user:online', isAlice);
    aliceTab1 = await server.connect(alice.token, { transports: ['websocket'] });
    const payload = await online;
    assert.equal(payload.user_id, alice.user.id);
    assert.equal(payload.username, alice.user.username);
    assert.equal((await profile(server, bob, alice)).status, 'online');
  });

  it("a user who shares no conversation with her sees neither her status nor her last_seen", async () => {
    assert.equal((await profile(server, bob, alice)).status, 'online');
    const seen = await profile(server, carol, alice);
    assert.equal(seen.status, 'offline', `Carol sees Alice's status: ${JSON.stringify(seen)}`);
    assert.equal(seen.last_seen, null, `Carol sees Alice's last_seen: ${JSON.stringify(seen)}`);
    // Her own contact's presence she does see.
    assert.equal((await profile(server, carol, bob)).status, 'online');
  });

  it('a second tab announces nothing', async () => {
    const quiet = expectNoEvent(bobSocket, 'user:online', 1_000, isAlice);
    aliceTab2 = await server.connect(alice.token, { transports: ['polling'] });
    await quiet;
    assert.equal((await profile(server, bob, alice)).status, 'online');
  });

  it('closing one of two tabs announces no user:offline', async () => {
    const quiet = expectNoEvent(bobSocket, 'user:offline', 1_000, isAlice);
    aliceTab2.disconnect();
    await quiet;
    assert.equal((await profile(server, bob, alice)).status, 'online');
  });

  it('closing the last tab announces user:offline {user_id, username, last_seen}; the profile says offline', async () => {
    const closedAt = Date.now();
    const offline = waitFor(bobSocket, 'user:offline', isAlice);
    aliceTab1.disconnect();
    const payload = await offline;
    assert.equal(payload.user_id, alice.user.id);
    assert.equal(payload.username, alice.user.username);
    assertTimestamp(payload.last_seen, 'user:offline last_seen');
    const lastSeen = Date.parse(payload.last_seen);
    assert.ok(lastSeen >= closedAt - 1_000 && lastSeen <= Date.now() + 1_000, `last_seen is not the closing time: ${payload.last_seen}`);

    const user = await profile(server, bob, alice);
    assert.equal(user.status, 'offline');
    assertTimestamp(user.last_seen, 'profile last_seen');
    assert.equal((await profile(server, carol, alice)).last_seen, null, "a stranger learns when Alice left");
    assert.ok(Math.abs(Date.parse(user.last_seen) - lastSeen) <= 1_000, `profile last_seen ${user.last_seen} != ${payload.last_seen}`);
  });

  it('connecting again announces user:online again', async () => {
    const online = waitFor(bobSocket, 'user:online', isAlice);
    aliceTab1 = await server.connect(alice.token, { transports: ['websocket'] });
    assert.equal((await online).username, alice.user.username);
    const offline = waitFor(bobSocket, 'user:offline', isAlice);
    aliceTab1.disconnect();
    assertTimestamp((await offline).last_seen, 'user:offline last_seen');
  });

  it('a user who shares no conversation with her got none of this', async () => {
    // Every event emitted to Carol before this message has arrived once it has.
    await barrier(bobSocket, bobWithCarol.id, [carolSocket]);
    const leaked = carolEvents.filter((e) => PRESENCE_EVENTS.includes(e.event) && isAlice(e.args[0]));
    assert.deepEqual(leaked, [], `Carol received presence events of Alice: ${JSON.stringify(leaked)}`);
    // ... while she does hear about her own contact.
    const online = waitFor(carolSocket, 'user:online', (p) => p?.user_id === bob.user.id);
    const offline = waitFor(carolSocket, 'user:offline', (p) => p?.user_id === bob.user.id);
    bobSocket.disconnect();
    await offline;
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    await online;
  });
});

describe('presence in groups over PRESENCE_FANOUT_LIMIT', { timeout: 60_000 }, () => {
  let server;

  before(async () => {
    server = await startServer({ env: { PRESENCE_FANOUT_LIMIT: '2' } });
  });

  after(async () => {
    await server?.stop();
  });

  it('a group within the limit hears presence; members of a larger group do not', async () => {
    const [alice, small, big1, big2] = await Promise.all([0, 1, 2, 3].map(() => server.register()));
    await createGroup(server, alice, [small], 'two members');
    await createGroup(server, alice, [big1, big2], 'three members');
    const smallSocket = await server.connect(small.token, { transports: ['websocket'] });
    const bigSockets = await Promise.all([big1, big2].map((u) => server.connect(u.token, { transports: ['websocket'] })));
    const isAlice = (p) => p?.user_id === alice.user.id;

    const online = waitFor(smallSocket, 'user:online', isAlice);
    const quiet = bigSockets.map((s) => expectNoEvent(s, 'user:online', 1_000, isAlice));
    await server.connect(alice.token, { transports: ['websocket'] });
    await online;
    await Promise.all(quiet).catch((err) =>
      assert.fail(`a member of a 3-member group heard presence with PRESENCE_FANOUT_LIMIT=2: ${err.message}`),
    );
  });
});
