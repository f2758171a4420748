// Web Push across two instances sharing PostgreSQL and Redis: 1,000 messages to 100 members
// who are not connected, sent through both instances, whose senders both claim from the one
// outbox. Every message is counted in exactly one push (nothing lost, nothing sent twice).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createDirect, sendText } from '../lib/chat.js';
import { CI, clusterEnv, closeAllSockets, connectTo, missingForCluster, sharedDatabase, sqlRows, startInstances } from '../lib/cluster.js';
import { nowSeconds, signHs256 } from '../lib/jwt.js';
import { dbMode, serverBinary } from '../lib/server.js';
import { startPushService } from '../lib/pushService.js';

const MEMBERS = 100;
const PER_MEMBER = 10;

// The instances share PostgreSQL whatever the pass: the suite runs in the PostgreSQL one.
let skip = false;
if (dbMode() !== 'postgres') {
  skip = 'runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  const missing = await missingForCluster();
  if (missing.length && CI) throw new Error(`the push cluster suite cannot run: ${missing.join('; ')}`);
  if (missing.length) skip = `skipped: ${missing.join('; ')}`;
}


describe('Web Push across two instances', { skip, timeout: 240_000 }, () => {
  let push;
  let db;
  let env;
  let s1;
  let s2;

  before(async () => {
    // A real push service answers in tens of milliseconds. With instant answers one sender
    // can drain a claim, and the next, before the other sender's poll comes round; with
    // these, a claim of 8 takes ~160 ms and both senders find due rows.
    push = await startPushService({ latencyMs: 40 });
    db = sharedDatabase();
    // One key pair for the deployment (each instance generating its own would break
    // every subscription made through the other); small claims so both senders work.
    const vapid = execFileSync(serverBinary(), ['--generate-vapid-keys'], { encoding: 'utf8' });
    const key = /VAPID_PRIVATE_KEY=(\S+)/.exec(vapid)?.[1];
    assert.ok(key, vapid);
    env = clusterEnv({ VAPID_PRIVATE_KEY: key, PUSH_COLLAPSE_MS: '1500', PUSH_CONCURRENCY: '2' });
    [s1, s2] = await startInstances(2, env, db);
  });

  after(async () => {
    closeAllSockets();
    await Promise.all([s1?.stop(), s2?.stop()]);
    db?.drop();
    await push?.close();
  });

  it(`${MEMBERS * PER_MEMBER} messages to ${MEMBERS} offline members: each counted in exactly one push`, async () => {
    const [one, two] = await Promise.all([s1.register(), s2.register()]);
    const key = await s1.get('/api/push/vapid-public-key');
    assert.equal((await s2.get('/api/push/vapid-public-key')).body.key, key.body.key);
    push.expectVapidKey(key.body.key);

    // The members go straight into the database (100 password hashes would only slow the
    // test down); their tokens are signed with the deployment's secret.
    const prefix = `p${randomBytes(4).toString('hex')}`;
    const ids = sqlRows(
      db,
      `INSERT INTO users (username, username_key, email, password_hash, status, created_at)
       SELECT '${prefix}_' || g, '${prefix}_' || g, '${prefix}_' || g || '@example.com', '', 'offline', now()
       FROM generate_series(1, ${MEMBERS}) g ORDER BY g RETURNING id`,
    ).map(Number);
    assert.equal(ids.length, MEMBERS);
    const members = ids.map((id, i) => ({
      user: { id, username: `${prefix}_${i + 1}` },
      token: signHs256({ sub: String(id), username: `${prefix}_${i + 1}`, iat: nowSeconds(), exp: nowSeconds() + 900 }, env.JWT_SECRET),
      device: push.subscription(),
    }));
    await Promise.all(
      members.map(async (m, i) => {
        const res = await (i % 2 ? s2 : s1).post('/api/push/subscriptions', m.device.toJSON(), { token: m.token });
        assert.equal(res.status, 201, res.text);
      }),
    );
    // Member i talks with sender one (instance 1) or two (instance 2).
    const senders = [
      { account: one, server: s1, socket: await connectTo(s1.url, one.token) },
      { account: two, server: s2, socket: await connectTo(s2.url, two.token) },
    ];
    const conversations = await Promise.all(
      members.map((m, i) => createDirect(senders[i % 2].server, senders[i % 2].account, m)),
    );

    const sends = [];
    for (let round = 0; round < PER_MEMBER; round++) {
      for (let i = 0; i < MEMBERS; i++) sends.push([i, round]);
    }
    for (let k = 0; k < sends.length; k += 100) {
      await Promise.all(
        sends.slice(k, k + 100).map(([i, round]) => sendText(senders[i % 2].socket, conversations[i].id, `message ${round} to ${i}`)),
      );
    }

    const counted = (m) => push.pushesFor(m.device).reduce((sum, p) => sum + p.payload.count, 0);
    await push.waitFor(() => members.every((m) => counted(m) >= PER_MEMBER), 90_000);
    // Anything sent twice would arrive after the first copy: give it time to.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(push.rejected, []);
    for (const [i, m] of members.entries()) {
      const pushes = push.pushesFor(m.device);
      assert.equal(counted(m), PER_MEMBER, `member ${i}: ${JSON.stringify(pushes.map((p) => p.payload.count))}`);
      const messages = pushes.map((p) => p.payload.message_id);
      assert.equal(new Set(messages).size, messages.length, `member ${i} got one notification twice`);
      assert.ok(pushes.every((p) => p.payload.conversation_id === conversations[i].id));
    }
    const [sent1, sent2] = await Promise.all([s1.metric('chat_push_sent_total'), s2.metric('chat_push_sent_total')]);
    assert.equal(sent1 + sent2, push.received.length, 'the instances sent more pushes than arrived');
    assert.ok(sent1 > 0 && sent2 > 0, `one instance sent everything (${sent1} / ${sent2})`);
    const left = sqlRows(db, 'SELECT COUNT(*) FROM push_outbox');
    assert.deepEqual(left, ['0'], 'the outbox was not emptied');
  });
});
