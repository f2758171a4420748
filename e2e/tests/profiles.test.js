// Profiles with the real socket.io-client: a display name, bio or avatar change reaches every
// socket of everyone who shares a conversation with the user (and the user's other sockets)
// exactly once, and nobody else; messages show the display name; hostile values and someone
// else's upload are refused; changing the password ends the other sessions' sockets with
// session:ended and keeps the caller's own.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectNoEvent, sleep, startServer, waitFor } from '../lib/server.js';
import { assertApiError, createDirect, createGroup, sendText } from '../lib/chat.js';
import { makePng } from '../browser/lib/png.js';

/** Every `event` a socket receives from now on, for counting. */
function collect(socket, event) {
  const seen = [];
  const handler = (payload) => seen.push(payload);
  socket.on(event, handler);
  return { seen, stop: () => socket.off(event, handler) };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
  const buf = Buffer.from(bytes);
  assert.equal(buf.toString('latin1', 12, 16), 'IHDR', 'a PNG');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

async function upload(server, user, png) {
  const form = new FormData();
  form.append('image', new Blob([png], { type: 'image/png' }), 'me.png');
  const res = await fetch(`${server.url}/api/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}` },
    body: form,
  });
  assert.equal(res.status, 201, `upload: HTTP ${res.status}`);
  return res.json();
}

describe('profiles', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let dave;
  let direct;
  let sockets;

  const patch = (user, body) => server.api('PATCH', '/api/users/me', { token: user.token, body });

  before(async () => {
    server = await startServer();
    [alice, bob, carol, dave] = await Promise.all([0, 1, 2, 3].map(() => server.register()));
    direct = await createDirect(server, alice, bob);
    await createGroup(server, alice, [bob, carol], 'profile club');
    // Dave shares nothing with alice.
    await createDirect(server, bob, dave);
    const ws = { transports: ['websocket'] };
    sockets = {
      alicePhone: await server.connect(alice.token, ws),
      aliceLaptop: await server.connect(alice.token, ws),
      bobPhone: await server.connect(bob.token, ws),
      bobLaptop: await server.connect(bob.token, ws),
      carol: await server.connect(carol.token, ws),
      dave: await server.connect(dave.token, ws),
    };
    await sleep(300);
  });

  after(async () => {
    await server?.stop();
  });

  it('PATCH /api/users/me: user:updated reaches every sharing socket exactly once, and nobody else', async () => {
    const counters = Object.fromEntries(Object.entries(sockets).map(([name, s]) => [name, collect(s, 'user:updated')]));
    const res = await patch(alice, { display_name: '  Alice Wonder  ', bio: 'Curiouser and curiouser' });
    assert.equal(res.status, 200, `PATCH: HTTP ${res.status} ${res.text}`);
    assert.equal(res.body.user.display_name, 'Alice Wonder');
    assert.equal(res.body.user.bio, 'Curiouser and curiouser');
    assert.equal(res.body.user.email, alice.user.email, 'the caller gets their own user');
    await sleep(800);
    for (const [name, counter] of Object.entries(counters)) {
      counter.stop();
      if (name === 'dave') {
        assert.deepEqual(counter.seen, [], 'dave shares no conversation with alice');
        continue;
      }
      assert.equal(counter.seen.length, 1, `${name} gets user:updated exactly once: ${JSON.stringify(counter.seen)}`);
      const [user] = counter.seen;
      assert.equal(user.id, alice.user.id);
      assert.equal(user.username, alice.user.username);
      assert.equal(user.display_name, 'Alice Wonder');
      assert.equal(user.bio, 'Curiouser and curiouser');
      assert.equal(user.email, undefined, `${name}: no e-mail in the broadcast`);
    }
  });

  it('messages, member lists and user search show the display name', async () => {
    const arrival = waitFor(sockets.bobPhone, 'message:new', (m) => m?.conversation_id === direct.id);
    await sendText(sockets.alicePhone, direct.id, 'hello with a name');
    const message = await arrival;
    assert.equal(message.sender.display_name, 'Alice Wonder');
    assert.equal(message.sender.username, alice.user.username);
    const members = await server.get(`/api/conversations/${direct.id}/members`, { token: bob.token });
    assert.equal(members.status, 200, members.text);
    const listed = (members.body.members ?? members.body.users ?? []).find((u) => u.id === alice.user.id);
    assert.equal(listed?.display_name, 'Alice Wonder', members.text);
    const found = await server.get('/api/users/search?query=WONDER', { token: carol.token });
    assert.equal(found.status, 200, found.text);
    assert.deepEqual(found.body.users.map((u) => u.id), [alice.user.id]);
  });

  it('hostile values are refused with the field named, change nothing and announce nothing', async () => {
    const quiet = expectNoEvent(sockets.bobPhone, 'user:updated', 600);
    const cases = [
      [{ display_name: 'x'.repeat(65) }, 400, 'display_name'],
      [{ display_name: 'two\nlines' }, 400, 'display_name'],
      [{ display_name: 'rtl\u202Egnp.exe' }, 400, 'display_name'],
      [{ display_name: 'bell\u0007' }, 400, 'display_name'],
      [{ bio: 'b'.repeat(501) }, 400, 'bio'],
      [{ avatar: 'javascript:alert(1)' }, 422, 'avatar'],
      [{ avatar: `/uploads/${'c'.repeat(64)}.png` }, 422, 'avatar'],
    ];
    for (const [body, status, field] of cases) {
      const res = await patch(alice, body);
      assertApiError(res, status, 'validation_failed');
      assert.ok(Array.isArray(res.body.details?.[field]), `${JSON.stringify(body)}: ${res.text}`);
    }
    const bobsImage = await upload(server, bob, makePng(40, 40, 7));
    const res = await patch(alice, { avatar: bobsImage.file_url });
    assertApiError(res, 422, 'validation_failed');
    assert.ok(Array.isArray(res.body.details?.avatar), res.text);
    await quiet;
    const me = await server.get('/api/users/me', { token: alice.token });
    assert.equal(me.body.user.display_name, 'Alice Wonder');
    assert.equal(me.body.user.avatar_url, null);
  });

  it('an avatar from one\'s own upload is cropped square at 256 and 64 px and announced once', async () => {
    const image = await upload(server, alice, makePng(300, 120, 3));
    const heard = collect(sockets.bobLaptop, 'user:updated');
    const res = await patch(alice, { avatar: image.file_url });
    assert.equal(res.status, 200, `PATCH: HTTP ${res.status} ${res.text}`);
    const avatar = res.body.user.avatar_url;
    assert.match(avatar, /^\/uploads\/[0-9a-f]{64}\.png$/);
    for (const [url, side] of [[avatar, 256], [avatar.replace('.png', '_thumb.png'), 64]]) {
      const file = await fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${alice.token}` } });
      assert.equal(file.status, 200, url);
      assert.deepEqual(pngSize(await file.arrayBuffer()), [side, side], url);
      // Others see profile pictures too.
      const seen = await fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${bob.token}` } });
      assert.equal(seen.status, 200, `bob fetching ${url}`);
    }
    await sleep(500);
    heard.stop();
    assert.equal(heard.seen.length, 1, JSON.stringify(heard.seen));
    assert.equal(heard.seen[0].avatar_url, avatar);
  });

  it('change-password: a wrong current password is 403; then the other session\'s sockets end, the caller\'s own go on', async () => {
    const login = await server.post('/api/auth/login', { username: alice.user.username, password: alice.password });
    assert.equal(login.status, 200, login.text);
    const otherSession = await server.connect(login.body.token, { transports: ['websocket'] });

    const wrong = await server.post('/api/auth/change-password', { current_password: 'not my password', new_password: 'a brand new passphrase' }, { token: alice.token });
    assertApiError(wrong, 403, 'invalid_credentials');
    assert.ok(otherSession.connected, 'a refused change ends nothing');

    const ended = waitFor(otherSession, 'session:ended');
    const gone = new Promise((resolve) => otherSession.once('disconnect', resolve));
    const stays = [sockets.alicePhone, sockets.aliceLaptop].map((s) => expectNoEvent(s, 'session:ended', 1_000));
    const changed = await server.post('/api/auth/change-password', { current_password: alice.password, new_password: 'a brand new passphrase' }, { token: alice.token });
    assert.equal(changed.status, 204, changed.text);
    assert.deepEqual(await ended, { reason: 'password_changed' });
    await gone;
    await Promise.all(stays);
    assert.ok(sockets.alicePhone.connected && sockets.aliceLaptop.connected, 'the caller\'s sockets stay');
    // The caller's session still works, over the socket and REST; the other one's token is refused.
    const sent = await sendText(sockets.alicePhone, direct.id, 'still here');
    assert.equal(sent.sender_id, alice.user.id);
    assert.equal((await server.get('/api/auth/me', { token: alice.token })).status, 200);
    assert.equal((await server.get('/api/auth/me', { token: login.body.token })).status, 401);
    await assert.rejects(server.connect(login.body.token, { transports: ['websocket'] }), /unauthorized/);
    const relogin = await server.post('/api/auth/login', { username: alice.user.username, password: 'a brand new passphrase' });
    assert.equal(relogin.status, 200, relogin.text);
  });
});
