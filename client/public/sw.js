// The chat app's service worker (served at /sw.js, scope /). It shows the server's Web Push
// notifications and brings their conversation on screen when one is clicked. It caches nothing:
// the app needs the server anyway.
//
// A push carries JSON: { type: "message", conversation_id, title, body, count, sender_name,
// conversation_name, mentioned, message_id, seq, url }. One notification per conversation (its
// tag), replaced by the next push for that conversation.

const ICON = '/icons/icon-192.png';
const BADGE = '/icons/badge-96.png';

self.addEventListener('install', () => {
  // Nothing to cache: the new version may take over at once.
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  // Pages opened before this worker get its messages and notifications without a reload.
  event.waitUntil(self.clients.claim());
});

/** The conversation a page of the app shows, from its address (`/c/<id>` or `?conversation=<id>`). */
function shownConversation(address) {
  let url;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  const match = /^\/c\/(\d+)\/?$/.exec(url.pathname);
  const raw = match ? match[1] : url.searchParams.get('conversation');
  const id = raw && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** The app's address for a conversation: the push's `url` when it is one of ours, else built here. */
function conversationUrl(conversationId, url) {
  const fallback = conversationId ? `/?conversation=${conversationId}` : '/';
  try {
    const resolved = new URL(url || fallback, self.location.origin);
    if (resolved.origin === self.location.origin) return resolved.href;
  } catch {
    // A malformed address: the fallback below.
  }
  return new URL(fallback, self.location.origin).href;
}

function readPayload(data) {
  if (!data) return null;
  try {
    const payload = data.json();
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

/** The app's windows, the focused one first, then the visible ones. */
async function appWindows() {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const rank = (client) => (client.focused ? 0 : client.visibilityState === 'visible' ? 1 : 2);
  return windows.sort((a, b) => rank(a) - rank(b));
}

async function showPush(payload) {
  const conversationId = Number(payload?.conversation_id);
  const known = Number.isSafeInteger(conversationId) && conversationId > 0;
  if (known) {
    // The person is looking at that conversation: the page shows the message already.
    const windows = await appWindows();
    const watching = windows.some(
      (client) => client.visibilityState === 'visible' && client.focused && shownConversation(client.url) === conversationId,
    );
    if (watching) return;
  }
  const title = typeof payload?.title === 'string' && payload.title ? payload.title : 'Chat';
  const body = typeof payload?.body === 'string' && payload.body ? payload.body : 'New message';
  await self.registration.showNotification(title, {
    body,
    icon: ICON,
    badge: BADGE,
    // A newer push for the conversation replaces the older notification, and still alerts.
    tag: known ? `conversation-${conversationId}` : 'chat',
    renotify: true,
    data: { conversation_id: known ? conversationId : null, url: conversationUrl(known ? conversationId : null, payload?.url) },
  });
}

self.addEventListener('push', (event) => {
  event.waitUntil(showPush(readPayload(event.data)));
});

async function openConversation(data) {
  const conversationId = Number(data?.conversation_id);
  const known = Number.isSafeInteger(conversationId) && conversationId > 0;
  const windows = await appWindows();
  const target = windows[0];
  if (!target) {
    await self.clients.openWindow(conversationUrl(known ? conversationId : null, data?.url));
    return;
  }
  if (known) target.postMessage({ type: 'open-conversation', conversation_id: conversationId });
  try {
    await target.focus();
  } catch {
    // Focusing needs the click's permission, which the browser may refuse; the window shows the
    // conversation all the same.
  }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const work = openConversation(event.notification.data);
  try {
    event.waitUntil(work);
  } catch {
    // Only an event dispatched by a script (not by the browser) cannot be extended; the work goes on.
  }
});
