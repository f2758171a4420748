// Headless Chromium for the web client tests: started as a child process with a known PID
// (playwright-core's launchServer), driven over its WebSocket endpoint, and always stopped by PID.
//
// Environment:
//   CHROMIUM_PATH    the Chromium binary (default /usr/bin/chromium)

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const E2E_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS_DIR = path.join(E2E_ROOT, 'artifacts');
export const SCREENSHOTS_DIR = path.join(ARTIFACTS_DIR, 'screenshots');
export const FAILURES_DIR = path.join(ARTIFACTS_DIR, 'failures');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  // Microphone access granted without asking, from a fake device (a beep): voice messages.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
];

/** Default bound of every wait on a page (ms). */
export const UI_TIMEOUT_MS = 10_000;

// Browsers still running when the test process exits are killed by PID (with their process
// group: Chromium's renderers and helpers), so an aborted run leaves nothing behind.
const livePids = new Set();
process.on('exit', () => {
  for (const pid of livePids) killTree(pid);
});

function killTree(pid) {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Chromium and connects to it. Resolves to `{browser, pid, close()}`; `close()` closes the
 * browser and makes sure its process is gone.
 *
 * With `grantMediaPrompts: false` the camera and microphone are no longer granted to every page
 * that asks: only to contexts given the `camera` / `microphone` permissions (`openUser`'s
 * `permissions`); the others are refused (`NotAllowedError`). The fake devices stay.
 */
export async function launchBrowser({ grantMediaPrompts = true } = {}) {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
  const server = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: grantMediaPrompts ? CHROMIUM_ARGS : CHROMIUM_ARGS.filter((arg) => arg !== '--use-fake-ui-for-media-stream'),
    timeout: 30_000,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const pid = server.process().pid;
  livePids.add(pid);
  let browser;
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: 30_000 });
  } catch (err) {
    killTree(pid);
    livePids.delete(pid);
    throw err;
  }
  let closed = false;
  return {
    browser,
    pid,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.race([
        (async () => {
          await browser.close().catch(() => {});
          await server.close().catch(() => {});
        })(),
        new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
      ]);
      const deadline = Date.now() + 5_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      killTree(pid);
      livePids.delete(pid);
    },
  };
}

/**
 * Gives `user` (an object with a `name`) a browser context of its own (cookies, localStorage) and
 * one page in it (a desktop window, or with `phone` a touch screen 390 px wide): `user.context`, `user.page`, and the pages' uncaught errors in `user.errors`.
 * `permissions` (e.g. `['camera', 'microphone']`) are granted to every origin of the context.
 */
export async function openUser(browser, user, { phone = false, permissions = [] } = {}) {
  const context = await browser.newContext(
    phone
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-GB' }
      : { viewport: { width: 1280, height: 800 }, locale: 'en-GB' },
  );
  if (permissions.length) await context.grantPermissions(permissions);
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(20_000);
  Object.assign(user, { context, page: null, errors: [] });
  await newPage(user);
  return user;
}

/** Opens another page in the user's context (after the previous one was closed). */
export async function newPage(user) {
  const page = await user.context.newPage();
  page.on('pageerror', (err) => user.errors.push(`${user.name}: ${err.message}`));
  user.page = page;
  return page;
}

function safeName(name) {
  return name.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 80);
}

/** Saves a screenshot of `page` as `<dir>/<name>.png`. */
export async function screenshot(page, name, dir = SCREENSHOTS_DIR) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${safeName(name)}.png`);
  await page.screenshot({ path: file, fullPage: false, timeout: UI_TIMEOUT_MS, animations: 'disabled' });
  return file;
}

/**
 * Runs `fn`; when it throws, saves a screenshot of every open page of `users` under
 * artifacts/failures/ and rethrows with `label` in front of the message.
 */
export async function step(label, users, fn) {
  try {
    return await fn();
  } catch (err) {
    const saved = [];
    for (const user of users.filter(Boolean)) {
      if (!user.page || user.page.isClosed()) continue;
      try {
        saved.push(await screenshot(user.page, `${label}-${user.name}`, FAILURES_DIR));
      } catch {
        /* the page may be gone */
      }
    }
    const where = saved.length ? `\n(screenshots: ${saved.map((f) => path.relative(E2E_ROOT, f)).join(', ')})` : '';
    const error = new Error(`${label}: ${err.message}${where}`);
    error.cause = err;
    throw error;
  }
}
