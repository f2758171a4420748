// The web client (client/dist, served by the chat server or by nginx) in headless Chromium, with
// each user in a browser context of their own: registering through the form, a direct chat started
// by user search, messages both ways, "is typing", read marks and ticks, the presence dot going and
// coming back, an image attached through the file input (previewed, then uploaded with a progress
// bar), a PDF shown as a file card with its download link, a voice message recorded from Chromium's
// fake microphone and played by the other user, muting a group with or without its @mentions; then a public room created in the UI that a third user finds in the rooms browser and joins
// (the others see the notice and the new count), the member list, leaving from the header,
// delivered and read ticks, blocking from a profile (the notice in place of the message box, a
// blocked user's room message behind "Show", unblocking), and the end of a session signed out
// everywhere. Screenshots of the main
// screens go to e2e/artifacts/screenshots/.
//
// A server with 70 s access tokens then shows the client refreshing its token by itself before it
// expires, one request per turn for two tabs.
//
// The same two-user exchange then runs against two instances (one PostgreSQL database, one Redis,
// a shared upload directory) behind nginx rendered from nginx/nginx.conf.template, with the two
// users on different instances. Without nginx, Redis or PostgreSQL that part is skipped with the
// reason, except when CI=true, where it fails.
//
// Needs: the built client (cd client && npm ci && npm run build), the server binary (see
// lib/server.js: CHAT_SERVER_BIN or CARGO_TARGET_DIR), Chromium (CHROMIUM_PATH, default
// /usr/bin/chromium). Run: npm run test:browser

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PASSWORD, REPO_ROOT, startServer, uniqueUsername } from '../lib/server.js';
import { FAILURES_DIR, launchBrowser, newPage, openUser, screenshot, step } from './lib/browser.js';
import { missingForCluster, twoInstancesBehindNginx } from './lib/cluster.js';
import { makeNoisePng, makePng } from './lib/png.js';
import {
  api,
  byTestId,
  chooseImage,
  createGroup,
  listItem,
  openFromList,
  openRooms,
  openedConversation,
  pressEnterAndWaitStored,
  register,
  roomItem,
  seesMessage,
  signIn,
  storedMessage,
  seesNewestImage,
  seesPeerPresence,
  seesReadMark,
  seesTicks,
  sendMessage,
  startDirectChat,
  storedImages,
  subtitleMatches,
  systemNotice,
  typeDraft,
  typingLineIs,
  waitImageStored,
} from './lib/ui.js';

const CI = process.env.CI === 'true';
rmSync(FAILURES_DIR, { recursive: true, force: true }); // screenshots of an earlier run's failures
const CLIENT_DIR = path.join(REPO_ROOT, 'client', 'dist');
const THUMBNAIL_PATH = /^\/uploads\/[0-9a-f]{64}_thumb\.png$/;
/** The server's default largest upload. */
const MAX_FILE_SIZE = 25 * 1024 * 1024;
const FILE_PATH = /^\/uploads\/[0-9a-f]{64}\.bin$/;
/** Upload speed while the large image goes out (bytes per second): about 2 s for 3 MB. */
const UPLOAD_BYTES_PER_SECOND = 1_500_000;

function assertClientBuilt() {
  assert.ok(
    existsSync(path.join(CLIENT_DIR, 'index.html')),
    `the web client is not built (${CLIENT_DIR}/index.html is missing): cd client && npm ci && npm run build`,
  );
}

/** Fails clearly when the server has no image upload endpoint. */
async function assertUploadEndpoint(baseUrl) {
  const res = await fetch(`${baseUrl}/api/upload`, { method: 'POST' });
  await res.arrayBuffer();
  assert.notEqual(res.status, 404, `POST /api/upload answers 404: the server has no image upload endpoint, so the client cannot send images`);
}

/**
 * The steps both setups share, as tests of the enclosing `describe`. `ctx.label` names the setup
 * (in failure screenshots); its `before` fills `browser`, `baseUrlOf(user)` (where that user's browser loads the client), and
 * `serverUrl` (for requests made by the test itself); `screenshots` saves the screens.
 */
function twoUserExchange(ctx, { screenshots }) {
  const alice = { name: 'alice', username: uniqueUsername('alice'), password: DEFAULT_PASSWORD };
  const bob = { name: 'bob', username: uniqueUsername('bob'), password: DEFAULT_PASSWORD };
  ctx.alice = alice;
  ctx.bob = bob;
  const both = [alice, bob];
  const text = {
    first: `Hello ${bob.username}, are you there?`,
    reply: `Yes ${alice.username}, here I am.`,
    second: 'Great, sending you a picture next.',
  };

  it('both users register through the register form and land on their conversation list', async () => {
    await step(`${ctx.label}-register`, both, async () => {
      await openUser(ctx.browser, alice);
      await openUser(ctx.browser, bob);
      await register(alice, ctx.baseUrlOf(alice), { screenshots });
      await register(bob, ctx.baseUrlOf(bob));
      assert.notEqual(alice.id, bob.id);
    });
  });

  it('alice starts a direct chat by searching for bob; it appears in bob\'s list and he opens it', async () => {
    await step(`${ctx.label}-direct-chat`, both, async () => {
      ctx.direct = await startDirectChat(alice, bob);
      // conversation:new puts it in bob's list without a reload.
      await listItem(bob.page, ctx.direct).waitFor();
      if (screenshots) await screenshot(bob.page, 'conversation-list');
      await openFromList(bob, ctx.direct, alice.username);
    });
  });

  it('bob sees "alice is typing..." while she types, and her message when she sends it', async () => {
    await step(`${ctx.label}-typing`, both, async () => {
      await typingLineIs(bob, null);
      await typeDraft(alice, text.first);
      const escaped = alice.username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      await typingLineIs(bob, new RegExp(`^${escaped} is typing`));
      await typingLineIs(alice, null, 0); // one's own typing is not announced to oneself
      await pressEnterAndWaitStored(alice, text.first);
      await seesMessage(bob, text.first);
      await typingLineIs(bob, null);
    });
  });

  it('messages go both ways and show in both pages, in order', async () => {
    await step(`${ctx.label}-messages`, both, async () => {
      await sendMessage(bob, text.reply);
      await seesMessage(alice, text.reply);
      await sendMessage(alice, text.second);
      await seesMessage(bob, text.second);
      for (const user of both) {
        const shown = await user.page
          .locator('[data-testid="conversation-view"] [data-testid="message-item"][data-status="sent"] .message-text')
          .allTextContents();
        assert.deepEqual(shown, [text.first, text.reply, text.second], `${user.name}'s messages`);
        const own = await user.page.locator('[data-testid="message-item"].own .message-text').allTextContents();
        assert.deepEqual(own, user === alice ? [text.first, text.second] : [text.reply], `${user.name}'s own messages`);
      }
    });
  });

  it('read marks: "Seen" appears under one\'s own message once the other has read it', async () => {
    await step(`${ctx.label}-read-marks`, both, async () => {
      // Both have the conversation open, so every message is read as it arrives.
      await seesReadMark(alice, text.second);
      await seesReadMark(bob, text.reply);
      assert.equal(await alice.page.locator('[data-testid="message-seen"]').count(), 1, 'one "Seen", under the newest read message');
      // Every own message carries highlighted double ticks once read; the other's carry none.
      await seesTicks(alice, text.first, 'read');
      await seesTicks(alice, text.second, 'read');
      await seesTicks(bob, text.reply, 'read');
      assert.equal(await alice.page.locator('[data-testid="message-item"].other [data-testid="message-ticks"]').count(), 0);
    });
  });

  it('presence: the dot goes when bob closes his page and comes back when he opens it again', async () => {
    await step(`${ctx.label}-presence`, both, async () => {
      await seesPeerPresence(alice, ctx.direct, true);
      await seesPeerPresence(bob, ctx.direct, true);
      await bob.page.close();
      await seesPeerPresence(alice, ctx.direct, false);
      const page = await newPage(bob);
      await page.goto(`${ctx.baseUrlOf(bob)}/c/${ctx.direct}`);
      await openedConversation(bob, ctx.direct, alice.username);
      await seesPeerPresence(alice, ctx.direct, true);
      await seesPeerPresence(bob, ctx.direct, true);
      // The history is back in the new page.
      for (const t of Object.values(text)) await seesMessage(bob, t);
    });
  });

  it('alice sends an image: a preview first, a progress bar while it uploads; both see its thumbnail', async () => {
    await step(`${ctx.label}-image`, both, async () => {
      await assertUploadEndpoint(ctx.serverUrl);
      const { page } = alice;
      const uploads = [];
      const onRequest = (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/upload') uploads.push(request);
      };
      page.on('request', onRequest);
      try {
        // A file over the size limit (MAX_FILE_SIZE, 25 MiB) is refused by the server, and the
        // client says so.
        // (Made in the page: sending 26 MB through the browser connection takes too long.)
        await page.locator('[data-testid="image-input"]').evaluate((input, size) => {
          const files = new DataTransfer();
          files.items.add(new File([new Uint8Array(size)], 'huge.bin', { type: 'application/octet-stream' }));
          input.files = files.files;
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }, MAX_FILE_SIZE + 1024 * 1024);
        await byTestId(page, 'upload-preview-file').waitFor();
        await byTestId(page, 'upload-send').click();
        const refused = byTestId(page, 'upload-error');
        await refused.waitFor({ timeout: 30_000 });
        assert.equal(await refused.textContent(), 'The file was not sent: the file is too large.');
        await byTestId(page, 'upload-preview').waitFor({ state: 'detached' });
        assert.equal(await page.locator('[data-testid="message-item"] :is([data-testid="message-image"], [data-testid="file-card"])').count(), 0, 'nothing was sent');

        // Cancel drops a chosen image without uploading it.
        uploads.length = 0;
        const small = await chooseImage(alice, makePng(120, 80, Math.floor(Math.random() * 1000)), 'gradient.png');
        await refused.waitFor({ state: 'detached' });
        assert.deepEqual([small.naturalWidth, small.naturalHeight], [120, 80], 'the preview shows the chosen file');
        await byTestId(page, 'upload-cancel').click();
        await small.preview.waitFor({ state: 'detached' });
        assert.equal(uploads.length, 0, 'a cancelled image is not uploaded');

        // A large image (random noise does not compress: about 3 MB) on a throttled link, so that
        // the upload takes a few seconds.
        const side = 1000;
        const chosen = await chooseImage(alice, makeNoisePng(side, side), 'noise.png');
        assert.match(chosen.previewUrl, /^blob:/, 'the preview is made in the page, not uploaded');
        assert.deepEqual([chosen.naturalWidth, chosen.naturalHeight], [side, side]);
        await page.waitForTimeout(300);
        assert.equal(uploads.length, 0, 'nothing is uploaded before "Send image"');
        assert.equal(await storedImages(page).count(), 0);

        const cdp = await alice.context.newCDPSession(page);
        try {
          await cdp.send('Network.enable');
          await cdp.send('Network.emulateNetworkConditions', {
            offline: false,
            latency: 0,
            downloadThroughput: -1,
            uploadThroughput: UPLOAD_BYTES_PER_SECOND,
          });
          await byTestId(page, 'upload-send').click();
          const progress = page.getByRole('progressbar', { name: /^Uploading noise\.png/ });
          await progress.waitFor();
          assert.equal(await progress.getAttribute('data-testid'), 'upload-progress');
          // The bar moves while the bytes go out.
          const values = new Set();
          const deadline = Date.now() + 15_000;
          while (Date.now() < deadline) {
            const value = await progress.evaluate((bar) => (bar.hasAttribute('value') ? bar.value : null)).catch(() => null);
            if (value !== null && value > 0 && value < 100) values.add(value);
            if (values.size >= 2) break;
            await page.waitForTimeout(100);
          }
          assert.ok(values.size >= 2, `the progress bar advanced during the upload (values seen: ${[...values].join(', ')})`);
          assert.equal(uploads.length, 1, 'one upload request');
          await waitImageStored(alice, 0, 30_000);
        } finally {
          await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }).catch(() => {});
          await cdp.detach().catch(() => {});
        }
        await byTestId(page, 'upload-preview').waitFor({ state: 'detached' });
        assert.equal(await byTestId(page, 'upload-progress').count(), 0, 'the progress bar is gone');
        const revoked = await page.evaluate((url) => fetch(url).then(() => false, () => true), chosen.previewUrl);
        assert.ok(revoked, 'the preview\'s object URL is revoked once the image is sent');
      } finally {
        page.off('request', onRequest);
      }

      for (const user of both) {
        const image = await seesNewestImage(user);
        assert.match(image.src, THUMBNAIL_PATH, `${user.name}'s image shows the thumbnail`);
        assert.equal(image.type, 'image/png');
        assert.deepEqual([image.naturalWidth, image.naturalHeight], [320, 320], 'the thumbnail is at most 320 pixels a side');
      }
      const own = page.locator('[data-testid="message-item"].own [data-testid="message-image"]');
      assert.equal(await own.count(), 1);
      if (screenshots) await screenshot(page, 'conversation-view');
    });
  });

  it('alice sends a PDF and records a voice message: bob sees the file card with its download link and plays the voice message', async (t) => {
    await step(`${ctx.label}-files-voice`, both, async () => {
      const { page } = alice;
      // A small PDF, picked with the attach button's file input (any file is taken now).
      const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'), Buffer.alloc(2048 - 44, 0x20), Buffer.from('%%EOF\n')]);
      const pdfName = 'quarterly report.pdf';
      const pdfSize = '2 KB';
      await byTestId(page, 'image-input').setInputFiles({ name: pdfName, mimeType: 'application/pdf', buffer: pdf });
      const preview = byTestId(page, 'upload-preview');
      await preview.locator('[data-testid="upload-preview-file"]').waitFor();
      assert.match(await preview.innerText(), /Send this file\?[\s\S]*quarterly report\.pdf/);
      await byTestId(page, 'upload-send').click();
      await preview.waitFor({ state: 'detached', timeout: 20_000 });

      const label = `Download ${pdfName} (${pdfSize})`;
      for (const user of both) {
        const card = user.page.locator('[data-testid="message-item"][data-status="sent"] [data-testid="file-card"]').last();
        await card.waitFor({ timeout: 15_000 });
        assert.equal(await card.locator('[data-testid="file-name"]').innerText(), pdfName);
        assert.equal(await card.locator('[data-testid="file-size"]').innerText(), pdfSize);
        assert.equal(await card.getAttribute('download'), pdfName);
        assert.match(await card.getAttribute('href'), FILE_PATH, `${user.name}'s download link`);
        assert.equal(await card.locator('[data-icon]').getAttribute('data-icon'), 'pdf');
        // A link with a name that says what it downloads, reachable from the keyboard.
        const link = user.page.getByRole('link', { name: label });
        assert.equal(await link.count(), 1, `${user.name} has one link "${label}"`);
        await link.focus();
        assert.ok(await link.evaluate((a) => document.activeElement === a), 'the download link takes the focus');
      }
      const download = await bob.page
        .locator('[data-testid="file-card"]')
        .last()
        .evaluate(async (a) => {
          const res = await fetch(a.getAttribute('href'), { credentials: 'same-origin' });
          const bytes = (await res.arrayBuffer()).byteLength;
          return { status: res.status, disposition: res.headers.get('content-disposition'), bytes };
        });
      assert.equal(download.status, 200);
      assert.match(download.disposition ?? '', /^attachment;/, 'a file is only ever downloaded');
      assert.equal(download.bytes, pdf.length);
      if (screenshots) await screenshot(bob.page, 'file-card');

      // A voice message of about 2 s from Chromium's fake microphone: tap to record, then Send.
      const mic = page.getByRole('button', { name: 'Record a voice message' });
      await mic.click();
      const recorder = byTestId(page, 'voice-recorder');
      await page.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
      await page.waitForTimeout(2_200);
      assert.match(await byTestId(page, 'voice-timer').innerText(), /^0:0[23]$/, 'the timer counts the seconds');
      if (screenshots) await screenshot(page, 'voice-recorder');
      await byTestId(page, 'voice-send').click();
      await recorder.waitFor({ state: 'detached' });
      // Uploaded (with the same progress bar as a file), then posted and stored.
      const storedVoice = page.locator('[data-testid="message-item"][data-status="sent"] [data-testid="voice-player"]');
      const refused = byTestId(page, 'upload-error');
      await Promise.race([storedVoice.first().waitFor({ timeout: 20_000 }), refused.waitFor({ timeout: 20_000 })]);
      if (await refused.isVisible()) assert.fail(`the voice message was not sent: ${await refused.textContent()}`);

      const { body: history } = await api(bob, 'GET', `/api/conversations/${ctx.direct}/messages?limit=5`);
      const voice = history.messages.filter((m) => m.message_type === 'audio').at(-1);
      assert.ok(voice, `a voice message is stored: ${JSON.stringify(history.messages.map((m) => m.message_type))}`);
      const durationMs = voice.attachment?.duration_ms;
      assert.ok(durationMs >= 1000 && durationMs <= 4000, `the server reads a length of about 2 s: ${durationMs} ms`);
      assert.match(voice.attachment.name, /^voice\.(ogg|webm|m4a)$/);
      assert.match(voice.attachment.mime, /^audio\//);
      const shown = `0:0${Math.floor(durationMs / 1000)}`;
      t.diagnostic(`voice message: ${voice.attachment.name}, ${voice.attachment.mime}, ${voice.attachment.size} bytes, duration_ms ${durationMs}`);

      for (const user of both) {
        const player = user.page.locator(`[data-message-id="${voice.id}"] [data-testid="voice-player"]`);
        await player.waitFor({ timeout: 15_000 });
        assert.equal(await player.locator('[data-testid="voice-duration"]').innerText(), shown, `${user.name} sees the length`);
      }

      // Bob plays it: the position moves and the length can be read, so it really plays.
      const player = bob.page.locator(`[data-message-id="${voice.id}"] [data-testid="voice-player"]`);
      const audio = player.locator('[data-testid="voice-audio"]');
      assert.equal(await audio.getAttribute('src'), voice.file_url);
      await player.getByRole('button', { name: 'Play the voice message' }).click();
      const handle = await audio.elementHandle();
      try {
        await bob.page.waitForFunction((a) => a.currentTime > 0.3, handle, { timeout: 10_000 }).catch(async (err) => {
          const state = await handle.evaluate((a) => ({
            currentTime: a.currentTime,
            paused: a.paused,
            ended: a.ended,
            readyState: a.readyState,
            networkState: a.networkState,
            error: a.error && `${a.error.code} ${a.error.message}`,
            duration: a.duration,
          }));
          throw new Error(`the voice message does not play: ${JSON.stringify(state)} (${err.message})`);
        });
        await player.getByRole('button', { name: 'Pause the voice message' }).waitFor();
        const progress = player.locator('[data-testid="voice-progress"]');
        assert.ok(Number(await progress.inputValue()) > 0, 'the progress bar moves');
        if (screenshots) await screenshot(bob.page, 'voice-message');
        // A WebM recording states no length: the element knows it once played through.
        await bob.page.waitForFunction((a) => a.ended || (Number.isFinite(a.duration) && a.duration > 1), handle, { timeout: 10_000 });
        if (!(await handle.evaluate((a) => a.ended))) {
          await bob.page.waitForFunction((a) => a.ended, handle, { timeout: 10_000 });
        }
        const duration = await handle.evaluate((a) => a.duration);
        assert.ok(Number.isFinite(duration) && Math.abs(duration * 1000 - durationMs) < 1000, `the page reads a length of ${duration} s (server: ${durationMs} ms)`);
        await player.getByRole('button', { name: 'Play the voice message' }).waitFor();

        // The slider seeks from the keyboard.
        const slider = player.getByRole('slider', { name: 'Position in the voice message' });
        await slider.focus();
        await slider.press('ArrowRight');
        await bob.page.waitForFunction((a) => a.currentTime > 0, handle);
        assert.ok(Number(await slider.inputValue()) > 0, 'an arrow key moves the position');
      } finally {
        await handle.dispose();
      }

      // Holding the mic button records until it is released, which sends.
      const voicesBefore = await storedVoice.count();
      await mic.hover();
      await page.mouse.down();
      await page.locator('[data-testid="voice-recorder"][data-phase="recording"]').waitFor();
      await page.waitForTimeout(1_500);
      await page.mouse.up();
      await recorder.waitFor({ state: 'detached' });
      await storedVoice.nth(voicesBefore).waitFor({ timeout: 20_000 });
      await bob.page.locator('[data-testid="message-item"][data-status="sent"] [data-testid="voice-player"]').nth(voicesBefore).waitFor();

      // At phone width the card and the player fit the screen.
      const desktop = bob.page.viewportSize();
      await bob.page.setViewportSize({ width: 390, height: 844 });
      try {
        const card = bob.page.locator('[data-testid="file-card"]').last();
        for (const element of [card, player]) {
          await element.scrollIntoViewIfNeeded();
          const box = await element.boundingBox();
          assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `fits a 390 px screen: ${JSON.stringify(box)}`);
        }
        if (screenshots) await screenshot(bob.page, 'phone-files-voice');
      } finally {
        await bob.page.setViewportSize(desktop);
      }

      // A file dropped on the conversation, or pasted into the message box, is attached too.
      const dropOrPaste = (how) =>
        page.evaluate((how) => {
          const files = new DataTransfer();
          files.items.add(new File(['notes\n'], `${how}.txt`, { type: 'text/plain' }));
          if (how === 'pasted') {
            const box = document.querySelector('[data-testid="message-input"]');
            box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: files, bubbles: true, cancelable: true }));
            return;
          }
          const zone = document.querySelector('[data-testid="conversation-view"]');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));
          }
        }, how);
      for (const how of ['dropped', 'pasted']) {
        await dropOrPaste(how);
        await preview.locator('[data-testid="upload-preview-file"]').waitFor();
        assert.match(await preview.innerText(), new RegExp(`${how}\\.txt`));
        await byTestId(page, 'upload-cancel').click();
        await preview.waitFor({ state: 'detached' });
      }
      assert.equal(await byTestId(page, 'drop-hint').count(), 0, 'the drop hint is gone after the drop');

      // A refused microphone is explained under the box.
      await page.evaluate(() => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      });
      await byTestId(page, 'mic-button').click();
      const denied = byTestId(page, 'recorder-error');
      await denied.waitFor();
      assert.match(await denied.innerText(), /^Microphone access was denied\./);
      assert.equal(await byTestId(page, 'voice-recorder').count(), 0);
      await page.reload();
      await openedConversation(alice, ctx.direct, bob.username);
    });
  });

  it("bob replies, edits and takes a message back, alice reacts: both pages show the quote, \"edited\", \"Message deleted\" and the reaction live", async () => {
    await step(`${ctx.label}-changes`, both, async () => {
      const path = `/api/conversations/${ctx.direct}/messages`;
      const { body: page } = await api(bob, 'GET', `${path}?limit=50`);
      const first = page.messages.find((m) => m.content === text.first);
      assert.ok(first, `"${text.first}" is in the history`);
      const reply = await api(bob, 'POST', path, { content: 'Replying to your first message', reply_to: first.id });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      const replied = await seesMessage(alice, 'Replying to your first message');
      const quote = replied.locator('[data-testid="reply-quote"]');
      await quote.waitFor();
      const quoted = await quote.innerText();
      assert.ok(quoted.includes(alice.username) && quoted.includes(text.first.slice(0, 20)), `the quote shows alice's message: ${quoted}`);

      const edited = await api(bob, 'PATCH', `/api/messages/${reply.body.id}`, { content: 'Replying to your first message (edited)' });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      const shown = await seesMessage(alice, 'Replying to your first message (edited)');
      await shown.locator('[data-testid="message-edited"]').waitFor();

      const oops = await api(bob, 'POST', path, { content: 'Oops, wrong chat' });
      assert.equal(oops.status, 201);
      await seesMessage(alice, 'Oops, wrong chat');
      const deleted = await api(bob, 'DELETE', `/api/messages/${oops.body.id}`);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      const tombstone = alice.page.locator(`[data-message-id="${oops.body.id}"] [data-testid="message-deleted"]`);
      await tombstone.waitFor();
      assert.equal(await storedMessage(alice.page, 'Oops, wrong chat').count(), 0, 'the deleted text is gone from the page');
      // Alice reacts from the picker; bob's page shows the count, and her chip is pressed.
      const row = alice.page.locator(`[data-message-id="${reply.body.id}"]`);
      await row.locator('[data-testid="reaction-add"]').click();
      await row.getByRole('button', { name: 'React with 👍' }).click();
      const chip = row.locator('[data-testid="reaction-chip"][data-emoji="👍"]');
      await chip.waitFor();
      assert.equal(await chip.getAttribute('aria-pressed'), 'true');
      const seenByBob = bob.page.locator(`[data-message-id="${reply.body.id}"] [data-testid="reaction-chip"][data-emoji="👍"]`);
      await seenByBob.waitFor();
      assert.match(await seenByBob.innerText(), /1/);
      // Hovering the chip tells bob who reacted.
      await seenByBob.hover();
      const who = bob.page.locator(`[data-message-id="${reply.body.id}"] [data-testid="reaction-tooltip"]`);
      await who.waitFor({ state: 'visible' });
      assert.equal(await who.innerText(), alice.username);
      assert.match(await seenByBob.getAttribute('aria-label'), new RegExp(alice.username));
      if (screenshots) await screenshot(alice.page, 'message-changes');

      // Alice edits her own message inline (Esc cancels, Enter saves), then deletes it after confirming.
      const mineId = await storedMessage(alice.page, text.second).getAttribute('data-message-id');
      const mine = alice.page.locator(`[data-testid="message-item"][data-message-id="${mineId}"]`);
      await mine.hover();
      await mine.locator('[data-testid="edit-message"]').click();
      const input = mine.locator('[data-testid="edit-input"]');
      await input.fill('never saved');
      await input.press('Escape');
      await input.waitFor({ state: 'detached' });
      await mine.hover();
      await mine.locator('[data-testid="edit-message"]').click();
      await input.fill('Great, sending you a picture now.');
      if (screenshots) await screenshot(alice.page, 'message-edit');
      await input.press('Enter');
      await seesMessage(bob, 'Great, sending you a picture now.');
      await mine.locator('[data-testid="message-edited"]').waitFor();
      assert.equal(await storedMessage(bob.page, 'never saved').count(), 0, 'a cancelled edit is not sent');
      await mine.hover();
      await mine.locator('[data-testid="delete-message"]').click();
      await mine.locator('[data-testid="delete-confirm"]').waitFor();
      if (screenshots) await screenshot(alice.page, 'message-delete-confirm');
      await mine.locator('[data-testid="delete-confirm-button"]').click();
      await mine.locator('[data-testid="message-deleted"]').waitFor();
      await bob.page.locator(`[data-message-id="${mineId}"] [data-testid="message-deleted"]`).waitFor();
    });
  });
}

function assertNoPageErrors(users) {
  const errors = users.filter(Boolean).flatMap((u) => u.errors ?? []);
  assert.deepEqual(errors, [], 'uncaught errors in the pages');
}

// ---------------------------------------------------------------- one server

describe('web client against one server (SQLite)', { timeout: 120_000 }, () => {
  const ctx = { label: 'one-server' };
  let server;
  let chromium;
  let carol;

  before(async () => {
    assertClientBuilt();
    server = await startServer({ db: 'sqlite', env: { CLIENT_DIR } });
    chromium = await launchBrowser();
    ctx.browser = chromium.browser;
    ctx.baseUrlOf = () => server.url;
    ctx.serverUrl = server.url;
  });

  after(async () => {
    await chromium?.close();
    await server?.stop();
  });

  twoUserExchange(ctx, { screenshots: true });

  it('alice replies from the message menu and mentions bob by picking him after "@"; bob sees the badge, opens the thread and answers there; alice mutes the chat', async () => {
    const { alice, bob } = ctx;
    await step('one-server-reply-mention', [alice, bob], async () => {
      // Bob looks at his list, not at the chat, so the mention stays unread.
      await bob.page.goto(`${ctx.baseUrlOf(bob)}/`);
      await listItem(bob.page, ctx.direct).waitFor();

      const parentId = await storedMessage(alice.page, 'Replying to your first message (edited)').getAttribute('data-message-id');
      const parent = alice.page.locator(`.message-list [data-testid="message-item"][data-message-id="${parentId}"]`);
      await parent.hover();
      await parent.locator('[data-testid="reply-message"]').click();
      const target = byTestId(alice.page, 'reply-target');
      await target.waitFor();
      assert.match(await target.innerText(), /Replying to/);
      const input = byTestId(alice.page, 'message-input');
      assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'Reply puts the focus in the message box');
      await input.pressSequentially(`Thanks @${bob.username.slice(0, 4)}`, { delay: 15 });
      const option = byTestId(alice.page, 'mention-option').filter({ hasText: bob.username });
      await option.waitFor();
      assert.equal(await input.getAttribute('aria-expanded'), 'true');
      await screenshot(alice.page, 'reply-and-mention');
      // A busy page paints late: frames come 100 ms after they are asked for while alice picks
      // and goes on typing, so a caret placed on the next frame would land among her keys.
      await alice.page.evaluate(() => {
        const raf = window.requestAnimationFrame.bind(window);
        window.restoreFrames = () => { window.requestAnimationFrame = raf; };
        window.requestAnimationFrame = (callback) => raf(() => setTimeout(() => callback(performance.now()), 100));
      });
      const sent = `Thanks @${bob.username} see you at noon`;
      try {
        await input.press('Enter'); // picks the highlighted member
        assert.equal(await input.inputValue(), `Thanks @${bob.username} `);
        await input.pressSequentially('see you at noon', { delay: 15 });
        assert.equal(await input.inputValue(), sent, 'the words typed right after the pick stay in order');
      } finally {
        // The later tests share this page: a failure here must not leave them painting late.
        await alice.page.evaluate(() => window.restoreFrames());
      }
      await input.press('Enter');
      await byTestId(alice.page, 'reply-target').waitFor({ state: 'detached' });
      const stored = await seesMessage(alice, sent);
      await stored.locator('[data-testid="reply-quote"]').waitFor();

      // Bob's list shows that he was mentioned; the server counts it too.
      const item = listItem(bob.page, ctx.direct);
      await item.locator('[data-testid="mention-badge"]').waitFor();
      const { body: list } = await api(bob, 'GET', '/api/conversations');
      const direct = (list.conversations ?? list).find((c) => c.id === ctx.direct);
      assert.equal(direct.mention_count, 1, JSON.stringify(direct));
      await screenshot(bob.page, 'mention-badge');

      // He opens the chat (which reads the mention) and the thread from the reply count.
      await openFromList(bob, ctx.direct, alice.username);
      await item.locator('[data-testid="mention-badge"]').waitFor({ state: 'detached' });
      const reply = await seesMessage(bob, sent);
      await reply.locator('[data-testid="reply-quote"]').waitFor();
      // His name stands out in the message that mentions him.
      await reply.locator('[data-testid="mention"].mention-me', { hasText: `@${bob.username}` }).waitFor();
      const replies = bob.page.locator(`.message-list [data-message-id="${parentId}"] [data-testid="message-replies"]`);
      await replies.waitFor();
      await replies.click();
      const panel = byTestId(bob.page, 'thread-panel');
      await panel.locator('[data-testid="message-item"]', { hasText: 'see you at noon' }).waitFor();
      await panel.locator('[data-testid="thread-input"]').fill('Noon works, see you there');
      await panel.locator('[data-testid="thread-input"]').press('Enter');
      await panel.locator('[data-testid="message-item"]', { hasText: 'Noon works, see you there' }).waitFor();
      await screenshot(bob.page, 'thread-panel');
      // Alice sees the answer in the chat, quoting the message it replies to, and the count grows.
      const answer = await seesMessage(alice, 'Noon works, see you there');
      await answer.locator('[data-testid="reply-quote"]').waitFor();
      await alice.page
        .locator(`.message-list [data-message-id="${parentId}"] [data-testid="message-replies"]`, { hasText: '2 replies' })
        .waitFor();
      await panel.press('Escape');
      await panel.waitFor({ state: 'detached' });

      // Alice mutes the chat for 8 hours from the header, then unmutes it.
      await byTestId(alice.page, 'mute-button').click();
      const menu = byTestId(alice.page, 'mute-menu');
      await menu.waitFor();
      await screenshot(alice.page, 'mute-menu');
      await menu.getByRole('menuitem', { name: 'For 8 hours' }).click();
      await alice.page.locator('[data-testid="mute-button"][data-muted="true"]').waitFor();
      await subtitleMatches(alice, /muted/);
      const { body: muted } = await api(alice, 'GET', `/api/conversations/${ctx.direct}`);
      const until = Date.parse((muted.conversation ?? muted).muted_until);
      assert.ok(until > Date.now() + 7 * 3_600_000 && until < Date.now() + 9 * 3_600_000, `muted_until: ${JSON.stringify(muted)}`);
      await byTestId(alice.page, 'mute-button').click();
      await alice.page.locator('[data-testid="mute-button"][data-muted="false"]').waitFor();
      const { body: unmuted } = await api(alice, 'GET', `/api/conversations/${ctx.direct}`);
      assert.equal((unmuted.conversation ?? unmuted).muted_until, null);
    });
  });

  it('muting a group: "Also mute @mentions" in the mute menu goes out as mute_mentions; without it the header and the list say mentions still notify', async () => {
    // A user of its own (and a peer registered over REST), so this step also runs alone.
    const dora = { name: 'dora', username: uniqueUsername('dora'), password: DEFAULT_PASSWORD };
    await step(`${ctx.label}-mute-mentions`, [dora], async () => {
      await openUser(ctx.browser, dora);
      await register(dora, server.url);
      const { user: eli } = await server.register(uniqueUsername('eli'));
      const { page } = dora;
      const muteButton = byTestId(page, 'mute-button');
      const menu = byTestId(page, 'mute-menu');
      const mentionsItem = menu.locator('[data-testid="mute-mentions"]');
      /** Runs `act` and resolves to the PUT .../settings it sends: the body and the answer. */
      const settingsPut = async (id, act) => {
        const isPut = (r) => r.method() === 'PUT' && new URL(r.url()).pathname === `/api/conversations/${id}/settings`;
        const [response] = await Promise.all([page.waitForResponse((r) => isPut(r.request())), act()]);
        assert.equal(response.status(), 200);
        const answer = await response.json();
        return { body: response.request().postDataJSON(), answer: answer.conversation ?? answer };
      };

      // A direct chat: muted, it notifies nothing, so its menu has no mentions item.
      const direct = await api(dora, 'POST', '/api/conversations', { user_id: eli.id });
      assert.equal(direct.status, 201, JSON.stringify(direct.body));
      await openFromList(dora, direct.body.id, eli.username);
      await muteButton.click();
      await menu.waitFor();
      assert.equal(await mentionsItem.count(), 0, 'no "Also mute @mentions" in a direct chat');
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'detached' });

      const group = await createGroup(dora, { name: `Muted ${randomBytes(3).toString('hex')}`, members: [eli] });
      const item = (label) => page.locator(`[data-testid="conversation-item"][data-conversation-id="${group}"][aria-label$="${label}"]`);

      // Muted for an hour, mentions left on: the header, the list and the button's title say so.
      await muteButton.click();
      await menu.waitFor();
      assert.equal(await mentionsItem.getAttribute('role'), 'menuitemcheckbox');
      assert.equal(await mentionsItem.getAttribute('aria-checked'), 'false');
      assert.equal(await mentionsItem.evaluate((el) => el === document.activeElement), true, 'the menu opens on its first item');
      const hour = await settingsPut(group, () => menu.getByRole('menuitem', { name: 'For 1 hour' }).click());
      assert.equal(hour.body.mute_mentions, false, JSON.stringify(hour.body));
      const until = Date.parse(hour.body.muted_until);
      assert.ok(until > Date.now() + 3_500_000 && until < Date.now() + 3_700_000, JSON.stringify(hour.body));
      assert.equal(hour.answer.mute_mentions, false, JSON.stringify(hour.answer));
      await page.locator('[data-testid="mute-button"][data-muted="true"][data-mute-mentions="false"]').waitFor();
      await subtitleMatches(dora, /· muted \(mentions still notify\)$/);
      await item(', muted (mentions still notify)').waitFor();
      assert.match(await muteButton.getAttribute('title'), /^Muted until .+ \(mentions still notify\)$/);

      // Unmuting sends muted_until alone, and the server answers mentions unmuted too.
      const unmute = await settingsPut(group, () => muteButton.click());
      assert.deepEqual(unmute.body, { muted_until: null });
      assert.equal(unmute.answer.muted_until, null);
      assert.equal(unmute.answer.mute_mentions, false);
      await page.locator('[data-testid="mute-button"][data-muted="false"]').waitFor();

      // With the keyboard: open the menu, tick the mentions item with Space, go down to "Until I unmute".
      await muteButton.focus();
      await page.keyboard.press('Enter');
      await menu.waitFor();
      await page.keyboard.press('Space');
      await menu.locator('[data-testid="mute-mentions"][aria-checked="true"]').waitFor();
      assert.equal(await menu.isVisible(), true, 'ticking the item keeps the menu open');
      await screenshot(page, 'mute-menu-mentions');
      for (let n = 0; n < 4; n++) await page.keyboard.press('ArrowDown');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Until I unmute');
      const forever = await settingsPut(group, () => page.keyboard.press('Enter'));
      assert.deepEqual(forever.body, { muted_until: '9999-12-31T23:59:59Z', mute_mentions: true });
      assert.equal(forever.answer.mute_mentions, true, JSON.stringify(forever.answer));
      await menu.waitFor({ state: 'detached' });
      await page.locator('[data-testid="mute-button"][data-muted="true"][data-mute-mentions="true"]').waitFor();
      assert.equal(await muteButton.evaluate((el) => el === document.activeElement), true, 'the focus is back on the button');
      await subtitleMatches(dora, /· muted$/);
      await item(', muted').waitFor();
      const { body: stored } = await api(dora, 'GET', `/api/conversations/${group}`);
      assert.equal((stored.conversation ?? stored).mute_mentions, true, JSON.stringify(stored));

      // Unmuted again, the next menu starts with mentions unticked; at 390 px wide it fits the screen.
      const again = await settingsPut(group, () => muteButton.click());
      assert.equal(again.answer.mute_mentions, false);
      await page.setViewportSize({ width: 390, height: 844 });
      await muteButton.click();
      await menu.locator('[data-testid="mute-mentions"][aria-checked="false"]').waitFor();
      const box = await menu.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the menu fits a phone screen: ${JSON.stringify(box)}`);
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'detached' });
    });
    await dora.context?.close();
    assert.deepEqual(dora.errors ?? [], [], 'uncaught errors in the page');
  });

  it('on a phone: a long press opens the message menu; Reply and the thread take the whole screen', async () => {
    const { alice, bob } = ctx;
    const phone = { name: 'bob-phone', username: bob.username, password: bob.password };
    await step('one-server-phone', [phone], async () => {
      await openUser(ctx.browser, phone, { phone: true });
      await signIn(phone, ctx.baseUrlOf(bob));
      await openFromList(phone, ctx.direct, alice.username);
      const row = storedMessage(phone.page, `Thanks @${bob.username} see you at noon`);
      await row.waitFor();
      const reply = row.locator('[data-testid="reply-message"]');
      assert.equal(await reply.isVisible(), false, 'the menu stays closed until a long press');
      const bubble = row.locator('.bubble');
      await bubble.scrollIntoViewIfNeeded();
      await bubble.dispatchEvent('pointerdown', { pointerType: 'touch', isPrimary: true, clientX: 100, clientY: 100 });
      await row.locator('xpath=self::*[contains(@class, "menu-open")]').waitFor();
      await bubble.dispatchEvent('pointerup', { pointerType: 'touch', isPrimary: true });
      await reply.waitFor({ state: 'visible' });
      await screenshot(phone.page, 'phone-message-menu');
      await reply.tap();
      await byTestId(phone.page, 'reply-target').waitFor();
      assert.equal(await row.getAttribute('class').then((c) => c.includes('menu-open')), false, 'choosing Reply closes the menu');
      await screenshot(phone.page, 'phone-reply');
      await byTestId(phone.page, 'reply-cancel').tap();
      await byTestId(phone.page, 'reply-target').waitFor({ state: 'detached' });

      const parent = phone.page.locator('.message-list [data-testid="message-replies"]', { hasText: '2 replies' });
      await parent.scrollIntoViewIfNeeded();
      await parent.tap();
      const panel = byTestId(phone.page, 'thread-panel');
      await panel.locator('[data-testid="message-item"]', { hasText: 'Noon works, see you there' }).waitFor();
      const box = await panel.boundingBox();
      assert.ok(box && box.width >= 389, `the thread takes the whole width of a phone: ${JSON.stringify(box)}`);
      await screenshot(phone.page, 'phone-thread');
      await panel.locator('[data-testid="thread-close"]').tap();
      await panel.waitFor({ state: 'detached' });
    });
    await phone.context?.close();
    assert.deepEqual(phone.errors ?? [], [], 'uncaught errors in the phone page');
  });

  it('message search: alice finds an old message by a word and its accented prefix, sees it highlighted, and opens the chat at it', async () => {
    const { alice, bob } = ctx;
    await step('one-server-search', [alice, bob], async () => {
      // An old message, then more than a page of newer ones, so opening it has to load around it.
      const path = `/api/conversations/${ctx.direct}/messages`;
      const old = await api(bob, 'POST', path, { content: 'The key to the Crème brûlée recipe is patience' });
      assert.equal(old.status, 201, JSON.stringify(old.body));
      for (let n = 0; n < 60; n++) {
        const res = await api(bob, 'POST', path, { content: `filler message ${n}` });
        assert.equal(res.status, 201);
      }
      // A fresh page holds only the newest page of the chat.
      await alice.page.reload();
      await seesMessage(alice, 'filler message 59');
      assert.equal(await storedMessage(alice.page, 'Crème brûlée').count(), 0, 'the old message is not loaded yet');

      const box = byTestId(alice.page, 'message-search-input');
      await box.fill('creme bru');
      const result = alice.page.locator(`[data-testid="message-search-result"][data-message-id="${old.body.id}"]`);
      await result.waitFor();
      const marks = await result.locator('mark').allInnerTexts();
      assert.deepEqual(marks, ['Crème', 'brûlée'], 'the matched words are highlighted');
      await screenshot(alice.page, 'message-search');

      // Searching only in the open conversation finds it too; a word nobody wrote finds nothing.
      await byTestId(alice.page, 'message-search-scope').check();
      await result.waitFor();
      await box.fill('zanzibarquux');
      await byTestId(alice.page, 'message-search-empty').waitFor();
      await box.fill('creme bru');
      await result.click();
      const opened = alice.page.locator(`.message-list [data-message-id="${old.body.id}"]`);
      await opened.waitFor();
      await alice.page.waitForFunction(
        (id) => {
          const el = document.querySelector(`.message-list [data-message-id="${id}"]`);
          const list = document.querySelector('.message-scroller');
          if (!el || !list) return false;
          const a = el.getBoundingClientRect();
          const b = list.getBoundingClientRect();
          return a.top >= b.top && a.bottom <= b.bottom;
        },
        old.body.id,
        { timeout: 10_000 },
      );
      assert.match(await opened.getAttribute('class'), /highlighted/);
      await screenshot(alice.page, 'message-search-opened');
      // The newer messages followed: the chat has no hole between the old message and the newest.
      // Matched on the text alone: the row also shows the time, and "filler message 3" sent at
      // 00:06 would read "filler message 300:06".
      await alice.page
        .locator('.message-list [data-testid="message-item"]')
        .filter({ has: alice.page.locator('.message-text', { hasText: /^filler message 30$/ }) })
        .waitFor();
      await box.fill('');
      await listItem(alice.page, ctx.direct).waitFor();
    });
  });

  it('a public room made in the UI: a third user finds it in the rooms browser and joins; the others see the notice', async () => {
    const { alice, bob } = ctx;
    carol = { name: 'carol', username: uniqueUsername('carol'), password: DEFAULT_PASSWORD };
    await step(`${ctx.label}-room`, [alice, bob, carol], async () => {
      await openUser(ctx.browser, carol);
      await register(carol, server.url);

      // alice creates it from "New group" with the "Public room" box ticked, bob in it.
      ctx.roomName = `Lobby ${randomBytes(3).toString('hex')}`;
      const name = ctx.roomName;
      ctx.room = await createGroup(alice, { name, members: [bob], isPublic: true });
      const room = ctx.room;
      await subtitleMatches(alice, /^2 members.*public room/);
      // conversation:new puts it in bob's list.
      await openFromList(bob, room, name);

      // carol finds it in the rooms browser.
      await openRooms(carol);
      await byTestId(carol.page, 'rooms-filter').fill(name.slice(0, 9));
      const entry = roomItem(carol.page, room);
      await entry.waitFor();
      assert.equal(await entry.getAttribute('data-member'), 'false');
      assert.equal((await entry.locator('[data-testid="room-name"]').textContent()).trim(), name);
      assert.equal((await entry.locator('[data-testid="room-member-count"]').textContent()).trim(), '2 members');
      assert.equal(await entry.locator('[data-testid="room-leave"]').count(), 0, 'no "Leave" before joining');
      await screenshot(carol.page, 'rooms');
      await entry.locator('[data-testid="room-join"]').click();

      // Joining opens the room; everyone sees the notice and the new count.
      await carol.page.waitForURL((url) => url.pathname === `/c/${room}`, { timeout: 10_000 });
      await openedConversation(carol, room, name);
      const notice = `${carol.username} joined`;
      for (const user of [alice, bob, carol]) {
        await systemNotice(user.page, notice).waitFor();
        await subtitleMatches(user, /^3 members/);
      }
      await listItem(carol.page, room).waitFor();

      // The list beside it: the room, then the direct chat (newest activity first).
      const ids = await alice.page.locator('[data-testid="conversation-item"]').evaluateAll((items) =>
        items.map((item) => Number(item.getAttribute('data-conversation-id'))),
      );
      assert.deepEqual(ids, [room, ctx.direct], 'alice\'s list, newest activity first');
      await listItem(alice.page, room).locator('[data-testid="conversation-preview"]', { hasText: notice }).waitFor();
      await screenshot(alice.page, 'room-view');
    });
  });

  it('online counts: the room header and the rooms browser show "N online", live as members come and go', async () => {
    const { alice, bob } = ctx;
    const room = ctx.room;
    await step(`${ctx.label}-online-count`, [alice, bob, carol], async () => {
      await subtitleMatches(alice, /^3 members, 3 online/);
      await screenshot(alice.page, 'room-online-count');
      // bob closes his page: alice's header follows within a second or two, and again when he is back.
      await bob.page.close();
      await subtitleMatches(alice, /^3 members, 2 online/);
      const page = await newPage(bob);
      await page.goto(`${ctx.baseUrlOf(bob)}/c/${room}`);
      await openedConversation(bob, room, ctx.roomName);
      await subtitleMatches(alice, /^3 members, 3 online/);
      await subtitleMatches(bob, /^3 members, 3 online/);
      const announcer = byTestId(alice.page, 'online-count-announcer');
      assert.equal(await announcer.getAttribute('aria-live'), 'polite');

      // carol's rooms browser shows the count beside the member count.
      await openRooms(carol);
      const entry = roomItem(carol.page, room);
      await entry.waitFor();
      const online = entry.locator('[data-testid="room-online-count"]');
      await online.filter({ hasText: /^3 online$/ }).waitFor();
      await screenshot(carol.page, 'rooms-online-count');
      // Back in the room for the steps that follow.
      await entry.locator('[data-testid="room-open"]').click();
      await openedConversation(carol, room, ctx.roomName);
    });
  });

  it('members: the list follows joins live; adding someone who is in already says so', async () => {
    const { bob } = ctx;
    await step(`${ctx.label}-members`, [ctx.alice, bob, carol], async () => {
      await byTestId(bob.page, 'members-button').click();
      const dialog = byTestId(bob.page, 'members-dialog');
      await dialog.waitFor();
      await dialog.locator(`[data-testid="member-item"][data-user-id="${carol.id}"]`).waitFor();
      assert.equal((await dialog.locator('[data-testid="member-count"]').textContent()).trim(), '3 members');
      await dialog.locator('[data-testid="user-search-input"]').fill(carol.username);
      await dialog.locator(`[data-testid="user-search-result"][data-user-id="${carol.id}"]`).click();
      const message = dialog.locator('[data-testid="add-member-message"]');
      await message.waitFor();
      assert.equal(await message.getAttribute('data-kind'), 'info');
      assert.equal((await message.textContent()).trim(), `${carol.username} is already a member.`);
      await bob.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    });
  });

  it('ticks in the room: read by the others, then delivered only while bob looks elsewhere', async () => {
    const { alice, bob } = ctx;
    const room = ctx.room;
    await step(`${ctx.label}-room-ticks`, [alice, bob, carol], async () => {
      const welcome = `Welcome, ${carol.username}!`;
      await sendMessage(alice, welcome);
      await seesMessage(carol, welcome);
      await seesTicks(alice, welcome, 'read');

      // carol leaves from the header; she is back on her list, without the room.
      await byTestId(carol.page, 'leave-conversation-button').click();
      await byTestId(carol.page, 'leave-dialog').waitFor();
      await byTestId(carol.page, 'leave-confirm').click();
      await carol.page.waitForURL((url) => url.pathname === '/', { timeout: 10_000 });
      await listItem(carol.page, room).waitFor({ state: 'detached' });
      await systemNotice(alice.page, `${carol.username} left`).waitFor();
      await subtitleMatches(alice, /^2 members/);

      // bob looks at the direct chat: alice's next room message reaches his device, unread.
      await openFromList(bob, ctx.direct, alice.username);
      const question = 'Is anyone still here?';
      await sendMessage(alice, question);
      await seesTicks(alice, question, 'delivered');
      await listItem(bob.page, room).locator('[data-testid="unread-badge"]').waitFor();
      await openFromList(bob, room, ctx.roomName);
      await seesMessage(bob, question);
      await seesTicks(alice, question, 'read');

      // The rooms browser shows carol out of it again.
      await openRooms(carol);
      const entry = roomItem(carol.page, room);
      await entry.locator('[data-testid="room-join"]').waitFor();
      assert.equal(await entry.getAttribute('data-member'), 'false');
      assert.equal((await entry.locator('[data-testid="room-member-count"]').textContent()).trim(), '2 members');
    });
  });

  it('blocking: alice blocks bob from the profile in their direct chat (a notice replaces the box, his send is refused), his room message hides behind "Show"; unblocking brings the box back', async () => {
    const { alice, bob } = ctx;
    await step(`${ctx.label}-blocking`, [alice, bob], async () => {
      await openFromList(alice, ctx.direct, bob.username);
      await byTestId(alice.page, 'conversation-profile-button').click();
      const profile = byTestId(alice.page, 'profile-dialog');
      await profile.waitFor();
      assert.equal((await profile.locator('[data-testid="profile-name"]').textContent()).trim(), bob.username);
      await profile.locator('[data-testid="block-button"]').click();
      await profile.locator('[data-testid="block-confirm"]').waitFor();
      await screenshot(alice.page, 'block-confirm');
      await profile.locator('[data-testid="block-confirm-button"]').click();
      const unblock = profile.locator('[data-testid="unblock-button"]');
      await unblock.waitFor();
      assert.equal(await unblock.evaluate((el) => el === document.activeElement), true, 'focus moves to Unblock');
      await alice.page.keyboard.press('Escape');
      await profile.waitFor({ state: 'detached' });
      const view = byTestId(alice.page, 'conversation-view');
      await view.locator('[data-testid="blocked-notice"]').waitFor();
      assert.equal(await view.locator('[data-testid="message-input"]').count(), 0, 'no message box beside the notice');
      await screenshot(alice.page, 'blocked-notice');
      const { body: blocks } = await api(alice, 'GET', '/api/users/me/blocks');
      assert.deepEqual(blocks.users.map((u) => u.id), [bob.id]);

      // The same chat on a phone-sized screen: the notice and the profile fit its width.
      await alice.page.setViewportSize({ width: 390, height: 844 });
      await view.locator('[data-testid="blocked-notice-unblock"]').waitFor({ state: 'visible' });
      const overflow = await alice.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 390 px`);
      await screenshot(alice.page, 'phone-blocked-notice');
      await byTestId(alice.page, 'conversation-profile-button').click();
      await profile.locator('[data-testid="unblock-button"]').waitFor();
      await screenshot(alice.page, 'phone-profile-blocked');
      await alice.page.keyboard.press('Escape');
      await profile.waitFor({ state: 'detached' });
      await alice.page.setViewportSize({ width: 1280, height: 800 });

      // bob's message in the direct chat is refused and stays with him as not sent.
      await openFromList(bob, ctx.direct, alice.username);
      await byTestId(bob.page, 'message-input').fill('Did I say something wrong?');
      await byTestId(bob.page, 'message-input').press('Enter');
      const refused = bob.page.locator('[data-testid="message-item"][data-status="failed"]', { hasText: 'Did I say something wrong?' });
      await refused.waitFor();
      assert.match(await refused.locator('[data-testid="message-state"]').innerText(), /blocked you/);
      await refused.locator('[data-testid="message-discard"]').click();
      await refused.waitFor({ state: 'detached' });

      // In the room, bob's message reaches alice behind a row she can open.
      await openFromList(bob, ctx.room, ctx.roomName);
      await openFromList(alice, ctx.room, ctx.roomName);
      const lunch = 'Anyone up for lunch?';
      await sendMessage(bob, lunch);
      const hidden = view.locator('[data-testid="message-item"][data-hidden="blocked"]').last();
      await hidden.waitFor();
      assert.match(await hidden.innerText(), /Message from a blocked user/);
      assert.equal(await storedMessage(alice.page, lunch).count(), 0, 'the text stays hidden');
      await listItem(alice.page, ctx.room).locator('[data-testid="conversation-preview"]', { hasText: 'Message from a blocked user' }).waitFor();
      await screenshot(alice.page, 'blocked-message-hidden');
      await hidden.locator('[data-testid="blocked-message-show"]').click();
      await seesMessage(alice, lunch);
      await screenshot(alice.page, 'blocked-message-shown');

      // The blocked users, from the sidebar.
      await byTestId(alice.page, 'blocked-users-button').click();
      const dialog = byTestId(alice.page, 'blocked-users-dialog');
      await dialog.locator(`[data-testid="blocked-user-item"][data-user-id="${bob.id}"]`).waitFor();
      await screenshot(alice.page, 'blocked-users');
      await alice.page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });

      // Unblocking from the notice brings the box back, and bob writes to her again.
      await openFromList(alice, ctx.direct, bob.username);
      await view.locator('[data-testid="blocked-notice-unblock"]').click();
      await view.locator('[data-testid="message-input"]').waitFor();
      await view.locator('[data-testid="blocked-notice"]').waitFor({ state: 'detached' });
      await openFromList(bob, ctx.direct, alice.username);
      await sendMessage(bob, 'Sorry about earlier.');
      await seesMessage(alice, 'Sorry about earlier.');
    });
  });

  it('profile: alice sets a display name, a bio and a picture and changes her password; bob sees the name live in his list, the room and her profile', async () => {
    const { alice, bob } = ctx;
    await step(`${ctx.label}-profile`, [alice, bob], async () => {
      const name = 'Alice Liddell';
      await openFromList(bob, ctx.room, ctx.roomName);
      await byTestId(alice.page, 'current-user').click();
      const editor = byTestId(alice.page, 'profile-editor');
      await editor.waitFor();
      await editor.getByLabel('Display name').fill(name);
      await editor.getByLabel('About you').fill('Down the rabbit hole.');
      await editor.locator('[data-testid="profile-save"]').click();
      await editor.locator('[data-testid="profile-feedback"]', { hasText: 'Profile saved.' }).waitFor();
      await editor.getByLabel('Profile picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: makePng(300, 200, 11) });
      await editor.locator('[data-testid="profile-feedback"]', { hasText: 'Picture updated.' }).waitFor();
      await editor.locator('.profile img[src^="/uploads/"]').waitFor();
      await byTestId(alice.page, 'current-user-name').filter({ hasText: name }).waitFor();
      await screenshot(alice.page, 'profile-editor');

      // The password: a wrong current one is refused in the form; the right one keeps her signed in.
      await editor.getByLabel('Current password').fill('not my password');
      await editor.getByLabel('New password', { exact: true }).fill('a brand new passphrase');
      await editor.getByLabel('Repeat the new password').fill('a brand new passphrase');
      await editor.locator('[data-testid="password-save"]').click();
      await editor.locator('[data-testid="password-current-error"]').waitFor();
      await editor.getByLabel('Current password').fill(alice.password ?? DEFAULT_PASSWORD);
      await editor.locator('[data-testid="password-save"]').click();
      await editor.locator('[data-testid="password-feedback"]', { hasText: 'Password changed' }).waitFor();
      alice.password = 'a brand new passphrase';
      await alice.page.keyboard.press('Escape');
      await editor.waitFor({ state: 'detached' });

      // Bob, without reloading: the direct chat in his list, her messages in the room, her profile.
      await listItem(bob.page, ctx.direct).filter({ hasText: name }).waitFor();
      await openFromList(alice, ctx.room, ctx.roomName);
      await sendMessage(alice, 'Curiouser and curiouser!');
      await seesMessage(bob, 'Curiouser and curiouser!');
      const item = storedMessage(bob.page, 'Curiouser and curiouser!').last();
      await item.locator('.message-sender', { hasText: name }).waitFor();
      await screenshot(bob.page, 'display-name-elsewhere');
      await openFromList(bob, ctx.direct, name);
      await byTestId(bob.page, 'conversation-profile-button').click();
      const profile = byTestId(bob.page, 'profile-dialog');
      await profile.waitFor();
      assert.equal((await profile.locator('[data-testid="profile-name"]').textContent()).trim(), name);
      assert.equal((await profile.locator('[data-testid="profile-username"]').textContent()).trim(), `@${alice.username}`);
      assert.equal((await profile.locator('[data-testid="profile-bio"]').textContent()).trim(), 'Down the rabbit hole.');
      await screenshot(bob.page, 'profile-dialog');
      await bob.page.keyboard.press('Escape');
      await profile.waitFor({ state: 'detached' });

      // On a phone-sized screen the profile editor fits the width.
      // (The conversation list, with the header, is the phone's first screen.)
      await alice.page.setViewportSize({ width: 390, height: 844 });
      await alice.page.goto(`${ctx.baseUrlOf(alice)}/`);
      await byTestId(alice.page, 'current-user').click();
      await editor.waitFor();
      const overflow = await alice.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at 390 px`);
      await screenshot(alice.page, 'phone-profile-editor');
      await alice.page.keyboard.press('Escape');
      await editor.waitFor({ state: 'detached' });
      await alice.page.setViewportSize({ width: 1280, height: 800 });
    });
  });

  it('signing out everywhere ends the open session: back to the sign-in page, with a notice', async () => {
    await step(`${ctx.label}-session-ended`, [carol], async () => {
      const res = await api(carol, 'POST', '/api/auth/logout-all');
      assert.equal(res.status, 204, `logout-all: ${JSON.stringify(res.body)}`);
      await carol.page.waitForURL((url) => url.pathname === '/login', { timeout: 10_000 });
      const notice = byTestId(carol.page, 'session-notice');
      await notice.waitFor();
      assert.match(await notice.textContent(), /signed out on all your devices/);
      const token = await carol.page.evaluate(() => localStorage.getItem('chat.access_token'));
      assert.equal(token, null, 'the access token is gone');
    });
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([ctx.alice, ctx.bob, carol]);
  });
});

// ---------------------------------------------------------------- short-lived access tokens

describe('web client with short-lived access tokens (ACCESS_TOKEN_TTL=70)', { timeout: 120_000 }, () => {
  const label = 'token-refresh';
  const dave = { name: 'dave', username: uniqueUsername('dave'), password: DEFAULT_PASSWORD };
  const daveAgain = { name: 'dave-tab-2', errors: [] };
  let server;
  let chromium;

  before(async () => {
    assertClientBuilt();
    server = await startServer({ db: 'sqlite', env: { CLIENT_DIR, ACCESS_TOKEN_TTL: '70' } });
    chromium = await launchBrowser();
  });

  after(async () => {
    await chromium?.close();
    await server?.stop();
  });

  it('the session refreshes its token by itself before it expires, once for all tabs', async () => {
    await step(label, [dave, daveAgain], async () => {
      await openUser(chromium.browser, dave);
      // Every new token goes to the open socket (`session:refresh`), which the server would
      // otherwise end when the token it connected with expires.
      const handedOver = [];
      const accepted = [];
      dave.page.on('websocket', (ws) => {
        ws.on('framesent', ({ payload }) => {
          if (String(payload).includes('"session:refresh"')) handedOver.push(String(payload));
        });
        ws.on('framereceived', ({ payload }) => {
          if (/^43\d+\[\{"success":true,"expires_at":\d+\}\]$/.test(String(payload))) accepted.push(String(payload));
        });
      });
      const refreshes = [];
      const unauthorized = [];
      dave.context.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/auth/refresh') {
          refreshes.push({ at: Date.now(), body: request.postData(), response: request.response() });
        }
      });
      dave.context.on('response', (response) => {
        if (response.status() === 401) unauthorized.push(`${response.request().method()} ${response.url()}`);
      });

      await register(dave, server.url);
      const registeredAt = Date.now();
      const firstToken = dave.token;
      const expiry = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
      // A second tab of the same browser shares the token and the refresh cookie.
      daveAgain.context = dave.context;
      daveAgain.page = await dave.context.newPage();
      daveAgain.page.on('pageerror', (err) => daveAgain.errors.push(`${daveAgain.name}: ${err.message}`));
      await daveAgain.page.goto(`${server.url}/`);
      await byTestId(daveAgain.page, 'current-user').filter({ hasText: dave.username }).waitFor();

      // 60 s before expiry is 10 s after the token was issued; then again 10 s after each refresh.
      const deadline = registeredAt + 25_000;
      while (refreshes.length < 2 && Date.now() < deadline) await dave.page.waitForTimeout(250);
      assert.ok(refreshes.length >= 2, `two refreshes within 25 s of registering, saw ${refreshes.length}`);
      const first = refreshes[0].at - registeredAt;
      assert.ok(first > 5_000 && first < 15_000, `the first refresh came ${first} ms after registering, expected about 10 s`);
      for (const refresh of refreshes) {
        assert.equal(refresh.body, '{}', 'the refresh token travels in the cookie');
        const response = await refresh.response;
        assert.equal(response?.status(), 200, 'every refresh is accepted (refresh tokens rotate: no tab re-used one)');
        const answer = await response.json();
        assert.equal(typeof answer.token, 'string');
        assert.equal(answer.refresh_token, undefined, 'the refresh token stays in the HttpOnly cookie, out of reach of scripts');
      }
      // Both tabs' timers were due at the same moment; the tabs made one request for each turn.
      const elapsed = Date.now() - registeredAt;
      assert.ok(refreshes.length <= Math.floor(elapsed / 10_000) + 1, `${refreshes.length} refreshes in ${elapsed} ms`);

      const token = await dave.page.evaluate(() => localStorage.getItem('chat.access_token'));
      assert.notEqual(token, firstToken, 'the stored token was replaced');
      assert.ok(expiry(token) > expiry(firstToken), 'the new token expires later');
      assert.deepEqual(unauthorized, [], 'no request had to fail with 401 first');
      assert.ok(handedOver.length >= 1, 'the new token was not handed to the open socket');
      assert.ok(accepted.length >= 1, `the server did not take the new token: ${JSON.stringify(handedOver)}`);

      // The app still works in both tabs: REST (a new room) and the socket (a message in it).
      for (const user of [dave, daveAgain]) {
        assert.equal(new URL(user.page.url()).pathname, '/', `${user.name} is still signed in`);
      }
      const room = await createGroup(dave, { name: `Refresh ${randomBytes(3).toString('hex')}`, isPublic: true });
      const text = 'Still here after the token was refreshed.';
      await sendMessage(dave, text);
      await listItem(daveAgain.page, room).locator('[data-testid="conversation-preview"]', { hasText: text }).waitFor();
      for (const user of [dave, daveAgain]) {
        assert.equal(await byTestId(user.page, 'connection-banner').count(), 0, `${user.name} is connected`);
      }
    });
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([dave, daveAgain]);
  });
});

// ---------------------------------------------------------------- two instances behind nginx

const missing = await missingForCluster();
const clusterSkip = missing.length && !CI ? `nginx setup skipped: ${missing.join('; ')}` : false;
if (clusterSkip) process.stderr.write(`${clusterSkip}\n`);

describe('web client against two instances behind nginx, one user on each', { skip: clusterSkip, timeout: 120_000 }, () => {
  const ctx = { label: 'nginx' };
  let deployment;
  let chromium;

  before(async () => {
    assert.deepEqual(missing, [], `CI=true and the nginx setup cannot run: ${missing.join('; ')}`);
    assertClientBuilt();
    deployment = await twoInstancesBehindNginx(CLIENT_DIR);
    chromium = await launchBrowser();
    ctx.browser = chromium.browser;
    ctx.baseUrlOf = deployment.baseUrlOf;
    ctx.serverUrl = deployment.nginx.url;
  });

  after(async () => {
    await chromium?.close();
    await deployment?.stop();
  });

  twoUserExchange(ctx, { screenshots: false });

  it('each user\'s Socket.IO traffic went to their own instance only', async () => {
    // Closing the pages makes nginx log the WebSocket requests too.
    for (const user of [ctx.alice, ctx.bob]) await user.context?.close();
    deployment.assertOwnInstances();
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([ctx.alice, ctx.bob]);
  });
});
