// Ending a session ends its sockets: logout closes the sockets of that login
// session only, logout-all every socket of the user, and a replayed refresh
// token the sockets of the session it belonged to. Each gets `session:ended`
// with a reason first.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, waitFor, expectNoEvent, DEFAULT_PASSWORD } from '../lib/server.js';

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
