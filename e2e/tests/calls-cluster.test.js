// Calls across two instances sharing PostgreSQL and Redis: the caller on one instance and the
// callee's sockets on both; ringing, answering, answered-elsewhere, signals and the end cross
// instances exactly once; a ringing call whose caller's instance is gone still ends as missed
// (swept by the survivor); and an instance killed with SIGKILL mid-call ends its calls as failed on
// the other side within CALL_GRACE_SECONDS plus a few seconds, with one call message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allMessages, createDirect, emitOk } from '../lib/chat.js';
import { CI, clusterEnv, closeAllSockets, connectTo, missingForCluster, sharedDatabase, startInstances } from '../lib/cluster.js';
import { dbMode, expectNoEvent, waitFor } from '../lib/server.js';

const GRACE_SECONDS = 3;
const RING_SECONDS = 3;

let skip = false;
if (dbMode() !== 'postgres') {
  skip = 'runs in the PostgreSQL pass (E2E_DB=postgres)';
} else {
  const missing = await missingForCluster();
  if (missing.length && CI) throw new Error(`the calls cluster suite cannot run: ${missing.join('; ')}`);
  if (missing.length) skip = `skipped: ${missing.join('; ')}`;
}

describe('calls across instances', { skip, timeout: 180_000 }, () => {
  let db;
  let env;
  let s1;
  let s2;

  before(async () => {
    db = sharedDatabase();
    env = clusterEnv({ CALL_GRACE_SECONDS: String(GRACE_SECONDS), CALL_RING_SECONDS: String(RING_SECONDS) });
    [s1, s2] = await startInstances(2, env, db);
  });

  after(async () => {
    closeAllSockets();
    await Promise.all([s1?.stop(), s2?.stop()]);
    db?.drop();
  });

  async function callMessages(server, who, conversation) {
    return (await allMessages(server, who.token, conversation.id)).filter((m) => m.message_type === 'call');
  }

  it('rings, is answered and signals across instances; each socket hears each event once', async () => {
    const [alice, bob] = await Promise.all([s1.register(), s2.register()]);
    const dm = await createDirect(s1, alice, bob);
    const aliceSocket = await connectTo(s1.url, alice.token);
    const bobOn1 = await connectTo(s1.url, bob.token);
    const bobOn2 = await connectTo(s2.url, bob.token);
    const counts = new Map();
    for (const [name, socket] of [['alice', aliceSocket], ['bob1', bobOn1], ['bob2', bobOn2]]) {
      socket.onAny((event) => counts.set(`${name} ${event}`, (counts.get(`${name} ${event}`) ?? 0) + 1));
    }
    const ringing = [bobOn1, bobOn2].map((s) => waitFor(s, 'call:incoming'));
    const { call } = await emitOk(aliceSocket, 'call:start', { conversation_id: dm.id, media: 'video' });
    await Promise.all(ringing);

    // Answered on the other instance than the caller's.
    const accepted = waitFor(aliceSocket, 'call:accepted');
    const elsewhere = waitFor(bobOn1, 'call:answered_elsewhere');
    await emitOk(bobOn2, 'call:accept', { call_id: call.id });
    assert.equal((await accepted).state, 'active');
    assert.equal((await elsewhere).call_id, call.id);

    const quiet = expectNoEvent(bobOn1, 'call:signal', 1_500);
    const toBob = waitFor(bobOn2, 'call:signal');
    await emitOk(aliceSocket, 'call:signal', { call_id: call.id, data: { type: 'offer', sdp: 'cross' } });
    assert.equal((await toBob).data.sdp, 'cross');
    const toAlice = waitFor(aliceSocket, 'call:signal');
    await emitOk(bobOn2, 'call:signal', { call_id: call.id, data: { type: 'answer', sdp: 'back' } });
    assert.equal((await toAlice).data.sdp, 'back');
    await quiet;

    const endings = [aliceSocket, bobOn1, bobOn2].map((s) => waitFor(s, 'call:ended'));
    await emitOk(bobOn2, 'call:end', { call_id: call.id });
    for (const heard of await Promise.all(endings)) assert.equal(heard.reason, 'hangup');
    // Late duplicates would show up here.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const key of ['alice call:ended', 'bob1 call:ended', 'bob2 call:ended', 'bob1 call:incoming', 'bob2 call:incoming', 'alice call:accepted', 'bob2 call:signal', 'alice call:signal']) {
      assert.equal(counts.get(key), 1, `${key} heard ${counts.get(key)} times`);
    }
    assert.equal(counts.get('bob2 call:answered_elsewhere'), undefined, 'the answering socket heard answered_elsewhere');
    const messages = await callMessages(s2, bob, dm);
    assert.equal(messages.length, 1);
    assert.equal(messages[0].call.reason, 'hangup');
  });

  it('busy and missed across instances', async () => {
    const [alice, bob, carol] = await Promise.all([s1.register(), s2.register(), s1.register()]);
    const ab = await createDirect(s1, alice, bob);
    const cb = await createDirect(s2, carol, bob);
    const aliceSocket = await connectTo(s1.url, alice.token);
    const bobSocket = await connectTo(s2.url, bob.token);
    const carolSocket = await connectTo(s2.url, carol.token);

    let ringing = waitFor(bobSocket, 'call:incoming');
    const { call } = await emitOk(aliceSocket, 'call:start', { conversation_id: ab.id, media: 'audio' });
    await ringing;
    // Bob is rung by alice on the other instance: carol gets busy at once.
    const { call: busy } = await emitOk(carolSocket, 'call:start', { conversation_id: cb.id, media: 'audio' });
    assert.equal(busy.end_reason, 'busy');
    // Nobody answers alice: missed, swept by whichever instance comes first, heard once.
    const missed = [aliceSocket, bobSocket].map((s) => waitFor(s, 'call:ended', (e) => e.call_id === call.id, (RING_SECONDS + 4) * 1000));
    for (const heard of await Promise.all(missed)) assert.equal(heard.reason, 'missed');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual((await callMessages(s1, alice, ab)).map((m) => m.content), ['Missed voice call']);
    assert.deepEqual((await callMessages(s1, carol, cb)).map((m) => m.content), ['Voice call, busy']);
    ringing = waitFor(bobSocket, 'call:incoming');
    // Both are free again.
    const again = await emitOk(carolSocket, 'call:start', { conversation_id: cb.id, media: 'audio' });
    assert.equal(again.call.state, 'ringing');
    await ringing;
    await emitOk(carolSocket, 'call:end', { call_id: again.call.id });
  });

  it('SIGKILL of an instance mid-call ends the call as failed on the other side within the grace plus a few seconds', async (t) => {
    const [alice, bob] = await Promise.all([s1.register(), s2.register()]);
    const dm = await createDirect(s1, alice, bob);
    const aliceSocket = await connectTo(s1.url, alice.token);
    const bobSocket = await connectTo(s2.url, bob.token);
    const ringing = waitFor(bobSocket, 'call:incoming');
    const { call } = await emitOk(aliceSocket, 'call:start', { conversation_id: dm.id, media: 'video' });
    await ringing;
    await emitOk(bobSocket, 'call:accept', { call_id: call.id });
    // Long enough for the killed instance to have renewed its side at least once.
    await new Promise((r) => setTimeout(r, 2_500));

    const limitMs = (GRACE_SECONDS + 4) * 1000;
    const failed = waitFor(aliceSocket, 'call:ended', (e) => e.call_id === call.id, limitMs + 2_000);
    const message = waitFor(aliceSocket, 'message:new', (m) => m.message_type === 'call', limitMs + 4_000);
    const killedAt = Date.now();
    await s2.kill('SIGKILL');
    const ended = await failed;
    const tookMs = Date.now() - killedAt;
    t.diagnostic(`call failed ${tookMs} ms after SIGKILL (grace ${GRACE_SECONDS} s)`);
    assert.equal(ended.reason, 'failed');
    assert.ok(ended.duration_ms >= 2_000, `duration ${ended.duration_ms} ms`);
    assert.ok(tookMs <= limitMs, `the call failed ${tookMs} ms after the kill (limit ${limitMs} ms)`);
    assert.ok(tookMs >= GRACE_SECONDS * 1000 - 1_500, `failed after only ${tookMs} ms: the grace was not kept`);
    assert.equal((await message).content, 'Video call failed');
    const messages = await callMessages(s1, alice, dm);
    assert.equal(messages.length, 1, JSON.stringify(messages));
    // Alice is free to call again.
    const bobBack = await s2.start().then(() => connectTo(s2.url, bob.token));
    const ringingAgain = waitFor(bobBack, 'call:incoming');
    const next = await emitOk(aliceSocket, 'call:start', { conversation_id: dm.id, media: 'audio' });
    await ringingAgain;
    await emitOk(aliceSocket, 'call:end', { call_id: next.call.id });
  });
});
