// The app's service worker (`public/sw.js`, served at `/sw.js`): its registration at start, and the
// messages it sends to the pages.

/** Where the service worker is served; its scope is the whole app. */
const SCRIPT_URL = `${import.meta.env.BASE_URL}sw.js`;

/** How long to wait for an installing service worker before treating push as unavailable. */
const READY_TIMEOUT_MS = 10_000;

/** The registration under way or done; null where there is none. */
let registering: Promise<ServiceWorkerRegistration | null> = Promise.resolve(null);

/** Registers the service worker (it shows notifications and brings their conversation on screen). */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  registering = navigator.serviceWorker.register(SCRIPT_URL, { scope: import.meta.env.BASE_URL }).catch((error: unknown) => {
    // The app works without it, only without notifications.
    console.warn('The service worker could not be registered:', error);
    return null;
  });
}

/**
 * The registration once its worker is active, or null where there is none (no support, or the
 * registration failed). A worker still installing is waited for, at most READY_TIMEOUT_MS.
 */
export async function activeRegistration(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator)) return null;
  const registration = (await registering) ?? (await navigator.serviceWorker.getRegistration(import.meta.env.BASE_URL));
  if (!registration) return null;
  if (registration.active) return registration;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What the service worker asks of a page: a notification was clicked. */
export interface OpenConversationMessage {
  type: 'open-conversation';
  conversation_id: number;
}

/** The conversation id of an `open-conversation` message, or null for anything else. */
export function openConversationRequest(data: unknown): number | null {
  if (typeof data !== 'object' || data === null) return null;
  const message = data as Partial<OpenConversationMessage>;
  if (message.type !== 'open-conversation') return null;
  const id = message.conversation_id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Calls `listener` with the conversation the service worker asks to open; returns the unsubscribe. */
export function onOpenConversation(listener: (conversationId: number) => void): () => void {
  if (!('serviceWorker' in navigator)) return () => undefined;
  const container = navigator.serviceWorker;
  const onMessage = (event: MessageEvent) => {
    const id = openConversationRequest(event.data);
    if (id !== null) listener(id);
  };
  container.addEventListener('message', onMessage);
  return () => container.removeEventListener('message', onMessage);
}
