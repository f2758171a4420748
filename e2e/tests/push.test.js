// Web Push for members who are not connected, delivered to a real push service on loopback
// (lib/pushService.js checks the VAPID token and decrypts every payload as a browser's push
// service and the browser would): who gets a push and who does not, one push per burst,
// retries and expired subscriptions, what the payload says, and a crash between the
// message's commit and the push.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatServer, sleep } from '../lib/server.js';
import { assertApiError, createDirect, createGroup, sendText } from '../lib/chat.js';
import { startPushService } from '../lib/pushService.js';

// A burst waits this long for more messages of its conversation before its push.
const COLLAPSE_MS = 1000;
// Long enough for a push that was going to be sent to have been sent.
const QUIET_MS = COLLAPSE_MS + 1500;

async function subscribe(server, account, subscription) {
  const res = await server.post('/api/push/subscriptions', subscription.toJSON(), { token: account.token });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.endpoint, subscription.endpoint);
}

/** Sends `texts` at once from `socket`, so they arrive as one burst. */
function burst(socket, conversationId, texts) {
  return Promise.all(texts.map((text) => sendText(socket, conversationId, text)));
}

describe('Web Push', { timeout: 180_000 }, () => {
  let push;
  let server;
  let alice;
  let aliceSocket;

  before(async () => {
    push = await startPushService();
    server = new ChatServer({ env: { PUSH_COLLAPSE_MS: String(COLLAPSE_MS) } });
    await server.start();
    alice = await server.register();
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    const key = await server.get('/api/push/vapid-public-key');
    assert.equal(key.status, 200, key.text);
    assert.equal(Buffer.from(key.body.key, 'base64url').length, 65);
    push.expectVapidKey(key.body.key);
  });

  after(async () => {
    await server?.stop();
    await push?.close();
  });

  it('a member with no socket gets exactly one push per burst, with who and where but not the text', async () => {
    const bob = await server.register();
    const device = push.subscription();
    await subscribe(server, bob, device);
    const direct = await createDirect(server, alice, bob);
    const sent = await burst(aliceSocket, direct.id, ['one', 'two', 'three', 'four', 'five']);
    const last = sent.reduce((a, b) => (a.seq > b.seq ? a : b));

    await push.waitFor(() => push.pushesFor(device).length >= 1);
    await sleep(QUIET_MS);
    const pushes = push.pushesFor(device);
    assert.equal(pushes.length, 1, `pushes: ${JSON.stringify(pushes.map((p) => p.payload))}`);
    const [only] = pushes;
    assert.deepEqual(only.payload, {
      type: 'message',
      conversation_id: direct.id,
      conversation_name: null,
      sender_name: alice.user.username,
      title: alice.user.username,
      body: '5 new messages',
      count: 5,
      mentioned: false,
      message_id: last.id,
      seq: last.seq,
      url: `/?conversation=${direct.id}`,
    });
    assert.ok(!only.text.includes('five'), 'the text travels only with previews on');
    assert.equal(only.topic, `conversation-${direct.id}`);
    assert.equal(only.urgency, 'high');
    assert.ok(only.ttl > 0);
    assert.equal(only.jwt.claims.aud, push.url);
    assert.ok(only.bodyBytes <= 4096);
    assert.deepEqual(push.rejected, []);

    // The next burst is another push.
    await sendText(aliceSocket, direct.id, 'six');
    await push.waitFor(() => push.pushesFor(device).length === 2);
    assert.equal(push.pushesFor(device)[1].payload.count, 1);
    assert.equal(push.pushesFor(device)[1].payload.body, 'New message');
  });

  it('a member with a live socket, and the sender, get none', async () => {
    const bob = await server.register();
    const bobDevice = push.subscription();
    const aliceDevice = push.subscription();
    await subscribe(server, bob, bobDevice);
    await subscribe(server, alice, aliceDevice);
    const bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    const direct = await createDirect(server, alice, bob);
    await sendText(aliceSocket, direct.id, 'you are here');
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(bobDevice).length, 0, 'a connected member was pushed');
    assert.equal(push.pushesFor(aliceDevice).length, 0, 'the sender was pushed her own message');

    // Once bob's socket is gone he is pushed again.
    bobSocket.disconnect();
    await sleep(800);
    await sendText(aliceSocket, direct.id, 'and now you are not');
    await push.waitFor(() => push.pushesFor(bobDevice).length === 1);
    assert.equal(push.pushesFor(aliceDevice).length, 0);
    await server.api('DELETE', '/api/push/subscriptions', { token: alice.token, body: { endpoint: aliceDevice.endpoint } });
  });

  it('a muted group sends nothing, but a mention in it does unless mentions are muted too', async () => {
    const carol = await server.register();
    const device = push.subscription();
    await subscribe(server, carol, device);
    const group = await createGroup(server, alice, [carol], 'launch');
    const settings = `/api/conversations/${group.id}/settings`;
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const muted = await server.api('PUT', settings, { token: carol.token, body: { muted_until: until } });
    assert.equal(muted.status, 200, muted.text);
    assert.equal(muted.body.mute_mentions, false);

    await sendText(aliceSocket, group.id, 'status update nobody needs');
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(device).length, 0, 'a muted group pushed');

    await sendText(aliceSocket, group.id, `@${carol.user.username} can you review?`);
    const [mention] = await push.waitFor(() => push.pushesFor(device).length === 1).then(() => push.pushesFor(device));
    assert.equal(mention.payload.mentioned, true);
    assert.equal(mention.payload.title, 'launch');
    assert.equal(mention.payload.conversation_name, 'launch');
    assert.match(mention.payload.body, /You were mentioned$/);
    assert.equal(mention.urgency, 'high');

    const silenced = await server.api('PUT', settings, { token: carol.token, body: { muted_until: until, mute_mentions: true } });
    assert.equal(silenced.status, 200, silenced.text);
    assert.equal(silenced.body.mute_mentions, true);
    await sendText(aliceSocket, group.id, `@${carol.user.username} still there?`);
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(device).length, 1, 'a mention pushed though mentions are muted');

    const unmuted = await server.api('PUT', settings, { token: carol.token, body: { muted_until: null } });
    assert.equal(unmuted.status, 200, unmuted.text);
    await sendText(aliceSocket, group.id, 'back to normal');
    await push.waitFor(() => push.pushesFor(device).length === 2);
    assert.equal(push.pushesFor(device)[1].urgency, 'normal');
  });

  it('429 and 5xx are retried until accepted; 410 removes the subscription for good', async () => {
    const dave = await server.register();
    const flaky = push.subscription();
    const gone = push.subscription();
    await subscribe(server, dave, flaky);
    await subscribe(server, dave, gone);
    push.respond(flaky, 500, 429);
    push.gone(gone);
    const direct = await createDirect(server, alice, dave);
    await sendText(aliceSocket, direct.id, 'knock knock');
    // 500, then 429 (Retry-After: 1), then accepted: once.
    await push.waitFor(() => push.pushesFor(flaky).length === 1, 20_000);
    const refusedFlaky = push.rejected.filter((r) => r.endpoint === flaky.endpoint).map((r) => r.status);
    assert.deepEqual(refusedFlaky, [500, 429]);
    const goneTries = () => push.rejected.filter((r) => r.endpoint === gone.endpoint).length;
    assert.equal(goneTries(), 1, 'a 410 endpoint was tried again');

    await sendText(aliceSocket, direct.id, 'who is there?');
    await push.waitFor(() => push.pushesFor(flaky).length === 2);
    await sleep(QUIET_MS);
    assert.equal(goneTries(), 1, 'the gone subscription was posted to again');
    assert.equal(push.pushesFor(flaky).length, 2);
    // What the metrics say of it (the queue gauges are measured every 5 s).
    assert.ok((await server.metric('chat_push_retried_total')) >= 2);
    assert.ok((await server.metric('chat_push_subscriptions_expired_total')) >= 1);
    assert.ok((await server.metric('chat_push_sent_total')) >= 2);
    const output = await server.metricsText();
    assert.match(output, /^chat_push_queue_depth \d/m);
    assert.match(output, /^chat_push_oldest_age_seconds \d/m);
  });

  it('signing out removes the session\'s subscriptions; unsubscribing stops pushes', async () => {
    const erin = await server.register();
    const device = push.subscription();
    await subscribe(server, erin, device);
    const direct = await createDirect(server, alice, erin);
    const out = await server.post('/api/auth/logout', undefined, { token: erin.token });
    assert.equal(out.status, 204, out.text);
    await sendText(aliceSocket, direct.id, 'after you left');
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(device).length, 0, 'a signed-out device was pushed');

    const frank = await server.register();
    const frankDevice = push.subscription();
    await subscribe(server, frank, frankDevice);
    const removed = await server.api('DELETE', '/api/push/subscriptions', { token: frank.token, body: { endpoint: frankDevice.endpoint } });
    assert.equal(removed.status, 204, removed.text);
    const again = await server.api('DELETE', '/api/push/subscriptions', { token: frank.token, body: { endpoint: frankDevice.endpoint } });
    assert.equal(again.status, 204, 'unsubscribing twice is fine');
    const toFrank = await createDirect(server, alice, frank);
    await sendText(aliceSocket, toFrank.id, 'hello?');
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(frankDevice).length, 0);
  });

  it('a notice of someone joining a room notifies nobody; the next message counts alone', async () => {
    const carol = await server.register();
    const dave = await server.register();
    const device = push.subscription();
    await subscribe(server, carol, device);
    const room = await createGroup(server, alice, [carol], 'lobby', { isPublic: true });
    const joined = await server.post(`/api/conversations/${room.id}/join`, {}, { token: dave.token });
    assert.ok(joined.status === 200 || joined.status === 201, joined.text);
    await sleep(QUIET_MS);
    assert.equal(push.pushesFor(device).length, 0, 'a join notice was pushed');
    await sendText(aliceSocket, room.id, 'welcome, dave');
    await push.waitFor(() => push.pushesFor(device).length === 1);
    assert.equal(push.pushesFor(device)[0].payload.count, 1, 'the notice was counted');
  });

  it("a user cannot remove another user's subscription", async () => {
    const owner = await server.register();
    const other = await server.register();
    const device = push.subscription();
    await subscribe(server, owner, device);
    const res = await server.api('DELETE', '/api/push/subscriptions', { token: other.token, body: { endpoint: device.endpoint } });
    assert.equal(res.status, 204, res.text);
    const direct = await createDirect(server, alice, owner);
    await sendText(aliceSocket, direct.id, 'still subscribed?');
    await push.waitFor(() => push.pushesFor(device).length === 1);
  });

  it('subscriptions are checked: credentials, endpoint, keys and size', async () => {
    const grace = await server.register();
    const good = push.subscription().toJSON();
    const post = (body, token = grace.token) => server.post('/api/push/subscriptions', body, { token });
    assertApiError(await post(good, null), 401, 'unauthorized');
    assertApiError(
      await server.api('DELETE', '/api/push/subscriptions', { body: { endpoint: good.endpoint } }),
      401,
      'unauthorized',
    );
    for (const endpoint of ['not a url', 'ftp://push.example.com/x', 'javascript:alert(1)', `http://127.0.0.1/${'a'.repeat(2100)}`, '']) {
      const res = await post({ ...good, endpoint });
      assertApiError(res, 400, 'validation_failed');
      assert.ok(res.body.details.endpoint, `${endpoint.slice(0, 40)}: ${res.text}`);
    }
    const badKeys = await post({ ...good, keys: { p256dh: Buffer.alloc(65, 4).toString('base64url'), auth: 'short' } });
    assertApiError(badKeys, 400, 'validation_failed');
    assert.ok(badKeys.body.details['keys.p256dh'] && badKeys.body.details['keys.auth'], badKeys.text);
    const huge = await post({ ...good, keys: { p256dh: 'A'.repeat(100_000), auth: good.keys.auth } });
    assert.equal(huge.status, 413, huge.text);
    for (const shape of [{}, { endpoint: good.endpoint }, { endpoint: 7, keys: good.keys }, [good], 'x']) {
      const res = await post(shape);
      assertApiError(res, 400, 'invalid_body');
    }
    // Nothing above was stored: a message to grace reaches no device.
    const direct = await createDirect(server, alice, grace);
    await sendText(aliceSocket, direct.id, 'anyone?');
    await sleep(QUIET_MS);
    assert.equal(push.received.filter((p) => p.payload?.conversation_id === direct.id).length, 0);
    // The server's socket stayed healthy through it all.
    assert.equal(aliceSocket.connected, true);
  });
});

describe('Web Push across a crash', { timeout: 120_000 }, () => {
  let push;
  let server;

  before(async () => {
    push = await startPushService();
    // The push waits long enough for the kill to land between the commit and the send.
    server = new ChatServer({ env: { PUSH_COLLAPSE_MS: '4000' } });
    await server.start();
  });

  after(async () => {
    await server?.stop();
    await push?.close();
  });

  it('a message acked just before SIGKILL is pushed once after the restart', async () => {
    const alice = await server.register();
    const bob = await server.register();
    const device = push.subscription();
    await subscribe(server, bob, device);
    const direct = await createDirect(server, alice, bob);
    const socket = await server.connect(alice.token, { transports: ['websocket'] });
    const sent = await sendText(socket, direct.id, 'are you awake?');
    await server.restart();
    assert.equal(push.received.length, 0, 'pushed before the kill');
    await push.waitFor(() => push.pushesFor(device).length >= 1, 30_000);
    await sleep(3000);
    const pushes = push.pushesFor(device);
    assert.equal(pushes.length, 1, 'pushed more than once');
    assert.equal(pushes[0].payload.message_id, sent.id);
    assert.equal(pushes[0].payload.count, 1);
  });
});

describe('Web Push with previews on', { timeout: 60_000 }, () => {
  it('PUSH_PREVIEW=true puts the text in the (encrypted) payload', async () => {
    const push = await startPushService();
    const server = new ChatServer({ env: { PUSH_COLLAPSE_MS: '200', PUSH_PREVIEW: 'true' } });
    try {
      await server.start();
      const alice = await server.register();
      const bob = await server.register();
      const device = push.subscription();
      await subscribe(server, bob, device);
      const group = await createGroup(server, alice, [bob], 'design');
      const socket = await server.connect(alice.token, { transports: ['websocket'] });
      await sendText(socket, group.id, 'mockups are ready');
      const [only] = await push.waitFor(() => push.pushesFor(device).length === 1).then(() => push.pushesFor(device));
      assert.equal(only.payload.body, `${alice.user.username}: mockups are ready`);
      assert.equal(only.payload.title, 'design');
    } finally {
      await server.stop();
      await push.close();
    }
  });
});
