// What a user does in the web client, through its data-testid hooks (client/README.md), and what
// they should see. Every wait is bounded (UI_TIMEOUT_MS unless given).

import assert from 'node:assert/strict';
import { DEFAULT_PASSWORD } from '../../lib/server.js';
import { UI_TIMEOUT_MS, screenshot } from './browser.js';

const TOKEN_KEY = 'chat.access_token';

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

/** The conversation list entry of conversation `id`. */
export const listItem = (page, id) => page.locator(`[data-testid="conversation-item"][data-conversation-id="${id}"]`);

/** Stored messages (acknowledged by the server) of the open conversation containing `text`. */
export const storedMessage = (page, text) =>
  page.locator('[data-testid="conversation-view"] [data-testid="message-item"][data-status="sent"]', { hasText: text });

/**
 * Registers `user` through the register form. With `screenshots`, starts from the site root
 * (which sends an anonymous visitor to the sign-in page), follows the link to the register page and
 * saves both screens.
 */
export async function register(user, baseUrl, { screenshots = false } = {}) {
  const { page } = user;
  if (screenshots) {
    await page.goto(`${baseUrl}/`);
    await byTestId(page, 'login-form').waitFor();
    assert.match(new URL(page.url()).pathname, /^\/login$/, 'an anonymous visitor is sent to /login');
    await screenshot(page, 'login');
    await page.getByRole('link', { name: 'Create an account' }).click();
  } else {
    await page.goto(`${baseUrl}/register`);
  }
  await byTestId(page, 'register-form').waitFor();
  await byTestId(page, 'register-username').fill(user.username);
  await byTestId(page, 'register-email').fill(`${user.username}@example.com`);
  await byTestId(page, 'register-password').fill(user.password ?? DEFAULT_PASSWORD);
  if (screenshots) await screenshot(page, 'register');
  await byTestId(page, 'register-submit').click();
  await page.waitForURL((url) => url.pathname === '/', { timeout: UI_TIMEOUT_MS });
  await byTestId(page, 'current-user').filter({ hasText: user.username }).waitFor();
  user.token = await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY);
  assert.ok(user.token, 'the client keeps an access token after registering');
  user.id = await userIdOf(user);
}

/** Signs `user` in through the sign-in form. */
export async function signIn(user, baseUrl) {
  const { page } = user;
  await page.goto(`${baseUrl}/login`);
  await byTestId(page, 'login-form').waitFor();
  await byTestId(page, 'login-username').fill(user.username);
  await byTestId(page, 'login-password').fill(user.password ?? DEFAULT_PASSWORD);
  await byTestId(page, 'login-submit').click();
  await page.waitForURL((url) => url.pathname === '/', { timeout: UI_TIMEOUT_MS });
  await byTestId(page, 'current-user').filter({ hasText: user.username }).waitFor();
}

async function userIdOf(user) {
  const res = await api(user, 'GET', '/api/auth/me');
  assert.equal(res.status, 200, `GET /api/auth/me: ${JSON.stringify(res.body)}`);
  return res.body.user.id;
}

/**
 * A REST request made by the page itself (its origin, its access token), for what the client
 * has no screen for. Resolves to {status, body}.
 */
export async function api(user, method, urlPath, body) {
  return user.page.evaluate(
    async ({ method, urlPath, body, key }) => {
      const headers = { authorization: `Bearer ${localStorage.getItem(key)}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed };
    },
    { method, urlPath, body, key: TOKEN_KEY },
  );
}

/** Starts a direct chat with `peer` from the "New chat" dialog; resolves to the conversation id. */
export async function startDirectChat(user, peer) {
  const { page } = user;
  await byTestId(page, 'new-chat-button').click();
  const dialog = byTestId(page, 'new-chat-dialog');
  await dialog.waitFor();
  await dialog.locator('[data-testid="user-search-input"]').fill(peer.username);
  const result = dialog.locator(`[data-testid="user-search-result"][data-user-id="${peer.id}"]`);
  await result.waitFor();
  await result.click();
  await page.waitForURL((url) => /^\/c\/\d+$/.test(url.pathname), { timeout: UI_TIMEOUT_MS });
  await dialog.waitFor({ state: 'detached' });
  const id = Number(new URL(page.url()).pathname.split('/')[2]);
  await openedConversation(user, id, peer.username);
  return id;
}

/** Waits until conversation `id` is the open one and titled `title`. */
export async function openedConversation(user, id, title) {
  const view = user.page.locator(`[data-testid="conversation-view"][data-conversation-id="${id}"]`);
  await view.waitFor();
  if (title) await view.locator('[data-testid="conversation-title"]', { hasText: title }).waitFor();
}

/** Opens conversation `id` from the list (it must be listed, e.g. after `conversation:new`). */
export async function openFromList(user, id, title, timeout = UI_TIMEOUT_MS) {
  const item = listItem(user.page, id);
  await item.waitFor({ timeout });
  await item.click();
  await openedConversation(user, id, title);
}

/** Types `text` into the message box without sending it. */
export async function typeDraft(user, text) {
  const input = byTestId(user.page, 'message-input');
  await input.click();
  await input.pressSequentially(text, { delay: 20 });
}

/** Sends what is in the message box with Enter and waits until the server stored it. */
export async function pressEnterAndWaitStored(user, text) {
  await byTestId(user.page, 'message-input').press('Enter');
  await storedMessage(user.page, text).waitFor();
  assert.equal(await byTestId(user.page, 'message-input').inputValue(), '', 'the box is empty after sending');
}

/** Types and sends a message; waits until it is stored. */
export async function sendMessage(user, text) {
  await byTestId(user.page, 'message-input').fill(text);
  await pressEnterAndWaitStored(user, text);
}

/** Waits until the open conversation shows a stored message with `text`; returns its element. */
export async function seesMessage(user, text, timeout = UI_TIMEOUT_MS) {
  const message = storedMessage(user.page, text);
  await message.first().waitFor({ timeout });
  assert.equal(await message.count(), 1, `"${text}" is shown once`);
  return message;
}

/** Waits until the "Seen" mark is under the own message with `text`. */
export async function seesReadMark(user, text, timeout = UI_TIMEOUT_MS) {
  await storedMessage(user.page, text).locator('[data-testid="message-seen"]').waitFor({ timeout });
}

/** The typing line of the open conversation reads `expected` (a RegExp), or is empty (null). */
export async function typingLineIs(user, expected, timeout = UI_TIMEOUT_MS) {
  const line = byTestId(user.page, 'typing-indicator');
  await line.waitFor();
  const deadline = Date.now() + timeout;
  let text;
  for (;;) {
    text = ((await line.textContent()) ?? '').trim();
    if (expected === null ? text === '' : expected.test(text)) return text;
    if (Date.now() > deadline) {
      assert.fail(`typing line is "${text}", expected ${expected === null ? 'nothing' : expected}`);
    }
    await user.page.waitForTimeout(50);
  }
}

/**
 * Waits until the presence of the direct peer in conversation `id` is shown as `online`
 * (true: a dot on the list entry and the header avatar, subtitle "online") or offline (no dot,
 * subtitle "last seen ...").
 */
export async function seesPeerPresence(user, id, online, timeout = 15_000) {
  const { page } = user;
  const dots = [
    listItem(page, id).locator('[data-testid="presence-dot"]'),
    page.locator(`[data-testid="conversation-view"][data-conversation-id="${id}"] .conversation-header [data-testid="presence-dot"]`),
  ];
  for (const dot of dots) await dot.waitFor({ state: online ? 'visible' : 'detached', timeout });
  const subtitle = page.locator(`[data-testid="conversation-view"][data-conversation-id="${id}"] [data-testid="conversation-subtitle"]`);
  if (online) {
    await subtitle.filter({ hasText: /^online$/ }).waitFor({ timeout });
  } else {
    await subtitle.filter({ hasText: /last seen|offline/i }).waitFor({ timeout });
  }
}

/**
 * Picks `png` (a Buffer) with the composer's file input; resolves to the preview shown for
 * confirmation (`upload-preview`), once its image is decoded, with `{previewUrl, naturalWidth,
 * naturalHeight}`.
 */
export async function chooseImage(user, png, fileName = 'picture.png') {
  const { page } = user;
  await byTestId(page, 'image-input').setInputFiles({ name: fileName, mimeType: 'image/png', buffer: png });
  const preview = byTestId(page, 'upload-preview');
  await preview.waitFor();
  const image = preview.locator('[data-testid="upload-preview-image"]');
  const handle = await image.elementHandle();
  try {
    await page.waitForFunction((img) => img.complete, handle, { timeout: UI_TIMEOUT_MS });
    const info = await handle.evaluate((img) => ({
      previewUrl: img.getAttribute('src'),
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
    }));
    return { preview, ...info };
  } finally {
    await handle.dispose();
  }
}

/**
 * Attaches `png` (a Buffer) through the composer's file input and sends it from the preview;
 * resolves once the image message is stored. Fails with the client's error text when the upload
 * is refused.
 */
export async function attachImage(user, png, fileName = 'picture.png') {
  const { page } = user;
  const before = await storedImages(page).count();
  await chooseImage(user, png, fileName);
  await byTestId(page, 'upload-send').click();
  await waitImageStored(user, before);
}

/** Waits until the open conversation holds more than `before` stored images, or an upload error. */
export async function waitImageStored(user, before, timeout = 20_000) {
  const { page } = user;
  const stored = storedImages(page).nth(before);
  const refused = byTestId(page, 'upload-error');
  await Promise.race([stored.waitFor({ timeout }), refused.waitFor({ timeout })]);
  if (await refused.isVisible()) assert.fail(`the client could not send the image: ${await refused.textContent()}`);
}

/** Image thumbnails of stored messages in the open conversation. */
export const storedImages = (page) =>
  page.locator('[data-testid="conversation-view"] [data-testid="message-item"][data-status="sent"] img[data-testid="message-image"]');

/**
 * Waits until the newest image of the open conversation is displayed (decoded, not broken);
 * resolves to {src, naturalWidth, naturalHeight, status} where `status` is the HTTP status of its
 * address fetched by the page.
 */
export async function seesNewestImage(user, timeout = 15_000) {
  const image = storedImages(user.page).last();
  await image.waitFor({ timeout });
  await image.scrollIntoViewIfNeeded();
  const handle = await image.elementHandle();
  try {
    await user.page.waitForFunction((img) => img.complete, handle, { timeout });
    const info = await handle.evaluate(async (img) => {
      const res = await fetch(img.currentSrc || img.src, { credentials: 'same-origin' });
      return {
        src: img.getAttribute('src'),
        naturalWidth: img.naturalWidth,
        naturalHeight: img.naturalHeight,
        status: res.status,
        type: res.headers.get('content-type'),
      };
    });
    assert.equal(info.status, 200, `${user.name} fetches the thumbnail ${info.src}: HTTP ${info.status}`);
    assert.ok(info.naturalWidth > 0 && info.naturalHeight > 0, `${user.name} sees a broken image: ${JSON.stringify(info)}`);
    return info;
  } finally {
    await handle.dispose();
  }
}

/** The ticks of the own stored message with `text`: `data-receipt` is sent, delivered or read. */
export async function seesTicks(user, text, receipt, timeout = UI_TIMEOUT_MS) {
  await storedMessage(user.page, text)
    .locator(`[data-testid="message-ticks"][data-receipt="${receipt}"]`)
    .waitFor({ timeout });
}

/**
 * Creates a group from the "New group" dialog: `name`, `members` (users with an `id`, found by
 * search) and the "Public room" checkbox. Resolves to the conversation id once it is open.
 */
export async function createGroup(user, { name, members = [], isPublic = false }) {
  const { page } = user;
  await byTestId(page, 'new-group-button').click();
  const dialog = byTestId(page, 'new-group-dialog');
  await dialog.waitFor();
  await dialog.locator('[data-testid="group-name-input"]').fill(name);
  const checkbox = dialog.locator('[data-testid="group-public-checkbox"]');
  if (isPublic) await checkbox.check();
  else await checkbox.uncheck();
  for (const member of members) {
    await dialog.locator('[data-testid="user-search-input"]').fill(member.username);
    const result = dialog.locator(`[data-testid="user-search-result"][data-user-id="${member.id}"]`);
    await result.click();
    await dialog.locator(`[data-testid="selected-member"][data-user-id="${member.id}"]`).waitFor();
  }
  await dialog.locator('[data-testid="group-create-submit"]').click();
  await page.waitForURL((url) => /^\/c\/\d+$/.test(url.pathname), { timeout: UI_TIMEOUT_MS });
  await dialog.waitFor({ state: 'detached' });
  const id = Number(new URL(page.url()).pathname.split('/')[2]);
  await openedConversation(user, id, name);
  return id;
}

/** Opens the public rooms browser from the sidebar. */
export async function openRooms(user) {
  await byTestId(user.page, 'rooms-button').click();
  await byTestId(user.page, 'rooms-page').waitFor();
  await user.page.waitForURL((url) => url.pathname === '/rooms', { timeout: UI_TIMEOUT_MS });
}

/** The rooms browser entry of room `id`. */
export const roomItem = (page, id) => page.locator(`[data-testid="room-item"][data-room-id="${id}"]`);

/** A join or leave notice (a system message) with `text` in the open conversation. */
export const systemNotice = (page, text) =>
  page.locator('[data-testid="conversation-view"] [data-testid="message-item"][data-message-type="system"]', { hasText: text });

/** Waits until the open conversation's subtitle matches `pattern`. */
export async function subtitleMatches(user, pattern, timeout = UI_TIMEOUT_MS) {
  await user.page.locator('[data-testid="conversation-view"] [data-testid="conversation-subtitle"]', { hasText: pattern }).waitFor({ timeout });
}
