// Web Push in the web client, in headless Chromium with its real service worker (client/public/sw.js):
// turning on "Notifications on this device" (the subscription goes to the server, and the switch is
// still on after a reload), a push the server really sent (to a loopback push service,
// lib/pushService.js, which checks its VAPID token and decrypts it) delivered to the service worker
// through the DevTools protocol and shown as a notification, none for the conversation on screen, a
// click on the notification bringing its conversation on screen, `/?conversation=<id>` at load,
// turning the switch off and signing out removing the subscription, and the installable web app
// (manifest, icons). Screenshots go to e2e/artifacts/screenshots/ (push-switch-on,
// push-notification-opened, push-switch-phone).
//
// Chromium's own PushManager.subscribe() needs its vendor's push service, which cannot be reached
// here: the page's PushManager is replaced (before the app loads) by one that hands out a
// subscription of the loopback push service, with real keys. Everything else is the browser's own:
// the notification permission (granted to the origin), the service worker, its push and click
// events and the notifications it shows.
//
// Needs: the built client (cd client && npm ci && npm run build), the server binary (CHAT_SERVER_BIN
// or CARGO_TARGET_DIR, see lib/server.js), Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
// Run: node --test --test-concurrency=1 browser/push.test.js

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_PASSWORD, REPO_ROOT, sleep, startServer, uniqueUsername } from '../lib/server.js';
import { startPushService } from '../lib/pushService.js';
import { UI_TIMEOUT_MS, launchBrowser, openUser, screenshot, step } from './lib/browser.js';
import {
  byTestId,
  createGroup,
  listItem,
  openFromList,
  openedConversation,
  register,
  sendMessage,
  signIn,
  startDirectChat,
} from './lib/ui.js';

const CLIENT_DIR = path.join(REPO_ROOT, 'client', 'dist');
/** How long the server waits for more messages of a conversation before it pushes. */
const COLLAPSE_MS = 300;
/** Long enough for a push that was going to be sent to have arrived. */
const QUIET_MS = COLLAPSE_MS + 2_000;
/** Where the replaced PushManager keeps its subscription (it lasts across reloads, like a real one). */
const FAKE_SUBSCRIPTION_KEY = 'e2e.push-subscription';

/**
 * Runs in the page before the app: a PushManager whose subscribe() hands out `device` (a
 * subscription of the loopback push service) and remembers it, with the options it was given, in
 * localStorage. Also counts calls of Notification.requestPermission().
 */
function replacePushManager({ storageKey, device }) {
  if (typeof PushManager === 'undefined' || typeof Notification === 'undefined') return;
  const toBase64Url = (bytes) =>
    btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const fromBase64Url = (text) => {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  };
  const subscription = (stored) => ({
    endpoint: stored.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: stored.userVisibleOnly, applicationServerKey: fromBase64Url(stored.applicationServerKey).buffer },
    getKey: (name) => fromBase64Url(name === 'auth' ? stored.keys.auth : stored.keys.p256dh).buffer,
    toJSON: () => ({ endpoint: stored.endpoint, expirationTime: null, keys: { ...stored.keys } }),
    unsubscribe: async () => {
      localStorage.removeItem(storageKey);
      return true;
    },
  });
  PushManager.prototype.subscribe = async function subscribe(options = {}) {
    const key = options.applicationServerKey;
    const bytes = key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
    const stored = { ...device, userVisibleOnly: options.userVisibleOnly, applicationServerKey: toBase64Url(bytes) };
    localStorage.setItem(storageKey, JSON.stringify(stored));
    return subscription(stored);
  };
  PushManager.prototype.getSubscription = async function getSubscription() {
    const stored = localStorage.getItem(storageKey);
    return stored ? subscription(JSON.parse(stored)) : null;
  };
  window.__permissionRequests = 0;
  const request = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => {
    window.__permissionRequests += 1;
    return request(...args);
  };
}

/** Collects the page's console errors too (uncaught errors are in `user.errors` already). */
function watchConsole(user) {
  user.page.on('console', (message) => {
    if (message.type() === 'error') user.errors.push(`${user.name} console: ${message.text()}`);
  });
}

/** The subscription the replaced PushManager holds in `page`, or null. */
const storedSubscription = (page) => page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? 'null'), FAKE_SUBSCRIPTION_KEY);

/** The notifications the service worker shows, read by the page. */
const notifications = (page) =>
  page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, icon: n.icon, badge: n.badge, data: n.data }));
  });

/** Resolves once the page's request `method path` is answered; to be created before the action. */
const answerTo = (page, method, pathname) =>
  page.waitForResponse((res) => res.request().method() === method && new URL(res.url()).pathname === pathname, { timeout: UI_TIMEOUT_MS });

/** Opens the profile dialog and resolves to the switch once it shows a settled state. */
async function openSwitch(page) {
  await byTestId(page, 'current-user').click();
  const settings = byTestId(page, 'push-settings');
  await settings.waitFor();
  const toggle = settings.getByRole('switch', { name: 'Notifications on this device' });
  await page.locator('[data-testid="push-switch"]:not([data-state="loading"])').waitFor();
  return toggle;
}

async function closeDialog(page) {
  await page.keyboard.press('Escape');
  await byTestId(page, 'profile-editor').waitFor({ state: 'detached' });
}

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(bytes) {
  assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG', 'a PNG file');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe('notifications on this device (Web Push) and the installable app', { timeout: 150_000 }, () => {
  const alice = { name: 'alice', username: uniqueUsername('alice'), password: DEFAULT_PASSWORD };
  const bob = { name: 'bob', username: uniqueUsername('bob'), password: DEFAULT_PASSWORD };
  const users = [alice, bob];
  const groupName = `Team ${randomBytes(3).toString('hex')}`;
  let pushService;
  let device;
  let server;
  let chromium;
  let vapidKey;
  let direct;
  let group;
  let pushed;

  before(async () => {
    assert.ok(
      existsSync(path.join(CLIENT_DIR, 'index.html')),
      `the web client is not built (${CLIENT_DIR}/index.html is missing): cd client && npm ci && npm run build`,
    );
    pushService = await startPushService();
    device = pushService.subscription();
    server = await startServer({
      db: 'sqlite',
      // The push service listens on loopback, which the server refuses as an endpoint unless told.
      env: { CLIENT_DIR, PUSH_COLLAPSE_MS: String(COLLAPSE_MS), PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' },
    });
    const res = await fetch(`${server.url}/api/push/vapid-public-key`);
    const body = await res.json().catch(() => null);
    assert.equal(res.status, 200, `GET /api/push/vapid-public-key answers ${res.status} ${JSON.stringify(body)}: the server sends no Web Push`);
    vapidKey = body.key;
    assert.equal(Buffer.from(vapidKey, 'base64url').length, 65, 'the VAPID key is an uncompressed P-256 point');
    pushService.expectVapidKey(vapidKey);
    chromium = await launchBrowser();
  });

  after(async () => {
    await chromium?.close();
    await server?.stop();
    await pushService?.close();
  });

  it('alice and bob register; alice has a direct chat with bob and a group with him', async () => {
    await step('push-setup', users, async () => {
      await openUser(chromium.browser, alice);
      await alice.context.grantPermissions(['notifications'], { origin: server.url });
      await alice.context.addInitScript(replacePushManager, {
        storageKey: FAKE_SUBSCRIPTION_KEY,
        device: { endpoint: device.endpoint, keys: device.keys },
      });
      watchConsole(alice);
      await openUser(chromium.browser, bob);
      watchConsole(bob);
      await register(alice, server.url);
      await register(bob, server.url);
      direct = await startDirectChat(alice, bob);
      group = await createGroup(alice, { name: groupName, members: [bob] });
      await openFromList(bob, direct, alice.username);
    });
  });

  it('the service worker is active at /sw.js for the whole app, and nothing asked for the permission on load', async () => {
    await step('push-service-worker', [alice], async () => {
      const worker = await alice.page.evaluate(async () => {
        const registration = await navigator.serviceWorker.ready;
        return { scope: registration.scope, script: registration.active?.scriptURL, state: registration.active?.state };
      });
      assert.deepEqual(worker, { scope: `${server.url}/`, script: `${server.url}/sw.js`, state: 'activated' });
      assert.equal(await alice.page.evaluate(() => window.__permissionRequests), 0, 'no permission request without the user');
    });
  });

  it('alice turns on "Notifications on this device": subscribed with the server key, posted (201), still on after a reload', async () => {
    await step('push-switch-on', [alice], async () => {
      const { page } = alice;
      const toggle = await openSwitch(page);
      assert.equal(await toggle.isChecked(), false);
      assert.equal(await toggle.isEnabled(), true);

      const posted = answerTo(page, 'POST', '/api/push/subscriptions');
      await toggle.click();
      const res = await posted;
      assert.equal(res.status(), 201, await res.text());
      assert.deepEqual(res.request().postDataJSON(), device.toJSON(), 'the body is PushSubscription.toJSON()');
      const answer = await res.json();
      assert.equal(answer.endpoint, device.endpoint);
      if ('created_at' in answer) assert.ok(!Number.isNaN(Date.parse(answer.created_at)), JSON.stringify(answer));
      await page.locator('[data-testid="push-switch"][data-state="on"]').waitFor();
      assert.equal(await toggle.isChecked(), true);
      assert.equal(await toggle.getAttribute('aria-describedby').then((id) => page.locator(`[id="${id}"]`).innerText()), 'New messages are announced here, also while the app is closed.');
      const stored = await storedSubscription(page);
      assert.equal(stored.applicationServerKey, vapidKey, 'subscribed with the server\'s VAPID key');
      assert.equal(stored.userVisibleOnly, true);
      await screenshot(page, 'push-switch-on');

      // Off and on again from the keyboard: Space toggles the focused switch.
      const removed = answerTo(page, 'DELETE', '/api/push/subscriptions');
      await toggle.focus();
      await page.keyboard.press('Space');
      assert.equal((await removed).status(), 204);
      assert.deepEqual((await removed).request().postDataJSON(), { endpoint: device.endpoint });
      await page.locator('[data-testid="push-switch"][data-state="off"]').waitFor();
      assert.equal(await storedSubscription(page), null, 'turning it off unsubscribes');
      const again = answerTo(page, 'POST', '/api/push/subscriptions');
      await page.keyboard.press('Space');
      assert.equal((await again).status(), 201);
      await page.locator('[data-testid="push-switch"][data-state="on"]').waitFor();
      await closeDialog(page);

      // The browser's subscription is the switch's state; the server hears of it again at start.
      const resent = answerTo(page, 'POST', '/api/push/subscriptions');
      await page.reload();
      assert.equal((await resent).status(), 201);
      assert.equal(await (await openSwitch(page)).isChecked(), true, 'still on after a reload');
      await closeDialog(page);
    });
  });

  it('with alice away, bob\'s message reaches her push service; delivered to her browser it shows a notification, and none for the chat on screen', async () => {
    await step('push-delivery', users, async () => {
      // Alice's socket goes with her page; her service worker stays registered in the browser.
      await alice.page.close();
      await sleep(500);
      pushService.reset();
      await sendMessage(bob, 'Lunch at noon?');
      await pushService.waitFor(() => pushService.pushesFor(device).length >= 1, 15_000);
      [pushed] = pushService.pushesFor(device);
      assert.equal(pushed.payload.type, 'message');
      assert.equal(pushed.payload.conversation_id, direct);
      assert.equal(pushed.payload.title, bob.username);
      assert.equal(pushed.payload.url, `/?conversation=${direct}`);

      // Back, looking at the group.
      const page = await alice.context.newPage();
      page.on('pageerror', (err) => alice.errors.push(`${alice.name}: ${err.message}`));
      alice.page = page;
      watchConsole(alice);
      const cdp = await alice.context.newCDPSession(page);
      const registrations = [];
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => registrations.push(...updated));
      await cdp.send('ServiceWorker.enable');
      await page.goto(`${server.url}/c/${group}`);
      await openedConversation(alice, group, groupName);
      await page.evaluate(() => navigator.serviceWorker.ready);
      const registrationId = registrations.find((r) => !r.isDeleted && r.scopeURL === `${server.url}/`)?.registrationId;
      assert.ok(registrationId !== undefined, `a service worker registration: ${JSON.stringify(registrations)}`);
      assert.deepEqual(await notifications(page), []);
      const deliver = (data) => cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data });

      // A push for the group, which alice is looking at, then bob's, as the server sent it.
      await deliver(JSON.stringify({ ...pushed.payload, conversation_id: group, title: groupName, conversation_name: groupName, url: `/?conversation=${group}` }));
      await deliver(pushed.text);
      const deadline = Date.now() + UI_TIMEOUT_MS;
      let shown = [];
      while (shown.length === 0 && Date.now() < deadline) {
        await sleep(100);
        shown = await notifications(page);
      }
      await sleep(300);
      shown = await notifications(page);
      assert.deepEqual(shown, [
        {
          title: bob.username,
          body: pushed.payload.body,
          tag: `conversation-${direct}`,
          icon: `${server.url}/icons/icon-192.png`,
          badge: `${server.url}/icons/badge-96.png`,
          data: { conversation_id: direct, url: `${server.url}/?conversation=${direct}` },
        },
      ], 'one notification, for the direct chat only');
      await cdp.detach();
    });
  });

  it('clicking the notification brings the direct chat on screen', async () => {
    await step('push-click', [alice], async () => {
      const { page } = alice;
      let [worker] = alice.context.serviceWorkers();
      if (!worker) {
        // Stopped while idle: started again, as the browser does for a click.
        const cdp = await alice.context.newCDPSession(page);
        const started = alice.context.waitForEvent('serviceworker', { timeout: UI_TIMEOUT_MS });
        await cdp.send('ServiceWorker.startWorker', { scopeURL: `${server.url}/` });
        worker = await started;
        await cdp.detach();
      }
      const dispatched = await worker.evaluate(async (tag) => {
        const [notification] = await self.registration.getNotifications({ tag });
        if (!notification) return false;
        self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
        return true;
      }, `conversation-${direct}`);
      assert.equal(dispatched, true);
      await page.waitForURL((url) => url.pathname === `/c/${direct}`, { timeout: UI_TIMEOUT_MS });
      await openedConversation(alice, direct, bob.username);
      await byTestId(page, 'conversation-view').locator('[data-testid="message-item"]', { hasText: 'Lunch at noon?' }).waitFor();
      assert.deepEqual(await notifications(page), [], 'the clicked notification is closed');
      await screenshot(page, 'push-notification-opened');
    });
  });

  it('the address of a notification, /?conversation=<id>, opens that conversation at load; one the user is not in is dropped', async () => {
    await step('push-address', [alice], async () => {
      const { page } = alice;
      await page.goto(`${server.url}/?conversation=${group}`);
      await page.waitForURL((url) => url.pathname === `/c/${group}` && url.search === '', { timeout: UI_TIMEOUT_MS });
      await openedConversation(alice, group, groupName);
      await page.goto(`${server.url}/?conversation=999999`);
      await page.waitForURL((url) => url.pathname === '/' && url.search === '', { timeout: UI_TIMEOUT_MS });
      await listItem(page, direct).waitFor();
    });
  });

  it('signing out deletes the subscription (204) before the session ends, then unsubscribes; no push comes any more', async () => {
    await step('push-sign-out', users, async () => {
      const { page } = alice;
      const order = [];
      page.on('request', (request) => {
        const { pathname } = new URL(request.url());
        if (pathname === '/api/push/subscriptions' || pathname === '/api/auth/logout') order.push(`${request.method()} ${pathname}`);
      });
      const removed = answerTo(page, 'DELETE', '/api/push/subscriptions');
      await byTestId(page, 'logout-button').click();
      const res = await removed;
      assert.equal(res.status(), 204);
      assert.deepEqual(res.request().postDataJSON(), { endpoint: device.endpoint });
      await byTestId(page, 'login-form').waitFor();
      assert.equal(order[0], 'DELETE /api/push/subscriptions', `requests in order: ${order.join(', ')}`);
      assert.ok(order.includes('POST /api/auth/logout'), `requests in order: ${order.join(', ')}`);
      assert.equal(await storedSubscription(page), null, 'the browser dropped the subscription');

      pushService.reset();
      await sendMessage(bob, 'Are you still there?');
      await sleep(QUIET_MS);
      assert.deepEqual(pushService.pushesFor(device), [], 'no push after signing out');
    });
  });

  it('the app is installable: manifest, icons, theme colour; no installability errors', async () => {
    await step('push-installable', [alice], async () => {
      const { page } = alice;
      const head = await page.evaluate(() => ({
        manifest: document.querySelector('link[rel="manifest"]')?.getAttribute('href'),
        theme: document.querySelector('meta[name="theme-color"]')?.getAttribute('content'),
        appleIcon: document.querySelector('link[rel="apple-touch-icon"]')?.getAttribute('href'),
      }));
      assert.deepEqual(head, { manifest: '/manifest.webmanifest', theme: '#2455d6', appleIcon: '/icons/apple-touch-icon.png' });
      const res = await fetch(`${server.url}${head.manifest}`);
      assert.equal(res.status, 200);
      const manifest = await res.json();
      assert.equal(manifest.start_url, '/');
      assert.equal(manifest.display, 'standalone');
      assert.equal(manifest.theme_color, '#2455d6');
      const icons = [...manifest.icons, { src: head.appleIcon, sizes: '180x180', purpose: 'any' }];
      assert.ok(manifest.icons.some((icon) => icon.sizes === '192x192'));
      assert.ok(manifest.icons.some((icon) => icon.sizes === '512x512' && icon.purpose === 'any'));
      assert.ok(manifest.icons.some((icon) => icon.purpose === 'maskable'));
      for (const icon of icons) {
        const image = await fetch(`${server.url}${icon.src}`);
        assert.equal(image.status, 200, icon.src);
        assert.equal(image.headers.get('content-type'), 'image/png', icon.src);
        const { width, height } = pngSize(Buffer.from(await image.arrayBuffer()));
        assert.equal(`${width}x${height}`, icon.sizes, icon.src);
      }

      const cdp = await alice.context.newCDPSession(page);
      const { errors } = await cdp.send('Page.getAppManifest');
      assert.deepEqual(errors, [], 'Chromium reads the manifest without errors');
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      // Every browser context of the tests is off the record, which alone keeps Chromium from installing.
      const blocking = installabilityErrors.filter((e) => e.errorId !== 'in-incognito');
      assert.deepEqual(blocking, [], 'nothing else keeps Chromium from installing the app');
      await cdp.detach();
    });
  });

  it('on a phone the switch fits the screen and says why when notifications are blocked', async () => {
    const phone = { name: 'alice-phone', username: alice.username, password: alice.password };
    await step('push-phone', [phone], async () => {
      await openUser(chromium.browser, phone, { phone: true });
      watchConsole(phone);
      await signIn(phone, server.url);
      const toggle = await openSwitch(phone.page);
      assert.equal(await toggle.isChecked(), false, 'another browser has no subscription');
      const box = await toggle.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the switch is on screen: ${JSON.stringify(box)}`);
      await screenshot(phone.page, 'push-switch-phone');
      await closeDialog(phone.page);

      // Refused in the browser's settings (as the site's permission prompt or settings page would):
      // the switch is off, cannot be used, and says why.
      const cdp = await phone.context.newCDPSession(phone.page);
      const { targetInfo } = await cdp.send('Target.getTargetInfo');
      await cdp.send('Browser.setPermission', {
        permission: { name: 'notifications' },
        setting: 'denied',
        origin: server.url,
        browserContextId: targetInfo.browserContextId,
      });
      assert.equal(await phone.page.evaluate(() => Notification.permission), 'denied');
      const blocked = await openSwitch(phone.page);
      assert.equal(await blocked.isDisabled(), true);
      await byTestId(phone.page, 'push-status').filter({ hasText: "Notifications are blocked in this browser's settings." }).waitFor();
      // The setting lasts as long as the DevTools session that made it.
      await cdp.detach();
    });
    await phone.context?.close();
    assert.deepEqual(phone.errors ?? [], [], 'errors in the phone page');
  });

  it('no uncaught errors or console errors in any page', () => {
    assert.deepEqual(users.flatMap((u) => u.errors ?? []), []);
  });
});
