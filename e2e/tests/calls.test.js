// Calls with the real socket.io-client against one server (SQLite or PostgreSQL): a call rings on
// every socket of the callee, is answered on one (the others hear call:answered_elsewhere), its
// signals reach only the other side's socket in the call (never the users' other sockets nor a
// third member), and every way a call ends (hangup, declined, missed, busy) reaches every socket
// of both users and leaves its call message in the history. Also: ICE servers over REST, and
// hostile call events answered with clear errors on a socket that stays healthy.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allMessages, assertAckError, createDirect, createGroup, emitOk, sendText } from '../lib/chat.js';
import { emitAck, expectNoEvent, startServer, waitFor } from '../lib/server.js';

const RING_SECONDS = 2;

describe('calls', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let ab;
  let cb;

  before(async () => {
    server = await startServer({ env: { CALL_RING_SECONDS: String(RING_SECONDS), CALL_GRACE_SECONDS: '2' } });
    [alice, bob, carol] = await Promise.all([server.register(), server.register(), server.register()]);
    ab = await createDirect(server, alice, bob);
    cb = await createDirect(server, carol, bob);
    // Carol shares a group with both: she must hear nothing of their calls.
    await createGroup(server, alice, [bob, carol]);
  });

  after(async () => {
    await server?.stop();
  });

  /** The call message of `conversation` that records `callId`, read over REST. */
  async function callMessage(who, conversation, callId) {
    const history = await allMessages(server, who.token, conversation.id);
    const found = history.filter((m) => m.message_type === 'call' && m.call?.call_id === callId);
    assert.equal(found.length, 1, `one call message for ${callId}: ${JSON.stringify(found)}`);
    return found[0];
  }

  it('rings every socket of the callee; one answers; signals reach only the other side; hangup ends it everywhere', async () => {
    const alicePhone = await server.connect(alice.token);
    const aliceLaptop = await server.connect(alice.token);
    const bobPhone = await server.connect(bob.token);
    const bobLaptop = await server.connect(bob.token);
    const carolSocket = await server.connect(carol.token);
    const ringing = [bobPhone, bobLaptop].map((s) => waitFor(s, 'call:incoming'));
    const { call } = await emitOk(alicePhone, 'call:start', { conversation_id: ab.id, media: 'video' });
    assert.equal(call.state, 'ringing');
    assert.equal(call.caller_id, alice.user.id);
    assert.equal(call.callee_id, bob.user.id);
    assert.match(call.id, /^[0-9a-f]{32}$/);
    for (const incoming of await Promise.all(ringing)) assert.deepEqual(incoming, call);

    const accepted = waitFor(alicePhone, 'call:accepted');
    const elsewhere = waitFor(bobPhone, 'call:answered_elsewhere');
    const answered = await emitOk(bobLaptop, 'call:accept', { call_id: call.id });
    assert.equal(answered.call.state, 'active');
    assert.equal((await accepted).id, call.id);
    assert.deepEqual(await elsewhere, { call_id: call.id });

    // Nobody outside the two call sockets hears a signal.
    const quiet = [aliceLaptop, bobPhone, carolSocket].map((s) => expectNoEvent(s, 'call:signal', 1_500));
    const offer = { type: 'offer', sdp: 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\n' };
    const toBob = waitFor(bobLaptop, 'call:signal');
    await emitOk(alicePhone, 'call:signal', { call_id: call.id, data: offer });
    assert.deepEqual(await toBob, { call_id: call.id, from_user_id: alice.user.id, data: offer });
    const candidate = { candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 } };
    const toAlice = waitFor(alicePhone, 'call:signal');
    await emitOk(bobLaptop, 'call:signal', { call_id: call.id, data: candidate });
    assert.deepEqual((await toAlice).data, candidate);
    for (const other of [aliceLaptop, bobPhone]) {
      assertAckError(await emitAck(other, 'call:signal', { call_id: call.id, data: offer }), 'not_in_call');
    }
    assertAckError(await emitAck(carolSocket, 'call:signal', { call_id: call.id, data: offer }), 'not_found');
    await Promise.all(quiet);

    const endings = [alicePhone, aliceLaptop, bobPhone, bobLaptop].map((s) => waitFor(s, 'call:ended'));
    const messages = [alicePhone, bobPhone].map((s) => waitFor(s, 'message:new', (m) => m.message_type === 'call'));
    const noEnd = expectNoEvent(carolSocket, 'call:ended', 1_000);
    const { call: ended } = await emitOk(alicePhone, 'call:end', { call_id: call.id });
    assert.equal(ended.end_reason, 'hangup');
    for (const heard of await Promise.all(endings)) {
      assert.equal(heard.call_id, call.id);
      assert.equal(heard.reason, 'hangup');
      assert.equal(heard.duration_ms, ended.duration_ms);
      assert.equal(heard.call.state, 'ended');
    }
    for (const message of await Promise.all(messages)) {
      assert.equal(message.call.reason, 'hangup');
      assert.match(message.content, /^Video call, \d+:\d\d$/);
    }
    await noEnd;
    const stored = await callMessage(bob, ab, call.id);
    assert.equal(stored.sender_id, alice.user.id);
    assert.deepEqual(stored.call, { call_id: call.id, media: 'video', reason: 'hangup', duration_ms: ended.duration_ms, caller_id: alice.user.id, callee_id: bob.user.id });
    for (const s of [alicePhone, aliceLaptop, bobPhone, bobLaptop, carolSocket]) s.disconnect();
  });

  it('declined, missed and busy calls end with their reason on every socket, each with its call message', async () => {
    const aliceSocket = await server.connect(alice.token);
    const bobPhone = await server.connect(bob.token);
    const bobLaptop = await server.connect(bob.token);
    const carolSocket = await server.connect(carol.token);

    // Declined on one of bob's sockets: the other stops ringing with call:ended.
    let ringing = waitFor(bobLaptop, 'call:incoming');
    let { call } = await emitOk(aliceSocket, 'call:start', { conversation_id: ab.id, media: 'audio' });
    await ringing;
    let endings = [aliceSocket, bobPhone, bobLaptop].map((s) => waitFor(s, 'call:ended'));
    assertAckError(await emitAck(aliceSocket, 'call:decline', { call_id: call.id }), 'forbidden');
    const declined = await emitOk(bobPhone, 'call:decline', { call_id: call.id });
    assert.equal(declined.call.end_reason, 'declined');
    for (const heard of await Promise.all(endings)) assert.equal(heard.reason, 'declined');
    assert.equal((await callMessage(alice, ab, call.id)).content, 'Declined voice call');
    assertAckError(await emitAck(bobLaptop, 'call:accept', { call_id: call.id }), 'call_not_ringing');

    // Missed: nobody answers within CALL_RING_SECONDS.
    ringing = waitFor(bobPhone, 'call:incoming');
    ({ call } = await emitOk(aliceSocket, 'call:start', { conversation_id: ab.id, media: 'video' }));
    await ringing;
    const started = Date.now();
    endings = [aliceSocket, bobPhone, bobLaptop].map((s) => waitFor(s, 'call:ended', () => true, (RING_SECONDS + 3) * 1000));
    for (const heard of await Promise.all(endings)) {
      assert.equal(heard.reason, 'missed');
      assert.equal(heard.duration_ms, 0);
    }
    const waited = Date.now() - started;
    assert.ok(waited >= RING_SECONDS * 1000 - 300, `missed after ${waited} ms, before the ring time`);
    assert.equal((await callMessage(bob, ab, call.id)).content, 'Missed video call');

    // Busy: carol calls bob while bob is in a call with alice.
    ringing = waitFor(bobPhone, 'call:incoming');
    ({ call } = await emitOk(aliceSocket, 'call:start', { conversation_id: ab.id, media: 'audio' }));
    await ringing;
    await emitOk(bobPhone, 'call:accept', { call_id: call.id });
    const busyEnd = waitFor(carolSocket, 'call:ended');
    const bobHearsBusy = waitFor(bobLaptop, 'call:ended', (e) => e.reason === 'busy');
    const { call: busy } = await emitOk(carolSocket, 'call:start', { conversation_id: cb.id, media: 'audio' });
    assert.equal(busy.state, 'ended');
    assert.equal(busy.end_reason, 'busy');
    assert.equal((await busyEnd).reason, 'busy');
    await bobHearsBusy;
    assert.equal((await callMessage(carol, cb, busy.id)).content, 'Voice call, busy');
    // The call going on is not disturbed.
    const stillOn = await emitOk(aliceSocket, 'call:signal', { call_id: call.id, data: { type: 'offer', sdp: 'x' } });
    assert.equal(stillOn.success, true);
    await emitOk(bobPhone, 'call:end', { call_id: call.id });
    for (const s of [aliceSocket, bobPhone, bobLaptop, carolSocket]) s.disconnect();
  });

  it('hostile call events get clear errors and the socket stays healthy', async () => {
    const socket = await server.connect(alice.token);
    const cases = [
      ['call:start', { conversation_id: ab.id, media: 'fax' }, 'invalid_payload'],
      ['call:start', { conversation_id: 0, media: 'audio' }, 'validation_failed'],
      ['call:start', 'call me', 'invalid_payload'],
      ['call:start', { conversation_id: cb.id, media: 'audio' }, 'not_found'],
      ['call:accept', { call_id: 'x'.repeat(10_000) }, 'validation_failed'],
      ['call:end', { call_id: '../../etc/passwd' }, 'not_found'],
      ['call:resume', { call_id: null }, 'invalid_payload'],
      ['call:signal', { call_id: 'f'.repeat(32), data: { type: 'offer' } }, 'not_found'],
      ['call:signal', { call_id: 'f'.repeat(32) }, 'invalid_payload'],
    ];
    for (const [event, payload, code] of cases) {
      assertAckError(await emitAck(socket, event, payload), code);
    }
    assert.equal(socket.connected, true);
    const sent = await sendText(socket, ab.id, 'still connected');
    assert.equal(sent.content, 'still connected');
    socket.disconnect();
  });

  it('GET /api/calls/ice-servers needs a token; without TURN configured it lists no TURN server', async () => {
    const anonymous = await server.get('/api/calls/ice-servers');
    assert.equal(anonymous.status, 401);
    const res = await server.get('/api/calls/ice-servers', { token: alice.token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { ice_servers: [], expires_at: null });
  });
});
