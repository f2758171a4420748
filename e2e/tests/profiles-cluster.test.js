// Profiles across instances: two chat-server instances on one PostgreSQL database and one
// Redis. A profile changed through instance 1 reaches, exactly once per socket, the user's own
// sockets and their contacts' sockets on both instances (and nobody else); changing the
// password through instance 1 ends the other session's socket on instance 2 and keeps the
// caller's socket there.
//
// Needs PostgreSQL (runs in the E2E_DB=postgres pass) and Redis (E2E_REDIS_URL, default
// redis://127.0.0.1:6379); without them it is skipped with the reason, except when CI=true.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dbMode, expectNoEvent, sleep, waitFor } from '../lib/server.js';
import { createDirect, createGroup } from '../lib/chat.js';
import { CI, clusterEnv, closeAllSockets, connectTo, deleteRedisKeys, postgresAnswers, redisAnswers, sharedDatabase, startInstances } from '../lib/cluster.js';

let skipReason = null;
if (dbMode() !== 'postgres') {
  skipReason = 'the profiles cluster suite runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  const missing = [];
  if (!(await redisAnswers())) missing.push('Redis does not answer');
  if (!postgresAnswers()) missing.push('PostgreSQL does not answer');
  if (missing.length && !CI) skipReason = `profiles cluster suite skipped: ${missing.join('; ')}`;
}
if (skipReason) process.stderr.write(`${skipReason}\n`);

describe('profiles across two instances on Redis', { skip: skipReason ?? false, timeout: 120_000 }, () => {
  let env;
  let db;
  let s1;
  let s2;

  before(async () => {
    env = clusterEnv();
    db = sharedDatabase();
    [s1, s2] = await startInstances(2, env, db);
  });

  after(async () => {
    closeAllSockets();
    await Promise.all([s1, s2].map((s) => s?.stop()));
    db?.drop();
    if (env) deleteRedisKeys(env.REDIS_PREFIX);
  });

  it('user:updated made through instance 1 reaches each sharing socket on both instances exactly once', async () => {
    const [alice, bob, carol, dave] = await Promise.all([0, 1, 2, 3].map(() => s1.register()));
    await createDirect(s1, alice, bob);
    await createGroup(s1, alice, [bob, carol], 'two instances');
    await createDirect(s1, carol, dave); // dave knows carol, not alice
    const sockets = {
      'alice on 1': await connectTo(s1.url, alice.token),
      'alice on 2': await connectTo(s2.url, alice.token),
      'bob on 1': await connectTo(s1.url, bob.token),
      'bob on 2': await connectTo(s2.url, bob.token),
      'carol on 2': await connectTo(s2.url, carol.token),
      'dave on 2': await connectTo(s2.url, dave.token),
    };
    await sleep(500);
    const seen = Object.fromEntries(Object.keys(sockets).map((name) => [name, []]));
    for (const [name, socket] of Object.entries(sockets)) socket.on('user:updated', (u) => seen[name].push(u));

    const res = await s1.api('PATCH', '/api/users/me', { token: alice.token, body: { display_name: 'Alice on two' } });
    assert.equal(res.status, 200, `PATCH: HTTP ${res.status} ${res.text}`);
    await sleep(1_000);
    for (const [name, heard] of Object.entries(seen)) {
      if (name.startsWith('dave')) {
        assert.deepEqual(heard, [], 'dave shares nothing with alice');
        continue;
      }
      assert.equal(heard.length, 1, `${name}: ${JSON.stringify(heard)}`);
      assert.equal(heard[0].id, alice.user.id);
      assert.equal(heard[0].display_name, 'Alice on two');
    }
  });

  it('change-password through instance 1 ends the other session on instance 2 and keeps the caller\'s socket there', async () => {
    const alice = await s1.register();
    const login = await s2.post('/api/auth/login', { username: alice.user.username, password: alice.password });
    assert.equal(login.status, 200, login.text);
    const other = await connectTo(s2.url, login.body.token);
    const mine = await connectTo(s2.url, alice.token);
    const ended = waitFor(other, 'session:ended');
    const stays = expectNoEvent(mine, 'session:ended', 1_000);
    const res = await s1.post('/api/auth/change-password', { current_password: alice.password, new_password: 'another long passphrase' }, { token: alice.token });
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(await ended, { reason: 'password_changed' });
    await stays;
    assert.ok(mine.connected, 'the caller\'s socket on instance 2 stays');
    assert.equal((await s2.get('/api/auth/me', { token: login.body.token })).status, 401, 'instance 2 refuses the ended session at once');
    assert.equal((await s2.get('/api/auth/me', { token: alice.token })).status, 200);
  });
});
