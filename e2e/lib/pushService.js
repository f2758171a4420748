/**
 * A loopback Web Push service (RFC 8030) that checks what a real push service checks:
 * VAPID authentication (RFC 8292) and aes128gcm payload encryption (RFC 8291 / RFC 8188),
 * decrypting every payload with the subscription's private key.
 *
 * const push = await startPushService();   // 127.0.0.1, random port
 * await startPushService({ latencyMs: 40 }) // accepted pushes are answered after 40 ms, as a
 *                                          //   distant service would (refusals answer at once)
 * push.url                                 // 'http://127.0.0.1:PORT'
 * const sub = push.subscription();         // fresh P-256 key pair + 16-byte auth secret
 *   sub.endpoint                           // `${push.url}/push/<token>`
 *   sub.token                              // <token>
 *   sub.keys                               // { p256dh, auth } (base64url)
 *   sub.toJSON()                           // { endpoint, expirationTime: null, keys }, as a browser gives it
 * push.expectVapidKey(key)                 // every `k=` must equal this base64url key; null stops checking
 * push.received                            // accepted pushes in arrival order: { endpoint, token, payload,
 *                                          //   text, bodyBytes, ttl, urgency, topic, jwt: {header, claims},
 *                                          //   vapidKey, at }
 * push.rejected                            // refused requests: { endpoint, status, reason }
 * push.pushesFor(sub)                      // received for one subscription (or endpoint string)
 * await push.waitFor(predicate, timeoutMs) // resolves with `received` once predicate(received) is true
 * push.respond(sub, ...statuses)           // the next valid requests answer these statuses in order;
 *                                          //   a 2xx entry means "accept normally", 429 carries Retry-After: 1
 * push.gone(sub)                           // the endpoint answers 410 from now on
 * push.reset()                             // clears received and rejected
 * await push.close()
 *
 * Accepted pushes answer 201 Created with a Location header. Refusals: 404 unknown endpoint,
 * 405 not POST, 400 bad headers or undecryptable payload, 401 missing/malformed VAPID,
 * 403 VAPID that fails verification or names another key, 413 body over 4096 bytes.
 */

import { createECDH, createDecipheriv, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

/** RFC 8030 section 7.2: services must take 4096 bytes, so that is all a sender can rely on. */
export const MAX_BODY_BYTES = 4096;
const URGENCIES = ['very-low', 'low', 'normal', 'high'];
const DAY_SECONDS = 24 * 60 * 60;

// A request a real push service would refuse: thrown by the checks, answered with `status`.
class Refusal extends Error {}
const refuse = (status, reason) => {
  throw Object.assign(new Refusal(reason), { status });
};

const hkdf = (salt, ikm, info, length) => Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** Decrypts an aes128gcm body (RFC 8188) sent to a subscription, as RFC 8291 section 3.4 derives the keys. */
function decrypt(body, device) {
  if (body.length < 21) refuse(400, `aes128gcm body of ${body.length} bytes is shorter than its header`);
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  // RFC 8291: keyid carries the application server's uncompressed P-256 key.
  if (idlen !== 65) refuse(400, `aes128gcm keyid is ${idlen} bytes, expected the 65-byte sender key`);
  if (body.length < 21 + idlen + 17) refuse(400, 'aes128gcm body too short for one record');
  if (rs < 18) refuse(400, `aes128gcm record size ${rs} is below 18`);
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs) refuse(400, `payload spans several records (rs ${rs}, ${record.length} bytes); Web Push allows one`);

  let ecdhSecret;
  try {
    ecdhSecret = device.ecdh.computeSecret(asPublic);
  } catch {
    refuse(400, 'aes128gcm keyid is not a valid P-256 point');
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), device.publicKey, asPublic]);
  const ikm = hkdf(device.auth, ecdhSecret, keyInfo, 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);

  let plain;
  try {
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    refuse(400, 'payload does not decrypt with the subscription keys (AES-GCM authentication failed)');
  }
  // The last record ends with delimiter 0x02 then zero padding; 0x01 would mean more records follow.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end -= 1;
  if (end < 0 || plain[end] !== 2) refuse(400, 'decrypted payload lacks the final-record padding delimiter 0x02');
  return plain.subarray(0, end).toString('utf8');
}

function parseJson(part, what) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // fall through to the refusal
  }
  return refuse(401, `VAPID JWT ${what} is not a base64url JSON object`);
}

/** Checks `Authorization: vapid t=<JWT>, k=<key>` as RFC 8292 sections 2 to 4 require. */
function checkVapid(authorization, audience, expectedKey) {
  if (!authorization) refuse(401, 'missing Authorization header (VAPID required)');
  const match = /^vapid\s+(.*)$/is.exec(authorization.trim());
  if (!match) refuse(401, `Authorization scheme is not "vapid": ${authorization.slice(0, 40)}`);
  const params = {};
  for (const item of match[1].split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) params[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  if (!params.t || !params.k) refuse(401, 'vapid Authorization needs both t= and k= parameters');

  const key = Buffer.from(params.k, 'base64url');
  if (key.length !== 65 || key[0] !== 4) refuse(401, 'vapid k= is not an uncompressed 65-byte P-256 point');
  let publicKey;
  try {
    const x = key.subarray(1, 33).toString('base64url');
    const y = key.subarray(33).toString('base64url');
    publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  } catch {
    refuse(401, 'vapid k= is not a point on P-256');
  }

  const parts = params.t.split('.');
  if (parts.length !== 3) refuse(401, 'vapid t= is not a three-part JWT');
  const header = parseJson(parts[0], 'header');
  const claims = parseJson(parts[1], 'claims');
  if (header.alg !== 'ES256') refuse(403, `VAPID JWT alg is ${JSON.stringify(header.alg)}, expected "ES256"`);
  const signature = Buffer.from(parts[2], 'base64url');
  const signed =
    signature.length === 64 &&
    verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!signed) refuse(403, 'VAPID JWT signature does not verify with k=');
  if (expectedKey && params.k !== expectedKey) {
    refuse(403, `VAPID key ${params.k} is not the expected application server key ${expectedKey}`);
  }

  if (claims.aud !== audience) refuse(403, `VAPID aud ${JSON.stringify(claims.aud)} is not the push service origin ${audience}`);
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(claims.exp)) refuse(403, `VAPID exp ${JSON.stringify(claims.exp)} is not an integer`);
  if (claims.exp <= now) refuse(403, `VAPID JWT expired (exp ${claims.exp}, now ${now})`);
  if (claims.exp > now + DAY_SECONDS) refuse(403, `VAPID exp ${claims.exp} is more than 24 hours ahead (now ${now})`);
  if (!isContactUri(claims.sub)) refuse(403, `VAPID sub ${JSON.stringify(claims.sub)} is not a mailto: or https: URI`);
  return { jwt: { header, claims }, vapidKey: params.k };
}

function isContactUri(sub) {
  if (typeof sub !== 'string') return false;
  return /^mailto:[^@\s]+@[^@\s]+$/i.test(sub) || (URL.canParse(sub) && new URL(sub).protocol === 'https:');
}

/** Checks the RFC 8030 / RFC 8291 headers; returns the parsed TTL, Urgency and Topic. */
function checkHeaders(headers, bodyBytes) {
  const ttl = headers.ttl;
  if (ttl === undefined) refuse(400, 'missing TTL header');
  if (!/^\d+$/.test(ttl.trim())) refuse(400, `TTL ${JSON.stringify(ttl)} is not an integer >= 0`);
  const encoding = headers['content-encoding'];
  if (!encoding || encoding.trim().toLowerCase() !== 'aes128gcm') {
    refuse(400, `Content-Encoding is ${JSON.stringify(encoding ?? null)}, expected "aes128gcm"`);
  }
  if (bodyBytes > MAX_BODY_BYTES) refuse(413, `body of ${bodyBytes} bytes exceeds ${MAX_BODY_BYTES}`);
  const urgency = headers.urgency ?? null;
  if (urgency !== null && !URGENCIES.includes(urgency)) refuse(400, `Urgency ${JSON.stringify(urgency)} is not one of ${URGENCIES.join(', ')}`);
  const topic = headers.topic ?? null;
  if (topic !== null && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
    refuse(400, `Topic ${JSON.stringify(topic)} is not 1-32 characters of the base64url alphabet`);
  }
  return { ttl: Number(ttl.trim()), urgency, topic };
}

/** The parsed JSON if `text` is JSON, else `text` itself. */
function parseOr(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    // Keep reading past the limit so the 413 reaches a client still writing; stop hostile streams.
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      if (size > 16 * MAX_BODY_BYTES) req.destroy();
    });
    const finish = () => resolve({ body: Buffer.concat(chunks), size });
    req.on('end', finish);
    req.on('close', finish); // after destroy() there is no 'end'
    req.on('error', reject);
  });
}

/**
 * Starts a Web Push service on 127.0.0.1 with a random port.
 * @param {{ latencyMs?: number }} [options] how long an accepted push waits for its answer
 * @returns {Promise<object>} the service handle described at the top of this file
 */
export async function startPushService({ latencyMs = 0 } = {}) {
  const devices = new Map(); // token -> { ecdh, publicKey, auth, script: number[], gone }
  const received = [];
  const rejected = [];
  const waiters = new Set();
  let expectedKey = null;
  let messages = 0;
  let url = '';

  const notify = () => {
    for (const check of waiters) check();
  };
  const tokenOf = (sub) => {
    const endpoint = typeof sub === 'string' ? sub : sub?.endpoint;
    const token = endpoint?.startsWith(`${url}/push/`) ? endpoint.slice(url.length + 6) : null;
    if (!token || !devices.has(token)) throw new Error(`not a subscription of this push service: ${endpoint}`);
    return token;
  };

  async function handle(req, res) {
    const endpoint = `${url}${req.url}`;
    const answer = (status, reason, headers = {}) => {
      if (status >= 300) {
        rejected.push({ endpoint, status, reason });
        notify();
      }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(reason ?? '');
    };
    const { body, size } = await readBody(req);
    const token = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url)?.[1];
    const device = token && devices.get(token);
    if (!device) return answer(404, `no subscription at ${req.url}`);
    if (req.method !== 'POST') return answer(405, `${req.method} is not allowed on a push endpoint`, { allow: 'POST' });
    if (device.gone) return answer(410, 'subscription is gone');
    try {
      const { ttl, urgency, topic } = checkHeaders(req.headers, size);
      const { jwt, vapidKey } = checkVapid(req.headers.authorization, url, expectedKey);
      const text = decrypt(body, device);
      // A scripted failure only replaces the answer to a request that passed every check.
      const scripted = device.script.shift();
      if (scripted !== undefined && (scripted < 200 || scripted > 299)) {
        return answer(scripted, `scripted ${scripted} response`, scripted === 429 ? { 'retry-after': '1' } : {});
      }
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      received.push({ endpoint, token, payload: parseOr(text), text, bodyBytes: size, ttl, urgency, topic, jwt, vapidKey, at: Date.now() });
      messages += 1;
      res.writeHead(201, { location: `${url}/message/${messages}` }).end();
      notify();
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      answer(err.status, err.message);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err?.message ?? err));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    received,
    rejected,
    /** A new device: fresh P-256 key pair and 16-byte auth secret, as `PushManager.subscribe()` makes. */
    subscription() {
      const token = randomBytes(24).toString('base64url');
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const auth = randomBytes(16);
      devices.set(token, { ecdh, publicKey, auth, script: [], gone: false });
      const endpoint = `${url}/push/${token}`;
      const keys = { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') };
      return { endpoint, token, keys, toJSON: () => ({ endpoint, expirationTime: null, keys: { ...keys } }) };
    },
    /** Requires every request's `k=` to equal this base64url public key; `null` lifts the requirement. */
    expectVapidKey(key) {
      expectedKey = key ?? null;
    },
    /** Accepted pushes for one subscription (or endpoint string). */
    pushesFor(sub) {
      const token = tokenOf(sub);
      return received.filter((m) => m.token === token);
    },
    /** Resolves with `received` once `predicate(received)` holds; rejects after `timeoutMs` with what arrived. */
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const done = (fn, value) => {
          waiters.delete(check);
          clearTimeout(timer);
          fn(value);
        };
        const check = () => {
          try {
            if (predicate(received)) done(resolve, received);
          } catch (err) {
            done(reject, err);
          }
        };
        const timer = setTimeout(() => {
          const got = received.map(({ endpoint, ttl, urgency, topic, text }) => ({ endpoint, ttl, urgency, topic, text }));
          done(reject, new Error(`push service: condition not met within ${timeoutMs} ms; ` +
            `received ${JSON.stringify(got)}; rejected ${JSON.stringify(rejected)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    /** The next requests to `sub` that pass every check answer these statuses in order. */
    respond(sub, ...statuses) {
      devices.get(tokenOf(sub)).script.push(...statuses);
    },
    /** From now on `sub`'s endpoint answers 410 Gone, as after the user unsubscribes. */
    gone(sub) {
      devices.get(tokenOf(sub)).gone = true;
    },
    /** Forgets received and rejected requests (subscriptions and scripts stay). */
    reset() {
      received.length = 0;
      rejected.length = 0;
    },
    /** Stops listening and drops open connections. */
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
