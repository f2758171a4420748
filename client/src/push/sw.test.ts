// The service worker (public/sw.js) run against a fake worker scope: what a push shows, and where
// a click on a notification leads.

import { describe, expect, it, vi } from 'vitest';
import source from '../../public/sw.js?raw';

const ORIGIN = 'https://chat.example';

interface FakeWindow {
  url: string;
  focused: boolean;
  visibilityState: 'visible' | 'hidden';
  postMessage: ReturnType<typeof vi.fn>;
  focus: ReturnType<typeof vi.fn>;
}

function appWindow(path: string, state: { focused?: boolean; visible?: boolean } = {}): FakeWindow {
  const focused = state.focused ?? true;
  return {
    url: `${ORIGIN}${path}`,
    focused,
    visibilityState: (state.visible ?? focused) ? 'visible' : 'hidden',
    postMessage: vi.fn(),
    focus: vi.fn(async () => undefined),
  };
}

interface Shown {
  title: string;
  options: NotificationOptions & { renotify?: boolean };
}

type Listener = (event: Record<string, unknown>) => void;

/** Runs sw.js in a fake scope with these windows open. */
function worker(windows: FakeWindow[] = []) {
  const listeners = new Map<string, Listener>();
  const shown: Shown[] = [];
  const opened: string[] = [];
  const scope = {
    location: new URL(`${ORIGIN}/sw.js`),
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
    skipWaiting: async () => undefined,
    clients: {
      matchAll: vi.fn(async () => [...windows]),
      openWindow: vi.fn(async (url: string) => {
        opened.push(url);
        return null;
      }),
      claim: async () => undefined,
    },
    registration: {
      showNotification: vi.fn(async (title: string, options: Shown['options']) => {
        shown.push({ title, options });
      }),
    },
  };
  new Function('self', source)(scope);

  /** Dispatches an event like the browser does; resolves once what it waits for is done. */
  async function dispatch(type: string, event: Record<string, unknown>): Promise<number> {
    const waits: Promise<unknown>[] = [];
    const listener = listeners.get(type);
    if (!listener) throw new Error(`no ${type} listener`);
    listener({ ...event, waitUntil: (promise: Promise<unknown>) => waits.push(promise) });
    await Promise.all(waits);
    return waits.length;
  }

  const push = (payload: unknown) =>
    dispatch('push', {
      data: {
        json: () => (typeof payload === 'string' ? JSON.parse(payload) : payload),
      },
    });

  function click(data: unknown) {
    const notification = { data, close: vi.fn() };
    return { notification, done: dispatch('notificationclick', { notification }) };
  }

  return { scope, shown, opened, push, click };
}

const PAYLOAD = {
  type: 'message',
  conversation_id: 12,
  title: 'team',
  body: '3 new messages',
  count: 3,
  sender_name: 'Alice',
  conversation_name: 'team',
  mentioned: false,
  message_id: 99,
  seq: 7,
  url: '/?conversation=12',
};

describe('a push', () => {
  it('shows one notification per conversation, replacing the previous one', async () => {
    const sw = worker();
    expect(await sw.push(PAYLOAD)).toBe(1);
    expect(sw.shown).toEqual([
      {
        title: 'team',
        options: {
          body: '3 new messages',
          icon: '/icons/icon-192.png',
          badge: '/icons/badge-96.png',
          tag: 'conversation-12',
          renotify: true,
          data: { conversation_id: 12, url: `${ORIGIN}/?conversation=12` },
        },
      },
    ]);
  });

  it('shows nothing when a focused, visible window shows that conversation', async () => {
    const sw = worker([appWindow('/c/12')]);
    expect(await sw.push(PAYLOAD)).toBe(1);
    expect(sw.shown).toEqual([]);

    const viaAddress = worker([appWindow('/?conversation=12')]);
    await viaAddress.push(PAYLOAD);
    expect(viaAddress.shown).toEqual([]);
  });

  it('is shown when the window shows another conversation, is not focused, or is hidden', async () => {
    for (const open of [
      appWindow('/c/13'),
      appWindow('/c/120'),
      appWindow('/'),
      appWindow('/c/12', { focused: false, visible: true }),
      appWindow('/c/12', { focused: false, visible: false }),
    ]) {
      const sw = worker([open]);
      await sw.push(PAYLOAD);
      expect(sw.shown.map((n) => n.options.tag), open.url).toEqual(['conversation-12']);
    }
  });

  it('still shows something for a push it cannot read (the browser requires it)', async () => {
    const sw = worker([appWindow('/c/12')]);
    expect(await sw.push('not json')).toBe(1);
    expect(await sw.push({ type: 'message' })).toBe(1);
    expect(sw.shown.map((n) => [n.title, n.options.body, n.options.tag])).toEqual([
      ['Chat', 'New message', 'chat'],
      ['Chat', 'New message', 'chat'],
    ]);
  });

  it('keeps the click on this site when the payload names another one', async () => {
    const sw = worker();
    await sw.push({ ...PAYLOAD, url: 'https://elsewhere.example/phish' });
    expect(sw.shown[0].options.data).toEqual({ conversation_id: 12, url: `${ORIGIN}/?conversation=12` });
  });
});

describe('a click on a notification', () => {
  const data = { conversation_id: 12, url: `${ORIGIN}/?conversation=12` };

  it('closes it and asks the open window to show the conversation, then focuses it', async () => {
    const open = appWindow('/c/3', { focused: false, visible: false });
    const sw = worker([open]);
    const { notification, done } = sw.click(data);
    expect(await done).toBe(1);
    expect(notification.close).toHaveBeenCalled();
    expect(open.postMessage).toHaveBeenCalledWith({ type: 'open-conversation', conversation_id: 12 });
    expect(open.focus).toHaveBeenCalled();
    expect(sw.opened).toEqual([]);
  });

  it('picks the focused window, then a visible one', async () => {
    const hidden = appWindow('/', { focused: false, visible: false });
    const visible = appWindow('/', { focused: false, visible: true });
    const focused = appWindow('/rooms');
    await worker([hidden, visible, focused]).click(data).done;
    expect(focused.postMessage).toHaveBeenCalled();
    expect(visible.postMessage).not.toHaveBeenCalled();

    await worker([hidden, visible]).click(data).done;
    expect(visible.postMessage).toHaveBeenCalled();
    expect(hidden.postMessage).not.toHaveBeenCalled();
  });

  it('goes on when the window refuses the focus', async () => {
    const open = appWindow('/', { focused: false, visible: false });
    open.focus.mockRejectedValue(new Error('InvalidAccessError: Not allowed to focus a window.'));
    const sw = worker([open]);
    await expect(sw.click(data).done).resolves.toBe(1);
    expect(open.postMessage).toHaveBeenCalledWith({ type: 'open-conversation', conversation_id: 12 });
    expect(sw.opened).toEqual([]);
  });

  it('opens a window at the conversation when none is open', async () => {
    const sw = worker();
    await sw.click(data).done;
    expect(sw.opened).toEqual([`${ORIGIN}/?conversation=12`]);
  });
});
