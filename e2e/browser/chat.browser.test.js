// The web client (client/dist, served by the chat server or by nginx) in headless Chromium, with
// each user in a browser context of their own: registering through the form, a direct chat started
// by user search, messages both ways, "is typing", read marks, the presence dot going and coming
// back, an image attached through the file input, and a public room whose new member is announced
// to the others. Screenshots of the main screens go to e2e/artifacts/screenshots/.
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
import { ChatServer, DEFAULT_PASSWORD, REPO_ROOT, startServer, uniqueUsername } from '../lib/server.js';
import { FAILURES_DIR, launchBrowser, newPage, openUser, screenshot, step } from './lib/browser.js';
import {
  Nginx,
  REDIS_URL,
  addressesPerUpstream,
  deleteRedisKeys,
  missingForCluster,
  relay,
  sharedDatabase,
  tempDir,
} from './lib/cluster.js';
import { makePng } from './lib/png.js';
import {
  api,
  attachImage,
  byTestId,
  listItem,
  openFromList,
  openedConversation,
  pressEnterAndWaitStored,
  register,
  seesMessage,
  seesNewestImage,
  seesPeerPresence,
  seesReadMark,
  sendMessage,
  startDirectChat,
  typeDraft,
  typingLineIs,
} from './lib/ui.js';

const CI = process.env.CI === 'true';
rmSync(FAILURES_DIR, { recursive: true, force: true }); // screenshots of an earlier run's failures
const CLIENT_DIR = path.join(REPO_ROOT, 'client', 'dist');
const THUMBNAIL_PATH = /^\/uploads\/[0-9a-f]{64}_thumb\.png$/;

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

  it('alice sends an image through the file input; both see its thumbnail', async () => {
    await step(`${ctx.label}-image`, both, async () => {
      await assertUploadEndpoint(ctx.serverUrl);
      // Something that is not an image is refused, and the client says so.
      await alice.page.locator('[data-testid="image-input"]').setInputFiles({
        name: 'notes.png',
        mimeType: 'image/png',
        buffer: Buffer.from('these are not the pixels you are looking for\n'),
      });
      const refused = alice.page.locator('[data-testid="upload-error"]');
      await refused.waitFor();
      assert.match(await refused.textContent(), /^The image was not sent: \S/);
      assert.equal(await alice.page.locator('[data-testid="message-image"]').count(), 0, 'nothing was sent');

      await attachImage(alice, makePng(120, 80, Math.floor(Math.random() * 1000)), 'gradient.png');
      await refused.waitFor({ state: 'detached' });
      for (const user of both) {
        const image = await seesNewestImage(user);
        assert.match(image.src, THUMBNAIL_PATH, `${user.name}'s image shows the thumbnail`);
        assert.equal(image.type, 'image/png');
        assert.deepEqual([image.naturalWidth, image.naturalHeight], [120, 80], 'a small image is its own thumbnail');
      }
      const own = alice.page.locator('[data-testid="message-item"].own [data-testid="message-image"]');
      assert.equal(await own.count(), 1);
      if (screenshots) await screenshot(alice.page, 'conversation-view');
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

  it('a third user joins a public room from the room list; the others see the join notice', async () => {
    const { alice, bob } = ctx;
    carol = { name: 'carol', username: uniqueUsername('carol'), password: DEFAULT_PASSWORD };
    await step(`${ctx.label}-room`, [alice, bob, carol], async () => {
      await openUser(ctx.browser, carol);
      await register(carol, server.url);

      // The client has no screen to create a public room or to browse rooms: the REST API,
      // called by the pages themselves, stands in for those two screens.
      const name = `Lobby ${randomBytes(3).toString('hex')}`;
      const created = await api(alice, 'POST', '/api/conversations', { type: 'group', name, is_public: true, member_ids: [bob.id] });
      assert.equal(created.status, 201, `create the public room: ${JSON.stringify(created.body)}`);
      const room = created.body.id;
      await openFromList(alice, room, name);
      await openFromList(bob, room, name);

      const rooms = await api(carol, 'GET', '/api/rooms');
      assert.equal(rooms.status, 200, JSON.stringify(rooms.body));
      const listed = rooms.body.rooms.find((r) => r.id === room);
      assert.ok(listed, `the room is listed for carol: ${JSON.stringify(rooms.body)}`);
      assert.equal(listed.is_member, false);
      assert.equal(listed.member_count, 2);
      const joined = await api(carol, 'POST', `/api/conversations/${room}/join`);
      assert.equal(joined.status, 200, `join: ${JSON.stringify(joined.body)}`);

      const notice = `${carol.username} joined`;
      for (const user of [alice, bob]) {
        const system = user.page.locator('[data-testid="conversation-view"] [data-testid="message-item"].system', { hasText: notice });
        await system.waitFor();
        await user.page.locator('[data-testid="conversation-subtitle"]', { hasText: /^3 members/ }).waitFor();
      }
      // conversation:new puts the room in carol's list; she opens it and sees the same notice.
      await openFromList(carol, room, name);
      await carol.page.locator('[data-testid="message-item"].system', { hasText: notice }).waitFor();

      // The list beside it: the room, then the direct chat (newest activity first).
      const ids = await alice.page.locator('[data-testid="conversation-item"]').evaluateAll((items) =>
        items.map((item) => Number(item.getAttribute('data-conversation-id'))),
      );
      assert.deepEqual(ids, [room, ctx.direct], 'alice\'s list, newest activity first');
      await listItem(alice.page, room).locator('[data-testid="conversation-preview"]', { hasText: notice }).waitFor();
      await screenshot(alice.page, 'room-view');
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

describe('web client against two instances behind nginx, one user on each', { skip: clusterSkip, timeout: 120_000 }, () => {
  const ctx = { label: 'nginx' };
  let env;
  let db;
  let uploads;
  let servers = [];
  let nginx;
  let relays = [];
  let chromium;
  const upstreamOf = new Map(); // user name -> instance host:port

  before(async () => {
    assert.deepEqual(missing, [], `CI=true and the nginx setup cannot run: ${missing.join('; ')}`);
    assertClientBuilt();
    uploads = tempDir('chat-uploads-');
    env = {
      REDIS_URL,
      REDIS_PREFIX: `chat_e2e_${randomBytes(6).toString('hex')}`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      SHUTDOWN_TIMEOUT: '5',
      UPLOAD_DIR: uploads.dir,
      CLIENT_DIR,
    };
    db = sharedDatabase();
    // The first instance applies the migrations, the second starts on the migrated database.
    servers.push(new ChatServer({ database: db, env }));
    await servers[0].start();
    servers.push(new ChatServer({ database: db, env }));
    await servers[1].start();
    const upstreams = servers.map((s) => new URL(s.url).host);
    nginx = new Nginx({ upstreams, clientDir: CLIENT_DIR });
    await nginx.start();
    // nginx pins a client to an instance by its address: alice comes from an address that lands on
    // the first instance, bob from one that lands on the second.
    const addresses = await addressesPerUpstream(nginx, upstreams);
    const target = `127.0.0.1:${nginx.port}`;
    relays = [await relay(target, addresses.get(upstreams[0])), await relay(target, addresses.get(upstreams[1]))];
    upstreamOf.set('alice', upstreams[0]);
    upstreamOf.set('bob', upstreams[1]);
    chromium = await launchBrowser();
    ctx.browser = chromium.browser;
    ctx.baseUrlOf = (user) => (user.name === 'alice' ? relays[0].url : relays[1].url);
    ctx.serverUrl = nginx.url;
  });

  after(async () => {
    await chromium?.close();
    for (const r of relays) await r.stop();
    await nginx?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    db?.drop();
    uploads?.remove();
    if (env) deleteRedisKeys(env.REDIS_PREFIX);
  });

  twoUserExchange(ctx, { screenshots: false });

  it('each user\'s Socket.IO traffic went to their own instance only', async () => {
    // Close the pages so that nginx logs the WebSocket requests too.
    for (const user of [ctx.alice, ctx.bob]) await user.context?.close();
    const byClient = nginx.upstreamsByClient('/socket.io/');
    for (const [i, name] of ['alice', 'bob'].entries()) {
      const seen = byClient.get(relays[i].localAddress);
      assert.ok(seen, `no Socket.IO request from ${name}'s address ${relays[i].localAddress} in the nginx log`);
      assert.deepEqual([...seen], [upstreamOf.get(name)], `instances that served ${name}`);
    }
    assert.notEqual(upstreamOf.get('alice'), upstreamOf.get('bob'));
  });

  it('no uncaught errors in any page', () => {
    assertNoPageErrors([ctx.alice, ctx.bob]);
  });
});
