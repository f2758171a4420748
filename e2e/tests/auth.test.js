// Who gets in: tokens over HTTP and Socket.IO, registration and login.

import assert from 'node:assert/strict';
import { randomBytes, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startServer, uniqueUsername, DEFAULT_PASSWORD } from '../lib/server.js';
import { assertApiError } from '../lib/chat.js';
import { b64url, decode, nowSeconds, signHs256, unsigned } from '../lib/jwt.js';

// The server signs with this secret, so the suite can craft tokens that are correctly signed
// yet must still be refused (expired, no expiry, unknown user, another algorithm).
const SECRET = `e2e-${randomBytes(24).toString('hex')}`;

describe('authentication', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;

  before(async () => {
    server = await startServer({ env: { JWT_SECRET: SECRET } });
    alice = await server.register();
    bob = await server.register();
  });

  after(async () => {
    await server?.stop();
  });

  async function expectSocketRefused(token, options = {}) {
    await assert.rejects(
      server.connect(token, options),
      (err) => {
        assert.equal(err.message, 'unauthorized');
        return true;
      },
      'the socket connected with a bad token',
    );
  }

  describe('a valid token', () => {
    it('GET /api/auth/me returns the caller with email and created_at', async () => {
      const res = await server.get('/api/auth/me', { token: alice.token });
      assert.equal(res.status, 200, res.text);
      const { user } = res.body;
      assert.equal(user.id, alice.user.id);
      assert.equal(user.username, alice.user.username);
      assert.equal(user.email, `${alice.user.username.toLowerCase()}@example.com`);
      assert.equal(typeof user.created_at, 'string');
      assert.ok('avatar_url' in user && 'status' in user && 'last_seen' in user, JSON.stringify(user));
      for (const secret of ['password', 'password_hash']) assert.ok(!(secret in user), `user carries ${secret}`);
    });

    it('is an HS256 JWT the suite can reproduce with the configured secret', () => {
      const { header, payload, parts } = decode(alice.token);
      assert.equal(header.alg, 'HS256');
      assert.equal(signHs256(payload, SECRET, header).split('.')[2], parts[2]);
      assert.ok(payload.exp > nowSeconds(), 'the fresh token is already expired');
    });

    it('a token the suite signs with the configured secret is accepted', async () => {
      const { header, payload } = decode(alice.token);
      const token = signHs256({ ...payload, iat: nowSeconds(), exp: nowSeconds() + 600 }, SECRET, header);
      const res = await server.get('/api/auth/me', { token });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.user.id, alice.user.id);
    });

    it('connects a socket with auth.token', async () => {
      const socket = await server.connect(alice.token, { transports: ['websocket'] });
      assert.equal(socket.connected, true);
      socket.disconnect();
    });

    it('connects a socket with an Authorization header', async () => {
      const socket = await server.connect(undefined, {
        transports: ['websocket'],
        extraHeaders: { Authorization: `Bearer ${alice.token}` },
      });
      assert.equal(socket.connected, true);
      socket.disconnect();
    });

    it('is accepted from the access_token cookie over HTTP', async () => {
      const res = await server.get('/api/auth/me', { headers: { cookie: `access_token=${alice.token}` } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.user.id, alice.user.id);
    });

    it('connects a socket with the access_token cookie', async () => {
      // A browser sends the page's Origin with every WebSocket handshake.
      const socket = await server.connect(undefined, {
        transports: ['websocket'],
        extraHeaders: { cookie: `access_token=${alice.token}`, origin: server.url },
      });
      assert.equal(socket.connected, true);
      socket.disconnect();
    });

    it('refuses a cookie handshake from another origin or from no origin at all', async () => {
      const cookie = `access_token=${alice.token}`;
      for (const transports of [['websocket'], ['polling']]) {
        for (const origin of ['https://evil.example', server.url.replace('http://', 'https://'), undefined]) {
          const extraHeaders = origin ? { cookie, origin } : { cookie };
          await expectSocketRefused(undefined, { transports, extraHeaders });
        }
        // The same-origin fetch metadata of a browser's polling request passes without Origin.
        const polled = await server.connect(undefined, {
          transports,
          extraHeaders: { cookie, 'sec-fetch-site': 'same-origin' },
        });
        polled.disconnect();
      }
    });

    it('accepts a token the page sends itself whatever the origin', async () => {
      const socket = await server.connect(alice.token, {
        transports: ['websocket'],
        extraHeaders: { cookie: `access_token=${alice.token}`, origin: 'https://evil.example' },
      });
      assert.equal(socket.connected, true);
      socket.disconnect();
    });
  });

  describe('a bad token is refused', () => {
    const cases = [
      {
        name: 'a forged signature',
        make: () => {
          const { header, payload } = decode(alice.token);
          return signHs256(payload, 'not-the-server-secret', header);
        },
      },
      {
        name: 'a tampered payload (other user id) with the original signature',
        make: () => {
          const { header, payload, parts } = decode(alice.token);
          const other = { ...payload };
          for (const key of ['sub', 'user_id', 'uid', 'id']) {
            if (key in other) other[key] = typeof other[key] === 'string' ? String(bob.user.id) : bob.user.id;
          }
          other.username = bob.user.username;
          return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(other)).toString('base64url')}.${parts[2]}`;
        },
      },
      {
        name: 'an expired token signed with the server key',
        make: () => {
          const { header, payload } = decode(alice.token);
          return signHs256({ ...payload, iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }, SECRET, header);
        },
      },
      {
        name: 'a token signed with the server key but without an expiry',
        make: () => {
          const { header, payload } = decode(alice.token);
          const { exp, ...rest } = payload;
          return signHs256(rest, SECRET, header);
        },
      },
      {
        name: 'a token signed with the server key for a user that does not exist',
        make: () => {
          const { header, payload } = decode(alice.token);
          return signHs256({ ...payload, sub: '987654321', username: 'ghost_user' }, SECRET, header);
        },
      },
      {
        name: 'a token signed with the server key under HS512',
        make: () => {
          const { payload } = decode(alice.token);
          const signingInput = `${b64url({ alg: 'HS512', typ: 'JWT' })}.${b64url(payload)}`;
          return `${signingInput}.${createHmac('sha512', SECRET).update(signingInput).digest('base64url')}`;
        },
      },
      {
        name: 'an expired token signed with another key',
        make: () => {
          const { header, payload } = decode(alice.token);
          return signHs256({ ...payload, iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 }, 'not-the-server-secret', header);
        },
      },
      {
        name: 'alg "none" with no signature',
        make: () => unsigned({ ...decode(alice.token).payload, exp: nowSeconds() + 3600 }),
      },
      {
        name: 'alg "none" carrying the original signature',
        make: () => unsigned({ ...decode(alice.token).payload, exp: nowSeconds() + 3600 }, decode(alice.token).parts[2]),
      },
      { name: 'a garbage string', make: () => 'this-is-not-a-jwt' },
      { name: 'three garbage segments', make: () => 'aaa.bbb.ccc' },
      { name: 'an empty string', make: () => '' },
    ];

    for (const { name, make } of cases) {
      it(`${name}: HTTP 401 unauthorized`, async () => {
        const token = make();
        const res = await server.get('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
        assertApiError(res, 401, 'unauthorized');
      });

      it(`${name}: socket connect_error "unauthorized" (websocket)`, async () => {
        await expectSocketRefused(make(), { transports: ['websocket'] });
      });

      it(`${name}: socket connect_error "unauthorized" (polling)`, async () => {
        await expectSocketRefused(make(), { transports: ['polling'] });
      });
    }

    it('a missing token: HTTP 401 unauthorized', async () => {
      assertApiError(await server.get('/api/auth/me'), 401, 'unauthorized');
    });

    it('a token under another scheme: HTTP 401 unauthorized', async () => {
      const res = await server.get('/api/auth/me', { headers: { authorization: `Basic ${alice.token}` } });
      assertApiError(res, 401, 'unauthorized');
    });

    it('a missing token: socket connect_error "unauthorized"', async () => {
      await expectSocketRefused(undefined, { transports: ['websocket'] });
      await expectSocketRefused(undefined, {});
    });

    it('a non-string token: socket connect_error "unauthorized"', async () => {
      await expectSocketRefused(undefined, { transports: ['websocket'], auth: { token: 12345 } });
    });

    it('a bad token in the Authorization header: socket connect_error "unauthorized"', async () => {
      await expectSocketRefused(undefined, {
        transports: ['websocket'],
        extraHeaders: { Authorization: 'Bearer this-is-not-a-jwt' },
      });
    });

    it('protected REST routes refuse a missing token too', async () => {
      assertApiError(await server.get('/api/conversations'), 401, 'unauthorized');
      assertApiError(await server.post('/api/conversations', { user_id: bob.user.id }), 401, 'unauthorized');
    });
  });

  describe('login', () => {
    it('with the username returns the user and a working token', async () => {
      const res = await server.post('/api/auth/login', { username: alice.user.username, password: DEFAULT_PASSWORD });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.user.id, alice.user.id);
      assert.equal(typeof res.body.token, 'string');
      const me = await server.get('/api/auth/me', { token: res.body.token });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.user.id, alice.user.id);
      const socket = await server.connect(res.body.token, { transports: ['websocket'] });
      socket.disconnect();
    });

    it('with the email returns the same user', async () => {
      const res = await server.post('/api/auth/login', {
        email: `${alice.user.username.toLowerCase()}@example.com`,
        password: DEFAULT_PASSWORD,
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.user.id, alice.user.id);
      const me = await server.get('/api/auth/me', { token: res.body.token });
      assert.equal(me.body.user.id, alice.user.id);
    });

    it('with a wrong password is 401 invalid_credentials', async () => {
      const byName = await server.post('/api/auth/login', { username: alice.user.username, password: 'wrong-password-1' });
      assertApiError(byName, 401, 'invalid_credentials');
      assert.equal(byName.body.token, undefined);
      const byEmail = await server.post('/api/auth/login', {
        email: `${alice.user.username.toLowerCase()}@example.com`,
        password: 'wrong-password-1',
      });
      assertApiError(byEmail, 401, 'invalid_credentials');
    });

    it('with an unknown user is 401 invalid_credentials, like a wrong password', async () => {
      const res = await server.post('/api/auth/login', { username: uniqueUsername('nobody'), password: DEFAULT_PASSWORD });
      assertApiError(res, 401, 'invalid_credentials');
    });
  });

  describe('register', () => {
    it('returns 201 with the user (email included) and a working token', async () => {
      const username = uniqueUsername('reg');
      const res = await server.post('/api/auth/register', {
        username,
        email: `${username}@example.com`,
        password: DEFAULT_PASSWORD,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.user.username, username);
      assert.equal(res.body.user.email, `${username}@example.com`);
      assert.ok(Number.isInteger(res.body.user.id));
      for (const secret of ['password', 'password_hash']) assert.ok(!(secret in res.body.user), `user carries ${secret}`);
      const me = await server.get('/api/auth/me', { token: res.body.token });
      assert.equal(me.status, 200, me.text);
    });

    it('sets httpOnly access and refresh cookies', async () => {
      const username = uniqueUsername('cookie');
      const res = await server.post('/api/auth/register', {
        username,
        email: `${username}@example.com`,
        password: DEFAULT_PASSWORD,
      });
      assert.equal(res.status, 201, res.text);
      const cookies = res.headers.getSetCookie();
      const access = cookies.find((c) => c.startsWith('access_token='));
      const refresh = cookies.find((c) => c.startsWith('refresh_token='));
      assert.ok(access, `no access_token cookie in ${JSON.stringify(cookies)}`);
      assert.ok(refresh, `no refresh_token cookie in ${JSON.stringify(cookies)}`);
      for (const cookie of [access, refresh]) {
        assert.match(cookie, /;\s*HttpOnly/i);
        assert.match(cookie, /;\s*SameSite=Lax/i);
      }
      assert.match(access, /;\s*Path=\/(;|$)/i);
      assert.match(refresh, /;\s*Path=\/api\/auth(;|$)/i);
    });

    it('a taken username is 409 username_taken', async () => {
      const res = await server.post('/api/auth/register', {
        username: alice.user.username,
        email: `${uniqueUsername('other')}@example.com`,
        password: DEFAULT_PASSWORD,
      });
      assertApiError(res, 409, 'username_taken');
    });

    it('a taken email is 409 email_taken', async () => {
      const res = await server.post('/api/auth/register', {
        username: uniqueUsername('other'),
        email: `${alice.user.username.toLowerCase()}@example.com`,
        password: DEFAULT_PASSWORD,
      });
      assertApiError(res, 409, 'email_taken');
    });
  });
});
