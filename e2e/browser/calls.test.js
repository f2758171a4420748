// Voice and video calls in the web client, in headless Chromium with its fake camera and microphone
// (a test pattern and a beep). alice and bob, each in a browser context of their own with the camera
// and microphone granted, call each other from a direct chat: the incoming-call screen, the media
// connection (the page's RTCPeerConnection reaching "connected" and audio and video bytes arriving on
// both sides, read with getStats()), mute and camera off, hanging up, and the call messages both
// timelines then show; a voice call (audio only), a declined call (by the button and by Escape). With
// one server the failures follow: a context without camera and microphone permission shows why it
// cannot call, a socket dropped during a call is replaced and the call resumed, a callee in another
// call and a callee without a live socket are named as such.
// The same call then runs with alice and bob on two instances behind nginx (skipped without nginx,
// Redis or PostgreSQL, except with CI=true).
//
// The page's RTCPeerConnection instances are read by wrapping the constructor before the app loads
// (an init script): the client has no hook for tests.
//
// Screenshots: call-incoming, call-active, call-active-phone, call-messages, call-error
// (e2e/artifacts/screenshots/).
//
// Needs: the built client (cd client && npm ci && npm run build), the server binary (CHAT_SERVER_BIN
// or CARGO_TARGET_DIR, see lib/server.js), Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
// Run: node --test --test-concurrency=1 browser/calls.test.js

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PASSWORD, REPO_ROOT, startServer, uniqueUsername } from '../lib/server.js';
import { launchBrowser, openUser, screenshot, step } from './lib/browser.js';
import { missingForCluster, twoInstancesBehindNginx } from './lib/cluster.js';
import { byTestId, listItem, openFromList, register, startDirectChat } from './lib/ui.js';

const CI = process.env.CI === 'true';
const CLIENT_DIR = path.join(REPO_ROOT, 'client', 'dist');
const MEDIA = ['camera', 'microphone'];
/** Waits for the media connection (ICE, DTLS) between two pages of one machine. */
const CONNECT_TIMEOUT_MS = 20_000;
/** Between the two getStats() reads that must show bytes arriving. */
const STATS_INTERVAL_MS = 1_200;
/** A call message of an answered call: "Video call, 0:07". */
const answered = (kind) => new RegExp(`^${kind} call, 0:\\d\\d$`);
/** How long the one server keeps a call whose side's socket went away (CALL_GRACE_SECONDS). */
const GRACE_SECONDS = 3;

function assertClientBuilt() {
  assert.ok(
    existsSync(path.join(CLIENT_DIR, 'index.html')),
    `the web client is not built (${CLIENT_DIR}/index.html is missing): cd client && npm ci && npm run build`,
  );
}

function assertNoPageErrors(users) {
  const errors = users.filter(Boolean).flatMap((u) => u.errors ?? []);
  assert.deepEqual(errors, [], 'uncaught errors in the pages');
}

/**
 * Runs in every page before the app: keeps each RTCPeerConnection and WebSocket the page makes in a
 * list (the sockets, to drop the app's connection as a network failure would).
 */
function captureConnections() {
  for (const [name, list] of [
    ['RTCPeerConnection', '__e2ePeerConnections'],
    ['WebSocket', '__e2eWebSockets'],
  ]) {
    const Native = window[name];
    if (!Native) continue;
    const made = [];
    Object.defineProperty(window, list, { value: made });
    window[name] = class extends Native {
      constructor(...args) {
        super(...args);
        made.push(this);
      }
    };
  }
}

/** Opens a browser context for `user` (with the camera and microphone unless `media` is false). */
async function openCaller(browser, user, { media = true } = {}) {
  await openUser(browser, user, { permissions: media ? MEDIA : [] });
  await user.context.addInitScript(captureConnections);
}

/** How many peer connections the page made, and the state of the newest. */
function peerInfo(user) {
  return user.page.evaluate(() => {
    const all = window.__e2ePeerConnections ?? [];
    const pc = all.at(-1);
    return { count: all.length, state: pc?.connectionState ?? null };
  });
}

async function waitPeerConnected(user) {
  try {
    await user.page.waitForFunction(() => window.__e2ePeerConnections?.at(-1)?.connectionState === 'connected', null, {
      timeout: CONNECT_TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(`${user.name}'s peer connection did not connect: ${JSON.stringify(await peerInfo(user))} (${err.message})`);
  }
}

/** Bytes received so far by the newest peer connection, per kind (inbound-rtp). */
function inboundBytes(user) {
  return user.page.evaluate(async () => {
    const pc = window.__e2ePeerConnections.at(-1);
    const bytes = { audio: 0, video: 0 };
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind in bytes) bytes[report.kind] += report.bytesReceived ?? 0;
    });
    return bytes;
  });
}

/** Asserts that bytes of each of `kinds` keep arriving at `user`; returns the second reading. */
async function assertReceiving(user, kinds) {
  const first = await inboundBytes(user);
  await user.page.waitForTimeout(STATS_INTERVAL_MS);
  const second = await inboundBytes(user);
  for (const kind of kinds) {
    assert.ok(second[kind] > first[kind], `${user.name} receives ${kind}: ${first[kind]} -> ${second[kind]} bytes in ${STATS_INTERVAL_MS} ms`);
  }
  return second;
}

/** Transceivers of the newest peer connection that receive video. */
function videoReceivers(user) {
  return user.page.evaluate(
    () =>
      window.__e2ePeerConnections
        .at(-1)
        .getTransceivers()
        .filter((t) => t.receiver.track?.kind === 'video' && ['sendrecv', 'recvonly'].includes(t.currentDirection)).length,
  );
}

/** The newest peer connection's state and whether every track it sent has been stopped. */
function afterCall(user) {
  return user.page.evaluate(() => {
    const pc = window.__e2ePeerConnections.at(-1);
    return {
      state: pc.connectionState,
      tracksStopped: pc.getSenders().every((s) => !s.track || s.track.readyState === 'ended'),
    };
  });
}

/** Whether the sender of `kind` of the newest peer connection is enabled (not muted / camera on). */
function senderEnabled(user, kind) {
  return user.page.evaluate((kind) => window.__e2ePeerConnections.at(-1).getSenders().find((s) => s.track?.kind === kind)?.track.enabled, kind);
}

/** Call messages of the open conversation. */
const callMessages = (page) =>
  page.locator('[data-testid="conversation-view"] [data-testid="message-item"][data-message-type="call"] [data-testid="call-message"]');

/** Waits until the newest call message of the open conversation reads `pattern`; returns the text. */
async function seesCallMessage(user, pattern, count) {
  const messages = callMessages(user.page);
  if (count !== undefined) await messages.nth(count - 1).waitFor();
  const newest = messages.last();
  await newest.waitFor();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await newest.innerText()).trim();
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) assert.fail(`${user.name}'s newest call message reads "${text}", expected ${pattern}`);
    await user.page.waitForTimeout(100);
  }
}

/** The problem line of the call (`call-error`), once shown: {text, kind}. */
async function callError(user) {
  const notice = byTestId(user.page, 'call-error');
  await notice.waitFor();
  return { text: (await notice.locator('p').innerText()).trim(), kind: await notice.getAttribute('data-kind') };
}

/**
 * The steps both setups share, as tests of the enclosing `describe`: `ctx.browser` and
 * `ctx.baseUrlOf(user)` come from its `before`; `screenshots` saves the screens.
 */
function callScenario(ctx, { screenshots }) {
  const alice = { name: 'alice', username: uniqueUsername('alice'), password: DEFAULT_PASSWORD };
  const bob = { name: 'bob', username: uniqueUsername('bob'), password: DEFAULT_PASSWORD };
  ctx.alice = alice;
  ctx.bob = bob;
  const both = [alice, bob];

  it('alice and bob register and open their direct chat', async () => {
    await step(`${ctx.label}-setup`, both, async () => {
      await openCaller(ctx.browser, alice);
      await openCaller(ctx.browser, bob);
      await register(alice, ctx.baseUrlOf(alice));
      await register(bob, ctx.baseUrlOf(bob));
      ctx.direct = await startDirectChat(alice, bob);
      await openFromList(bob, ctx.direct, alice.username);
      for (const user of both) {
        await byTestId(user.page, 'call-voice').waitFor();
        await byTestId(user.page, 'call-video').waitFor();
      }
    });
  });

  it('a video call: bob sees the incoming screen and accepts; audio and video flow both ways', async () => {
    await step(`${ctx.label}-video-call`, both, async () => {
      await byTestId(alice.page, 'call-video').click();
      const calling = byTestId(alice.page, 'call-screen');
      await calling.waitFor();
      await calling.locator('.call-status', { hasText: `Calling ${bob.username}...` }).waitFor();
      assert.equal(await calling.getAttribute('data-phase'), 'outgoing');
      await byTestId(alice.page, 'call-local-video').waitFor();

      const incoming = bob.page.getByRole('alertdialog', { name: alice.username });
      await incoming.waitFor();
      assert.equal(await incoming.getAttribute('data-testid'), 'call-incoming');
      assert.match(await incoming.innerText(), /Incoming video call/);
      const focusInside = await bob.page.evaluate(() => document.activeElement?.closest('[data-testid="call-incoming"]') !== null);
      assert.ok(focusInside, 'the keyboard focus moved into the incoming-call screen');
      if (screenshots) await screenshot(bob.page, 'call-incoming');

      await byTestId(bob.page, 'call-accept').click();
      await incoming.waitFor({ state: 'detached' });
      for (const user of both) await waitPeerConnected(user);
      for (const user of both) {
        await user.page.locator('[data-testid="call-screen"][data-phase="active"]').waitFor();
        assert.match((await byTestId(user.page, 'call-duration').innerText()).trim(), /^\d+:\d\d$/);
      }
      for (const user of both) await assertReceiving(user, ['audio', 'video']);
      for (const user of both) {
        // The other side's camera is on screen (the fake device's picture has a size once decoded).
        await user.page.waitForFunction(() => document.querySelector('[data-testid="call-remote-video"]')?.videoWidth > 0, null, {
          timeout: 10_000,
        });
        assert.equal(await byTestId(user.page, 'call-local-video').evaluate((v) => v.muted), true, 'the local preview is muted');
        assert.equal((await peerInfo(user)).count, 1, `${user.name} made one peer connection`);
      }
      if (screenshots) await screenshot(alice.page, 'call-active');
    });
  });

  it('the call screen fills a phone; mute and camera off: pressed buttons, disabled tracks', async () => {
    await step(`${ctx.label}-controls`, both, async () => {
      await bob.page.setViewportSize({ width: 375, height: 740 });
      const box = await byTestId(bob.page, 'call-screen').boundingBox();
      assert.deepEqual(
        [box.x, box.y, box.width, box.height].map(Math.round),
        [0, 0, 375, 740],
        'at phone width the call screen takes the whole screen',
      );
      const hangup = await byTestId(bob.page, 'call-hangup').boundingBox();
      assert.ok(hangup.y + hangup.height <= 740, 'the hang-up button is on screen');
      if (screenshots) await screenshot(bob.page, 'call-active-phone');
      await bob.page.setViewportSize({ width: 1280, height: 800 });

      const mute = byTestId(alice.page, 'call-mute');
      const camera = byTestId(alice.page, 'call-camera');
      assert.equal(await mute.getAttribute('aria-pressed'), 'false');
      await mute.click();
      assert.equal(await mute.getAttribute('aria-pressed'), 'true');
      assert.equal(await senderEnabled(alice, 'audio'), false, 'muted: the microphone track is disabled');
      await mute.press('Enter'); // the keyboard works the same
      assert.equal(await mute.getAttribute('aria-pressed'), 'false');
      assert.equal(await senderEnabled(alice, 'audio'), true);
      await camera.click();
      assert.equal(await camera.getAttribute('aria-pressed'), 'true');
      assert.equal(await senderEnabled(alice, 'video'), false, 'camera off: the video track is disabled');
      await camera.click();
      assert.equal(await senderEnabled(alice, 'video'), true);
    });
  });

  it('alice hangs up: both are back in the conversation, which shows "Video call, 0:0x"', async () => {
    await step(`${ctx.label}-hang-up`, both, async () => {
      await byTestId(alice.page, 'call-hangup').click();
      for (const user of both) {
        await byTestId(user.page, 'call-screen').waitFor({ state: 'detached' });
        await user.page.locator(`[data-testid="conversation-view"][data-conversation-id="${ctx.direct}"]`).waitFor();
        await user.page.waitForFunction(() => window.__e2ePeerConnections.at(-1).connectionState === 'closed');
        assert.deepEqual(await afterCall(user), { state: 'closed', tracksStopped: true }, `${user.name}'s camera and microphone are released`);
        const text = await seesCallMessage(user, answered('Video'));
        await listItem(user.page, ctx.direct).locator('[data-testid="conversation-preview"]', { hasText: text }).waitFor();
      }
      // A call message has a menu without Edit (alice called: it is hers).
      const item = alice.page.locator('[data-testid="message-item"][data-message-type="call"]').last();
      assert.equal(await item.locator('[data-testid="edit-message"]').count(), 0, 'a call message cannot be edited');
      assert.equal(await item.locator('[data-testid="reply-message"]').count(), 1, 'a call message can be replied to');
      assert.equal(await byTestId(alice.page, 'call-error').count(), 0, 'an ordinary hang-up is no error');
    });
  });

  it('a voice call from bob: audio flows, no video is received, and "Voice call, 0:0x" follows', async () => {
    await step(`${ctx.label}-voice-call`, both, async () => {
      await byTestId(bob.page, 'call-voice').click();
      const incoming = byTestId(alice.page, 'call-incoming');
      await incoming.waitFor();
      assert.equal(await incoming.getAttribute('data-media'), 'audio');
      assert.match(await incoming.innerText(), /Incoming voice call/);
      await byTestId(alice.page, 'call-accept').click();
      for (const user of both) await waitPeerConnected(user);
      for (const user of both) {
        const bytes = await assertReceiving(user, ['audio']);
        assert.equal(bytes.video, 0, `${user.name} receives no video`);
        assert.equal(await videoReceivers(user), 0, `${user.name} has no transceiver receiving video`);
        assert.equal(await byTestId(user.page, 'call-remote-video').count(), 0);
        assert.equal(await byTestId(user.page, 'call-camera').count(), 0, 'no camera button in a voice call');
        const playing = await byTestId(user.page, 'call-remote-audio').evaluate((a) => a.srcObject?.getAudioTracks().length ?? 0);
        assert.equal(playing, 1, `${user.name}'s page plays the other side's audio`);
      }
      await byTestId(bob.page, 'call-hangup').click();
      for (const user of both) {
        await byTestId(user.page, 'call-screen').waitFor({ state: 'detached' });
        await seesCallMessage(user, answered('Voice'), 2);
      }
    });
  });

  it('declining: bob declines, alice is told and both timelines say "Declined ..."; Escape declines too', async () => {
    await step(`${ctx.label}-decline`, both, async () => {
      await byTestId(alice.page, 'call-voice').click();
      await byTestId(bob.page, 'call-incoming').waitFor();
      await byTestId(bob.page, 'call-decline').click();
      await byTestId(bob.page, 'call-incoming').waitFor({ state: 'detached' });
      await byTestId(alice.page, 'call-screen').waitFor({ state: 'detached' });
      assert.deepEqual(await callError(alice), { text: `${bob.username} declined the call.`, kind: 'info' });
      for (const user of both) await seesCallMessage(user, /^Declined voice call$/, 3);

      await byTestId(alice.page, 'call-video').click();
      await byTestId(bob.page, 'call-incoming').waitFor();
      assert.equal(await byTestId(alice.page, 'call-error').count(), 0, 'a new call clears the last notice');
      await bob.page.keyboard.press('Escape');
      await byTestId(bob.page, 'call-incoming').waitFor({ state: 'detached' });
      await byTestId(alice.page, 'call-screen').waitFor({ state: 'detached' });
      for (const user of both) await seesCallMessage(user, /^Declined video call$/, 4);
      await byTestId(alice.page, 'call-error-dismiss').click();
      await byTestId(alice.page, 'call-error').waitFor({ state: 'detached' });
      if (screenshots) await screenshot(bob.page, 'call-messages');
    });
  });
}

// ---------------------------------------------------------------- one server

describe('calls against one server (SQLite)', { timeout: 180_000 }, () => {
  const ctx = { label: 'calls' };
  const carol = { name: 'carol', username: uniqueUsername('carol'), password: DEFAULT_PASSWORD };
  let server;
  let chromium;

  before(async () => {
    assertClientBuilt();
    server = await startServer({ db: 'sqlite', env: { CLIENT_DIR, CALL_GRACE_SECONDS: String(GRACE_SECONDS) } });
    // Media only where a context was given the permission: carol's is not.
    chromium = await launchBrowser({ grantMediaPrompts: false });
    ctx.browser = chromium.browser;
    ctx.baseUrlOf = () => server.url;
  });

  after(async () => {
    await chromium?.close();
    await server?.stop();
  });

  callScenario(ctx, { screenshots: true });

  it('without camera and microphone permission, a call says why it cannot start', async () => {
    const { alice } = ctx;
    await step('calls-permission', [alice, carol], async () => {
      await openCaller(ctx.browser, carol, { media: false });
      await register(carol, server.url);
      ctx.carolChat = await startDirectChat(carol, alice);
      await byTestId(carol.page, 'call-video').click();
      const problem = await callError(carol);
      assert.equal(problem.kind, 'error');
      assert.match(problem.text, /^Access to the camera and microphone was denied\./);
      assert.equal(await byTestId(carol.page, 'call-error').getAttribute('role'), 'alert');
      await screenshot(carol.page, 'call-error');
      assert.equal(await byTestId(carol.page, 'call-screen').count(), 0);
      await alice.page.waitForTimeout(500);
      assert.equal(await byTestId(alice.page, 'call-incoming').count(), 0, 'no call reached alice');
      assert.equal((await peerInfo(carol)).count, 0, 'no peer connection was made');
    });
  });

  it('alice\'s socket drops during a call: the new socket resumes it and the call goes on past the grace period', async () => {
    const { alice, bob } = ctx;
    await step('calls-reconnect', [alice, bob], async () => {
      await byTestId(alice.page, 'call-voice').click();
      await byTestId(bob.page, 'call-accept').click();
      for (const user of [alice, bob]) await waitPeerConnected(user);
      // A new connection starts with HTTP long-polling and then upgrades: the resume may go either way.
      const resumes = [];
      const noteResume = (payload) => String(payload ?? '').includes('"call:resume"') && resumes.push(String(payload));
      const onSocket = (ws) => ws.on('framesent', ({ payload }) => noteResume(payload));
      const onRequest = (request) => request.method() === 'POST' && request.url().includes('/socket.io/') && noteResume(request.postData());
      alice.page.on('websocket', onSocket);
      alice.page.on('request', onRequest);
      const dropped = await alice.page.evaluate(() => {
        const open = window.__e2eWebSockets.filter((ws) => ws.readyState === WebSocket.OPEN && ws.url.includes('/socket.io/'));
        for (const ws of open) ws.close();
        return open.length;
      });
      assert.equal(dropped, 1, 'the app had one open socket');
      const deadline = Date.now() + 15_000;
      while (resumes.length === 0 && Date.now() < deadline) await alice.page.waitForTimeout(100);
      alice.page.off('websocket', onSocket);
      alice.page.off('request', onRequest);
      assert.equal(resumes.length, 1, 'the new socket sent call:resume once');
      // Past the grace period the call would have ended as failed without the resume.
      await alice.page.waitForTimeout((GRACE_SECONDS + 2) * 1000);
      for (const user of [alice, bob]) {
        await user.page.locator('[data-testid="call-screen"][data-phase="active"]').waitFor({ timeout: 1_000 });
        assert.equal((await peerInfo(user)).state, 'connected', `${user.name}'s media connection stayed up`);
      }
      await assertReceiving(alice, ['audio']);
      // Signals still go through the new socket.
      await byTestId(bob.page, 'call-hangup').click();
      for (const user of [alice, bob]) {
        await byTestId(user.page, 'call-screen').waitFor({ state: 'detached' });
        await seesCallMessage(user, answered('Voice'), 5);
      }
    });
  });

  it('a callee in another call: "<name> is in another call."', async () => {
    const { alice, bob } = ctx;
    await step('calls-busy', [alice, bob, carol], async () => {
      await byTestId(alice.page, 'call-voice').click();
      await byTestId(bob.page, 'call-accept').click();
      for (const user of [alice, bob]) await waitPeerConnected(user);

      await carol.context.grantPermissions(MEDIA);
      await byTestId(carol.page, 'call-voice').click();
      assert.deepEqual(await callError(carol), { text: `${alice.username} is in another call.`, kind: 'info' });
      await seesCallMessage(carol, /^Voice call, busy$/);
      // alice's call goes on.
      await alice.page.locator('[data-testid="call-screen"][data-phase="active"]').waitFor();
      await byTestId(alice.page, 'call-hangup').click();
      await byTestId(bob.page, 'call-screen').waitFor({ state: 'detached' });
    });
  });

  it('a callee without a live socket: "<name> is offline.", and the caller\'s timeline says no answer', async () => {
    const { alice, bob } = ctx;
    await step('calls-offline', [alice, bob], async () => {
      await bob.page.close();
      await alice.page
        .locator(`[data-testid="conversation-view"] [data-testid="conversation-subtitle"][data-presence="offline"]`)
        .waitFor({ timeout: 15_000 });
      await byTestId(alice.page, 'call-voice').click();
      assert.deepEqual(await callError(alice), { text: `${bob.username} is offline.`, kind: 'info' });
      await seesCallMessage(alice, /^Voice call, no answer$/);
    });
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([ctx.alice, ctx.bob, carol]);
  });
});

// ---------------------------------------------------------------- two instances behind nginx

const missing = await missingForCluster();
const clusterSkip = missing.length && !CI ? `nginx setup skipped: ${missing.join('; ')}` : false;
if (clusterSkip) process.stderr.write(`${clusterSkip}\n`);

describe('calls between two instances behind nginx, one user on each', { skip: clusterSkip, timeout: 180_000 }, () => {
  const ctx = { label: 'calls-nginx' };
  let deployment;
  let chromium;

  before(async () => {
    assert.deepEqual(missing, [], `CI=true and the nginx setup cannot run: ${missing.join('; ')}`);
    assertClientBuilt();
    deployment = await twoInstancesBehindNginx(CLIENT_DIR);
    chromium = await launchBrowser({ grantMediaPrompts: false });
    ctx.browser = chromium.browser;
    ctx.baseUrlOf = deployment.baseUrlOf;
  });

  after(async () => {
    await chromium?.close();
    await deployment?.stop();
  });

  callScenario(ctx, { screenshots: false });

  it('each user\'s Socket.IO traffic went to their own instance only', async () => {
    // Closing the pages makes nginx log the WebSocket requests too.
    for (const user of [ctx.alice, ctx.bob]) await user.context?.close();
    deployment.assertOwnInstances();
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([ctx.alice, ctx.bob]);
  });
});
