// Calls through a TURN relay: a real coturn (lib/coturn.js, loopback only, use-auth-secret) and a
// chat server configured with its URLs and shared secret (TURN_URLS, TURN_SECRET,
// TURN_CREDENTIAL_TTL). The REST side: `GET /api/calls/ice-servers` needs a token and hands out
// TURN REST credentials (`<expiry>:<user id>`, base64 HMAC-SHA1) valid for the TTL. The media side,
// in headless Chromium: two RTCPeerConnections of one page with `iceTransportPolicy: 'relay'` and
// those ICE servers connect through coturn (the selected candidate pair is relay on both sides, a
// data channel message and the fake microphone's audio arrive), also with TURN over TCP alone;
// coturn refuses a tampered credential and an expired one with 401 and nothing connects. A server
// without TURN_SECRET leaves TURN out.
//
// Needs: the server binary (CHAT_SERVER_BIN or CARGO_TARGET_DIR, see lib/server.js), coturn
// (/usr/bin/turnserver, TURNSERVER_PATH), Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
// Run: node --test --test-concurrency=1 browser/turn.test.js

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertApiError } from '../lib/chat.js';
import { startCoturn, turnPassword } from '../lib/coturn.js';
import { startServer } from '../lib/server.js';
import { launchBrowser, step } from './lib/browser.js';

const CREDENTIAL_TTL_S = 600;
/** How long a refused setup is given to connect anyway. */
const REFUSED_WAIT_MS = 5_000;

/**
 * Runs in the page: two peer connections, relay-only, wired to each other in the page (offer,
 * answer and trickled candidates), with a data channel and optionally the fake microphone's audio.
 * Resolves once both are connected and the traffic arrived, or after `timeoutMs`, to what each side
 * saw: connection states, gathered candidate types, candidate errors, the selected candidate pairs.
 */
async function relayCall({ iceServers, timeoutMs, audio }) {
  const config = { iceServers, iceTransportPolicy: 'relay' };
  const sides = { caller: new RTCPeerConnection(config), callee: new RTCPeerConnection(config) };
  const seen = {};
  for (const [name, pc] of Object.entries(sides)) {
    const other = sides[name === 'caller' ? 'callee' : 'caller'];
    const record = { states: [], candidates: [], errors: [], pending: [] };
    seen[name] = record;
    pc.onconnectionstatechange = () => record.states.push(pc.connectionState);
    pc.onicecandidateerror = (event) => record.errors.push({ code: event.errorCode, text: event.errorText, url: event.url });
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      record.candidates.push(candidate.type);
      // Candidates that come before the other side has the description wait for it.
      if (other.remoteDescription) other.addIceCandidate(candidate).catch(() => {});
      else seen[name === 'caller' ? 'callee' : 'caller'].pending.push(candidate);
    };
  }
  const { caller, callee } = sides;
  const flush = async (name) => {
    for (const candidate of seen[name].pending.splice(0)) await sides[name].addIceCandidate(candidate).catch(() => {});
  };

  let stream = null;
  if (audio) {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const track of stream.getTracks()) caller.addTrack(track, stream);
  }
  const channel = caller.createDataChannel('chat');
  const calleeReceived = new Promise((resolve) => {
    callee.ondatachannel = ({ channel: incoming }) => {
      incoming.onmessage = ({ data }) => {
        incoming.send(`echo: ${data}`);
        resolve(data);
      };
    };
  });
  const callerReceived = new Promise((resolve) => (channel.onmessage = ({ data }) => resolve(data)));
  const channelOpen = new Promise((resolve) => (channel.onopen = resolve));

  await caller.setLocalDescription();
  await callee.setRemoteDescription(caller.localDescription);
  await flush('callee');
  await callee.setLocalDescription();
  await caller.setRemoteDescription(callee.localDescription);
  await flush('caller');

  const connected = Promise.all(
    Object.values(sides).map(
      (pc) =>
        new Promise((resolve) => {
          const check = () => pc.connectionState === 'connected' && resolve();
          pc.addEventListener('connectionstatechange', check);
          check();
        }),
    ),
  );
  let finished = false;
  const audioPackets = async () => {
    let packets = 0;
    (await callee.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'audio') packets += report.packetsReceived ?? 0;
    });
    return packets;
  };
  const exchange = (async () => {
    await connected;
    await channelOpen;
    channel.send('hello over TURN');
    const result = { delivered: await calleeReceived, echoed: await callerReceived, audioPackets: 0 };
    while (audio && !finished && (result.audioPackets = await audioPackets()) === 0) await new Promise((r) => setTimeout(r, 100));
    return result;
  })();
  exchange.catch(() => {});
  const traffic = await Promise.race([exchange, new Promise((resolve) => setTimeout(() => resolve(null), timeoutMs))]);
  finished = true;

  const selectedPairs = async (pc) => {
    const stats = await pc.getStats();
    const pairs = [];
    stats.forEach((report) => {
      if (report.type !== 'transport' || !report.selectedCandidatePairId) return;
      const pair = stats.get(report.selectedCandidatePairId);
      const local = stats.get(pair?.localCandidateId);
      const remote = stats.get(pair?.remoteCandidateId);
      pairs.push({
        state: pair?.state,
        local: local?.candidateType,
        remote: remote?.candidateType,
        relayProtocol: local?.relayProtocol,
        address: local?.address,
        url: local?.url,
      });
    });
    return pairs;
  };
  const outcome = { traffic };
  for (const [name, pc] of Object.entries(sides)) {
    const { pending, ...record } = seen[name];
    outcome[name] = { ...record, state: pc.connectionState, gathering: pc.iceGatheringState, selected: await selectedPairs(pc) };
  }
  for (const pc of Object.values(sides)) pc.close();
  for (const track of stream?.getTracks() ?? []) track.stop();
  return outcome;
}

const show = (value) => JSON.stringify(value, null, 1);

/** What a setup that got nowhere says: why, when Chromium never even asked coturn. */
function nothingGathered(outcome) {
  const silent = ['caller', 'callee'].every((side) => outcome[side].candidates.length === 0 && outcome[side].errors.length === 0);
  return silent
    ? '\n(no candidate and no error at all: Chromium found no network to gather on. A host whose only ' +
        'interface is loopback needs Chromium started with --allow-loopback-in-peer-connection.)'
    : '';
}

describe('calls through a TURN relay (coturn, Chromium relay-only)', { timeout: 150_000 }, () => {
  let coturn;
  let server;
  let chromium;
  let page;
  let alice;
  let turn;

  before(async () => {
    coturn = await startCoturn({ realm: 'chat.test' });
    server = await startServer({
      db: 'sqlite',
      env: {
        TURN_URLS: coturn.urls.join(','),
        TURN_SECRET: coturn.secret,
        TURN_CREDENTIAL_TTL: String(CREDENTIAL_TTL_S),
        STUN_URLS: '',
      },
    });
    alice = await server.register();
    chromium = await launchBrowser();
    const context = await chromium.browser.newContext();
    // The fake microphone, without a prompt whatever the browser's defaults.
    await context.grantPermissions(['microphone'], { origin: server.url });
    page = await context.newPage();
    // Any page of the server's origin (http://127.0.0.1 is a secure context: getUserMedia works).
    await page.goto(`${server.url}/health`);
  });

  after(async () => {
    await chromium?.close();
    await server?.stop();
    await coturn?.stop();
  });

  /** coturn's log from the current position on, read by `since()` later. */
  const logMark = () => {
    const start = coturn.output.length;
    return { since: () => coturn.output.slice(start) };
  };

  it('GET /api/calls/ice-servers without a token is 401 unauthorized', async () => {
    assertApiError(await server.get('/api/calls/ice-servers'), 401, 'unauthorized');
  });

  it('with a token: the TURN URLs with REST credentials of the user, valid for TURN_CREDENTIAL_TTL', async () => {
    const askedAt = Math.floor(Date.now() / 1000);
    const res = await server.get('/api/calls/ice-servers', { token: alice.token });
    const answeredAt = Math.ceil(Date.now() / 1000);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['expires_at', 'ice_servers']);
    assert.equal(res.body.ice_servers.length, 1, `one TURN entry and no STUN one: ${show(res.body)}`);
    turn = res.body.ice_servers[0];
    assert.deepEqual(Object.keys(turn).sort(), ['credential', 'urls', 'username']);
    assert.deepEqual(turn.urls, coturn.urls);

    const match = /^(\d+):(\d+)$/.exec(turn.username);
    assert.ok(match, `username is <unix expiry>:<user id>, got ${turn.username}`);
    const expiry = Number(match[1]);
    assert.equal(match[2], String(alice.user.id));
    assert.ok(
      expiry >= askedAt + CREDENTIAL_TTL_S && expiry <= answeredAt + CREDENTIAL_TTL_S,
      `expiry ${expiry} is now + ${CREDENTIAL_TTL_S} s (${askedAt + CREDENTIAL_TTL_S}..${answeredAt + CREDENTIAL_TTL_S})`,
    );
    // expires_at keeps the sub-second part the username's unix time drops.
    assert.equal(Math.floor(Date.parse(res.body.expires_at) / 1000), expiry, `expires_at ${res.body.expires_at} is the expiry of the username`);

    assert.match(turn.credential, /^[A-Za-z0-9+/]{27}=$/, 'credential is base64 (padded)');
    assert.equal(Buffer.from(turn.credential, 'base64').length, 20, 'credential is an HMAC-SHA1 (20 bytes)');
    assert.equal(turn.credential, turnPassword(coturn.secret, turn.username), 'credential is HMAC-SHA1(TURN_SECRET, username)');
  });

  it('two relay-only peer connections connect through coturn: relay pairs on both sides, data and audio arrive', async () => {
    assert.ok(turn, 'the ICE servers of the previous test');
    const log = logMark();
    const outcome = await step('turn-relay', [], () =>
      page.evaluate(relayCall, { iceServers: [turn], timeoutMs: 20_000, audio: true }),
    );
    assert.ok(outcome.traffic, `not connected with data and audio within 20 s: ${show(outcome)}${nothingGathered(outcome)}`);
    assert.equal(outcome.traffic.delivered, 'hello over TURN');
    assert.equal(outcome.traffic.echoed, 'echo: hello over TURN');
    assert.ok(outcome.traffic.audioPackets > 0, 'the callee received audio packets');
    for (const side of ['caller', 'callee']) {
      const seen = outcome[side];
      assert.equal(seen.state, 'connected', `${side}: ${show(seen)}`);
      assert.ok(seen.candidates.length > 0 && seen.candidates.every((type) => type === 'relay'), `${side} gathered relay candidates only: ${show(seen)}`);
      assert.ok(seen.selected.length > 0, `${side} has a selected candidate pair: ${show(seen)}`);
      for (const pair of seen.selected) {
        assert.equal(pair.local, 'relay', `${side}: local candidate of the selected pair: ${show(pair)}`);
        assert.equal(pair.remote, 'relay', `${side}: remote candidate of the selected pair: ${show(pair)}`);
        assert.equal(pair.address, '127.0.0.1', `${side}: the relayed address is coturn's relay-ip`);
      }
      assert.deepEqual(seen.errors, [], `${side}: no candidate errors`);
    }
    // coturn allocated for the user the server named, and relayed between the two allocations.
    const allocated = log.since().split('\n').filter((line) => line.includes(`user <${turn.username}>`) && /ALLOCATE processed, success/.test(line));
    assert.ok(allocated.length >= 2, `coturn allocated for ${turn.username} on both sides:\n${log.since()}`);
  });

  it('TURN over TCP alone connects too (networks that block UDP)', async () => {
    const tcpOnly = { ...turn, urls: turn.urls.filter((url) => url.endsWith('?transport=tcp')) };
    assert.equal(tcpOnly.urls.length, 1);
    const outcome = await step('turn-relay-tcp', [], () => page.evaluate(relayCall, { iceServers: [tcpOnly], timeoutMs: 20_000, audio: false }));
    assert.ok(outcome.traffic, `not connected over TURN/TCP within 20 s: ${show(outcome)}${nothingGathered(outcome)}`);
    for (const side of ['caller', 'callee']) {
      for (const pair of outcome[side].selected) {
        assert.equal(pair.local, 'relay', `${side}: ${show(pair)}`);
        assert.equal(pair.relayProtocol, 'tcp', `${side}: the relay was reached over TCP: ${show(pair)}`);
      }
      assert.ok(outcome[side].selected.length > 0, `${side}: ${show(outcome[side])}`);
    }
  });

  /** Asserts that `iceServers` gave no relay candidate, a 401 from coturn on both sides, and no connection. */
  async function assertRefused(label, iceServers, username) {
    const log = logMark();
    const outcome = await step(label, [], () => page.evaluate(relayCall, { iceServers, timeoutMs: REFUSED_WAIT_MS, audio: false }));
    assert.equal(outcome.traffic, null, `nothing may get through: ${show(outcome)}`);
    for (const side of ['caller', 'callee']) {
      const seen = outcome[side];
      assert.notEqual(seen.state, 'connected', `${side}: ${show(seen)}`);
      assert.ok(!seen.states.includes('connected'), `${side} was never connected: ${show(seen)}`);
      assert.deepEqual(seen.candidates, [], `${side} gathered no relay candidate: ${show(seen)}`);
      assert.ok(
        seen.errors.length > 0 && seen.errors.every((e) => e.code === 401),
        `${side}: coturn answered 401: ${show(seen.errors)}${nothingGathered(outcome)}`,
      );
    }
    const text = log.since();
    const refusals = text.split('\n').filter((line) => line.includes(`user <${username}>`) && /error 401/.test(line));
    assert.ok(refusals.length > 0, `coturn logged a 401 for ${username}:\n${text}`);
    assert.ok(
      !text.split('\n').some((line) => line.includes(`user <${username}>`) && /ALLOCATE processed, success/.test(line)),
      `coturn allocated for ${username}:\n${text}`,
    );
  }

  it('a tampered credential (one character changed) is refused by coturn with 401', async () => {
    const first = turn.credential[0] === 'A' ? 'B' : 'A';
    const tampered = { ...turn, credential: first + turn.credential.slice(1) };
    assert.notEqual(tampered.credential, turn.credential);
    await assertRefused('turn-tampered', [tampered], turn.username);
  });

  it('credentials made with TURN_SECRET: a future expiry is accepted, a past one refused with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    // The same HMAC as the server's, so the expiry is the only difference between the two.
    const valid = { urls: coturn.urls, ...coturn.credentials(alice.user.id, now + 300) };
    const outcome = await step('turn-own-credentials', [], () => page.evaluate(relayCall, { iceServers: [valid], timeoutMs: 20_000, audio: false }));
    assert.ok(outcome.traffic, `credentials with a future expiry must work: ${show(outcome)}${nothingGathered(outcome)}`);

    const expired = { urls: coturn.urls, ...coturn.credentials(alice.user.id, now - 60) };
    assert.equal(expired.credential, turnPassword(coturn.secret, `${now - 60}:${alice.user.id}`));
    await assertRefused('turn-expired', [expired], expired.username);
  });

  it('a server with TURN_URLS but no TURN_SECRET hands out no TURN entry', async () => {
    const stun = `stun:127.0.0.1:${coturn.port}`;
    const plain = await startServer({ db: 'sqlite', env: { TURN_URLS: coturn.urls.join(','), TURN_SECRET: '', STUN_URLS: stun } });
    try {
      const { token } = await plain.register();
      const res = await plain.get('/api/calls/ice-servers', { token });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { ice_servers: [{ urls: [stun] }], expires_at: null });
    } finally {
      await plain.stop();
    }
  });
});
