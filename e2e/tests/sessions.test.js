// Ending a session ends its sockets: logout closes the sockets of that login
// session only, logout-all every socket of the user, and a replayed refresh
// token the sockets of the session it belonged to. Each gets `session:ended`
// with a reason first. The access tokens of an ended session are refused at
// once, over HTTP and on the handshake, also by the other instances. A socket
// ends when its token expires unless the client hands it a new one with
// `session:refresh`.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatServer, dbMode, emitAck, startServer, waitFor, expectNoEvent, sleep, DEFAULT_PASSWORD } from '../lib/server.js';
import { clusterEnv, deleteRedisKeys, redisAnswers, sharedDatabase } from '../lib/cluster.js';

describe('session ends', { timeout: 60_000 }, () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
  });

  async function login(username) {
    const res = await server.post('/api/auth/login', { username, password: DEFAULT_PASSWORD });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  function ended(socket) {
    return Promise.all([
      waitFor(socket, 'session:ended', () => true, 10_000),
      waitFor(socket, 'disconnect', () => true, 10_000),
    ]);
  }

  it('logout ends only that session; logout-all ends the rest', async () => {
    const account = await server.register();
    const first = account;
    const second = await login(account.user.username);
    const a = await server.connect(first.token, { reconnection: false });
    const c = await server.connect(first.token, { reconnection: false });
    const b = await server.connect(second.token, { reconnection: false });

    const aEnded = ended(a);
    const cEnded = ended(c);
    const res = await server.post('/api/auth/logout', undefined, { token: first.token });
    assert.equal(res.status, 204);
    const [[aInfo, aReason], [cInfo]] = await Promise.all([aEnded, cEnded]);
    assert.equal(aInfo.reason, 'logged_out');
    assert.equal(cInfo.reason, 'logged_out');
    assert.equal(aReason, 'io server disconnect');
    await expectNoEvent(b, 'disconnect', 500);
    assert.equal(b.connected, true, 'the other session stays connected');

    const bEnded = ended(b);
    const all = await server.post('/api/auth/logout-all', undefined, { token: second.token });
    assert.equal(all.status, 204);
    const [[bInfo]] = await Promise.all([bEnded]);
    assert.equal(bInfo.reason, 'logged_out_everywhere');
  });

  async function expectRefused(token) {
    const me = await server.get('/api/auth/me', { token });
    assert.equal(me.status, 401, `HTTP still accepts the token: ${me.status} ${me.text}`);
    const list = await server.get('/api/conversations', { token });
    assert.equal(list.status, 401, `HTTP still accepts the token: ${list.status} ${list.text}`);
    await assert.rejects(server.connect(token), (err) => err.message === 'unauthorized', 'the handshake accepted the token');
  }

  async function expectAccepted(token) {
    const me = await server.get('/api/auth/me', { token });
    assert.equal(me.status, 200, me.text);
    (await server.connect(token)).disconnect();
  }

  it('after logout the access token of that session is refused at once; other sessions go on', async () => {
    const account = await server.register();
    const other = await login(account.user.username);
    // Used (and cached as valid) before the logout.
    await expectAccepted(account.token);
    const res = await server.post('/api/auth/logout', undefined, { token: account.token });
    assert.equal(res.status, 204);
    await expectRefused(account.token);
    await expectAccepted(other.token);
  });

  it('logout-all and a password reset refuse the access tokens of every session', async () => {
    const account = await server.register();
    const second = await login(account.user.username);
    await expectAccepted(account.token);
    await expectAccepted(second.token);
    const res = await server.post('/api/auth/logout-all', undefined, { token: second.token });
    assert.equal(res.status, 204);
    await expectRefused(account.token);
    await expectRefused(second.token);
    // A new login works.
    await expectAccepted((await login(account.user.username)).token);
  });

  it('replaying a rotated refresh token refuses the access tokens of its session', async () => {
    const account = await server.register();
    const rotated = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(rotated.status, 200, rotated.text);
    await expectAccepted(rotated.body.token);
    const replay = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(replay.status, 401);
    await expectRefused(account.token);
    await expectRefused(rotated.body.token);
  });

  it('session:refresh refuses bad or foreign tokens without disconnecting', async () => {
    const account = await server.register();
    const otherSession = await login(account.user.username);
    const stranger = await server.register();
    const socket = await server.connect(account.token);
    const cases = [
      [{}, 'invalid_payload'],
      ['not an object', 'invalid_payload'],
      [{ token: 42 }, 'invalid_payload'],
      [{ token: '' }, 'unauthorized'],
      [{ token: 'not-a-jwt' }, 'unauthorized'],
      [{ token: `${account.token.slice(0, -2)}xx` }, 'unauthorized'],
      [{ token: stranger.token }, 'session_mismatch'],
      [{ token: otherSession.token }, 'session_mismatch'],
    ];
    for (const [payload, code] of cases) {
      const ack = await emitAck(socket, 'session:refresh', payload);
      assert.equal(ack.success, false, JSON.stringify(payload));
      assert.equal(ack.code, code, JSON.stringify(ack));
    }
    const same = await emitAck(socket, 'session:refresh', { token: account.token });
    assert.equal(same.success, true, JSON.stringify(same));
    assert.equal(typeof same.expires_at, 'number');
    // A token of an ended session is refused too.
    const fresh = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(fresh.status, 200, fresh.text);
    const socketEnded = ended(socket);
    await server.post('/api/auth/logout', undefined, { token: fresh.body.token });
    await socketEnded;
  });

  it('replaying a rotated refresh token ends the sockets of its session', async () => {
    const account = await server.register();
    const socket = await server.connect(account.token, { reconnection: false });
    const rotated = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(rotated.status, 200, rotated.text);
    const socketEnded = ended(socket);
    const replay = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(replay.status, 401);
    const [[info]] = await Promise.all([socketEnded]);
    assert.equal(info.reason, 'refresh_token_reused');
  });
});

describe('sockets whose access token expires', { timeout: 60_000 }, () => {
  // Tokens live 3 s here, so a socket connected with one ends within about 4 s.
  let server;

  before(async () => {
    server = await startServer({ env: { ACCESS_TOKEN_TTL: '3' } });
  });

  after(async () => {
    await server?.stop();
  });

  it('are ended with session:ended "expired" unless refreshed with session:refresh', async () => {
    const account = await server.register();
    const idle = await server.connect(account.token);
    const kept = await server.connect(account.token);
    const idleEnded = Promise.all([
      waitFor(idle, 'session:ended', () => true, 8_000),
      waitFor(idle, 'disconnect', () => true, 8_000),
    ]);
    // Before the first token expires, the second socket gets a newer one.
    await sleep(1_500);
    const refreshed = await server.post('/api/auth/refresh', { refresh_token: account.refresh_token });
    assert.equal(refreshed.status, 200, refreshed.text);
    const ack = await emitAck(kept, 'session:refresh', { token: refreshed.body.token });
    assert.equal(ack.success, true, JSON.stringify(ack));
    const [info, reason] = await idleEnded;
    assert.deepEqual(info, { reason: 'expired' });
    assert.equal(reason, 'io server disconnect');
    assert.equal(kept.connected, true, 'the refreshed socket was ended with the old token');
    // The refreshed socket is still usable, then ends when its new token expires.
    const joined = await emitAck(kept, 'conversation:join', { conversation_id: 999_999_999 });
    assert.equal(joined.success, false);
    const [keptInfo] = await Promise.all([
      waitFor(kept, 'session:ended', () => true, 8_000),
      waitFor(kept, 'disconnect', () => true, 8_000),
    ]);
    assert.deepEqual(keptInfo, { reason: 'expired' });
  });
});

describe('ending a session with several instances', { timeout: 60_000 }, () => {
  // Two instances sharing PostgreSQL and Redis: each caches session checks for up to 5 s, and a
  // logout on one is announced to the other at once.
  let skip = null;
  let database;
  let env;
  let first;
  let second;

  before(async () => {
    if (dbMode() !== 'postgres') skip = 'needs E2E_DB=postgres';
    else if (!(await redisAnswers())) skip = 'needs Redis';
    if (skip) return;
    database = sharedDatabase();
    env = clusterEnv();
    first = new ChatServer({ database, env });
    second = new ChatServer({ database, env });
    await first.start();
    await second.start();
  });

  after(async () => {
    await first?.stop();
    await second?.stop();
    database?.drop();
    if (env) deleteRedisKeys(env.REDIS_PREFIX);
  });

  it('a logout on one instance refuses the token on the other within a second', async (t) => {
    if (skip) {
      t.skip(skip);
      return;
    }
    const account = await first.register();
    // The other instance has checked (and cached) the session.
    const before = await second.get('/api/auth/me', { token: account.token });
    assert.equal(before.status, 200, before.text);
    const res = await first.post('/api/auth/logout', undefined, { token: account.token });
    assert.equal(res.status, 204);
    const deadline = Date.now() + 1_000;
    let status;
    do {
      status = (await second.get('/api/auth/me', { token: account.token })).status;
      if (status === 401) break;
      await sleep(50);
    } while (Date.now() < deadline);
    assert.equal(status, 401, 'the other instance still accepts the token of the ended session');
    await assert.rejects(second.connect(account.token), (err) => err.message === 'unauthorized');
  });
});
