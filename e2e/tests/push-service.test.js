// The loopback Web Push service, driven by the independent `web-push` library: what it accepts
// must decrypt to exactly what was sent, and what a real push service refuses it must refuse too.

import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import webpush from 'web-push';
import { MAX_BODY_BYTES, startPushService } from '../lib/pushService.js';

const SUBJECT = 'mailto:ops@example.com';

// web-push always sends through node:https; this agent gives it a plain TCP socket so the
// library's own request path reaches the loopback service, which speaks plain HTTP.
class PlainAgent extends https.Agent {
  createConnection(options) {
    return net.createConnection({ host: options.host, port: options.port });
  }
}

describe('loopback push service', { timeout: 60_000 }, () => {
  let push;
  const agent = new PlainAgent();
  const vapid = webpush.generateVAPIDKeys();
  const vapidDetails = { subject: SUBJECT, publicKey: vapid.publicKey, privateKey: vapid.privateKey };
  const options = { vapidDetails, TTL: 60, urgency: 'high', topic: 'conversation-12', contentEncoding: 'aes128gcm' };

  const send = (subscription, payload, extra = {}) =>
    webpush.sendNotification(subscription, payload, { ...options, ...extra, agent });

  /** Sends request details built by web-push, with some headers replaced, through fetch. */
  async function sendRaw(subscription, payload, headers = {}) {
    const details = webpush.generateRequestDetails(subscription, payload, options);
    const merged = { ...details.headers, ...headers };
    delete merged['Content-Length']; // fetch sets it from the body
    const sent = Object.fromEntries(
      Object.entries(merged).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
    );
    const res = await fetch(details.endpoint, { method: 'POST', headers: sent, body: details.body });
    return { status: res.status, text: await res.text() };
  }

  /** Asserts a send is refused with `status`, recorded in `rejected`, and nothing is received. */
  async function expectRefused(promise, status, reasonPattern) {
    await assert.rejects(promise, (err) => {
      assert.equal(err.statusCode, status, `expected ${status}, got ${err.statusCode}: ${err.body}`);
      return true;
    });
    assert.equal(push.received.length, 0, 'a refused push was recorded as received');
    assert.equal(push.rejected.length, 1);
    assert.equal(push.rejected[0].status, status);
    assert.match(push.rejected[0].reason, reasonPattern);
  }

  before(async () => {
    push = await startPushService();
  });

  beforeEach(() => {
    push.reset();
    push.expectVapidKey(null);
  });

  after(async () => {
    agent.destroy();
    await push?.close();
  });

  it('hands out subscriptions shaped like a browser PushSubscription', () => {
    const sub = push.subscription();
    assert.match(push.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(sub.endpoint.startsWith(`${push.url}/push/`));
    assert.deepEqual(Object.keys(sub.toJSON()), ['endpoint', 'expirationTime', 'keys']);
    assert.deepEqual(sub.toJSON(), { endpoint: sub.endpoint, expirationTime: null, keys: sub.keys });
    const point = Buffer.from(sub.keys.p256dh, 'base64url');
    assert.equal(point.length, 65);
    assert.equal(point[0], 4);
    assert.equal(Buffer.from(sub.keys.auth, 'base64url').length, 16);
    assert.notEqual(push.subscription().keys.p256dh, sub.keys.p256dh);
  });

  it('accepts a valid push and decrypts it to the exact JSON sent', async () => {
    const sub = push.subscription();
    const other = push.subscription();
    push.expectVapidKey(vapid.publicKey);
    const message = { type: 'message', conversationId: 12, from: 'alice', body: 'héllo 👋 <b>&</b>' };
    const json = JSON.stringify(message);

    const res = await send(sub.toJSON(), json);
    assert.equal(res.statusCode, 201);
    assert.match(res.headers.location, new RegExp(`^${push.url}/message/\\d+$`));

    const [got] = await push.waitFor((r) => r.length === 1);
    assert.deepEqual(got.payload, message);
    assert.equal(got.text, json);
    assert.equal(got.endpoint, sub.endpoint);
    assert.equal(got.token, sub.token);
    // salt 16 + rs 4 + idlen 1 + keyid 65, then plaintext, delimiter, 16-byte tag (web-push pads nothing)
    assert.equal(got.bodyBytes, 86 + Buffer.byteLength(json) + 1 + 16);
    assert.equal(got.ttl, 60);
    assert.equal(got.urgency, 'high');
    assert.equal(got.topic, 'conversation-12');
    assert.equal(got.jwt.header.alg, 'ES256');
    assert.equal(got.jwt.claims.aud, push.url);
    assert.equal(got.jwt.claims.sub, SUBJECT);
    assert.equal(got.vapidKey, vapid.publicKey);
    assert.ok(Math.abs(got.at - Date.now()) < 5_000);
    assert.equal(push.pushesFor(sub).length, 1);
    assert.equal(push.pushesFor(other).length, 0);
    assert.deepEqual(push.rejected, []);

    await send(sub.toJSON(), 'plain words', { urgency: 'low', topic: undefined });
    const all = await push.waitFor((r) => r.length === 2);
    assert.equal(all[1].payload, 'plain words');
    assert.equal(all[1].urgency, 'low');
    assert.equal(all[1].topic, null);
  });

  it('reports what arrived when waitFor times out', async () => {
    await assert.rejects(push.waitFor((r) => r.length > 0, 100), /within 100 ms; received \[\]; rejected \[\]/);
  });

  it('refuses a push signed with another key than the expected one', async () => {
    const sub = push.subscription();
    const intruder = webpush.generateVAPIDKeys();
    push.expectVapidKey(vapid.publicKey);
    await expectRefused(
      send(sub.toJSON(), '{"x":1}', { vapidDetails: { ...vapidDetails, ...intruder } }),
      403,
      /not the expected application server key/,
    );
  });

  it('refuses a JWT for another audience', async () => {
    const sub = push.subscription();
    const { Authorization } = webpush.getVapidHeaders(
      'http://127.0.0.1:1', SUBJECT, vapid.publicKey, vapid.privateKey, 'aes128gcm',
    );
    const res = await sendRaw(sub.toJSON(), '{"x":1}', { Authorization });
    assert.equal(res.status, 403);
    assert.match(res.text, /aud "http:\/\/127\.0\.0\.1:1" is not the push service origin/);
    assert.equal(push.received.length, 0);
    assert.deepEqual(push.rejected.map((r) => [r.endpoint, r.status]), [[sub.endpoint, 403]]);
  });

  it('refuses an expired JWT', async () => {
    const sub = push.subscription();
    const past = Math.floor(Date.now() / 1000) - 60;
    const { Authorization } = webpush.getVapidHeaders(
      push.url, SUBJECT, vapid.publicKey, vapid.privateKey, 'aes128gcm', past,
    );
    const res = await sendRaw(sub.toJSON(), '{"x":1}', { Authorization });
    assert.equal(res.status, 403);
    assert.equal(push.received.length, 0);
    assert.equal(push.rejected.length, 1);
    assert.match(push.rejected[0].reason, /expired/);
  });

  it('refuses a forged signature and an expiry more than 24 hours ahead', async () => {
    const sub = push.subscription();
    const now = Math.floor(Date.now() / 1000);
    // web-push will not sign an exp beyond 24 hours, so sign that JWT here with the same key.
    const point = Buffer.from(vapid.publicKey, 'base64url');
    const key = createPrivateKey({
      format: 'jwk',
      key: { kty: 'EC', crv: 'P-256', d: vapid.privateKey,
        x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    });
    const jwt = (claims) => {
      const input = ['{"typ":"JWT","alg":"ES256"}', JSON.stringify(claims)]
        .map((part) => Buffer.from(part).toString('base64url')).join('.');
      return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    const claims = { aud: push.url, exp: now + 3600, sub: SUBJECT };
    const auth = (token) => ({ Authorization: `vapid t=${token}, k=${vapid.publicKey}` });

    const good = await sendRaw(sub.toJSON(), '{"ok":1}', auth(jwt(claims)));
    assert.equal(good.status, 201, good.text);
    const [h, , sig] = jwt(claims).split('.');
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: 'mailto:x@example.com' })).toString('base64url');
    const cases = [
      [`${h}.${swapped}.${sig}`, /signature does not verify/],
      [jwt({ ...claims, exp: now + 25 * 3600 }), /more than 24 hours ahead/],
      [jwt({ ...claims, sub: 'http://example.com' }), /not a mailto: or https: URI/],
    ];
    for (const [token, reason] of cases) {
      push.reset();
      const res = await sendRaw(sub.toJSON(), '{"x":1}', auth(token));
      assert.equal(res.status, 403, res.text);
      assert.match(push.rejected[0].reason, reason);
      assert.equal(push.received.length, 0);
    }
  });

  it('refuses a request without VAPID or with malformed headers', async () => {
    const sub = push.subscription().toJSON();
    const cases = [
      [{ Authorization: undefined }, 401, /missing Authorization/],
      [{ Authorization: `WebPush ${'a'.repeat(20)}` }, 401, /not "vapid"/],
      [{ TTL: undefined }, 400, /missing TTL/],
      [{ TTL: '-1' }, 400, /TTL "-1"/],
      [{ 'Content-Encoding': 'aesgcm' }, 400, /Content-Encoding/],
      [{ Urgency: 'urgent' }, 400, /Urgency "urgent"/],
      [{ Topic: 'a'.repeat(33) }, 400, /Topic/],
      [{ Topic: 'not/base64url' }, 400, /Topic/],
    ];
    for (const [headers, status, reason] of cases) {
      push.reset();
      const res = await sendRaw(sub, '{"x":1}', headers);
      assert.equal(res.status, status, `${JSON.stringify(headers)} answered ${res.status}: ${res.text}`);
      assert.match(push.rejected[0]?.reason ?? '', reason);
      assert.equal(push.received.length, 0);
    }
    const unknown = await sendRaw({ ...sub, endpoint: `${push.url}/push/nobody` }, '{"x":1}');
    assert.equal(unknown.status, 404);
  });

  it('refuses a payload encrypted for another subscription', async () => {
    const sub = push.subscription();
    const stranger = push.subscription();
    await expectRefused(
      send({ endpoint: sub.endpoint, keys: stranger.keys }, '{"secret":true}'),
      400,
      /does not decrypt/,
    );
    assert.equal(push.pushesFor(stranger).length, 0);
  });

  it('answers scripted statuses in order, then 410 once gone', async () => {
    const sub = push.subscription();
    push.respond(sub, 500, 201);
    await assert.rejects(send(sub.toJSON(), '{"n":1}'), (err) => err.statusCode === 500);
    assert.equal(push.received.length, 0);
    assert.deepEqual(push.rejected.map((r) => r.status), [500]);
    const ok = await send(sub.toJSON(), '{"n":2}');
    assert.equal(ok.statusCode, 201);
    assert.deepEqual(push.pushesFor(sub).map((m) => m.payload), [{ n: 2 }]);

    push.respond(sub, 429);
    await assert.rejects(send(sub.toJSON(), '{"n":3}'), (err) => {
      assert.equal(err.statusCode, 429);
      assert.equal(err.headers['retry-after'], '1');
      return true;
    });

    push.gone(sub);
    await assert.rejects(send(sub.toJSON(), '{"n":4}'), (err) => err.statusCode === 410);
    assert.deepEqual(push.pushesFor(sub).map((m) => m.payload), [{ n: 2 }]);
    assert.deepEqual(push.rejected.map((r) => r.status), [500, 429, 410]);
  });

  it(`refuses a body over ${MAX_BODY_BYTES} bytes with 413`, async () => {
    const sub = push.subscription();
    await expectRefused(send(sub.toJSON(), 'x'.repeat(5000)), 413, /exceeds 4096/);
    // Just under the limit still passes: 86 header + 3993 plaintext + 17 = 4096.
    const res = await send(sub.toJSON(), 'y'.repeat(MAX_BODY_BYTES - 86 - 17));
    assert.equal(res.statusCode, 201);
    assert.equal(push.received[0].bodyBytes, MAX_BODY_BYTES);
  });
});
