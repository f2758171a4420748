import { describe, expect, it, vi } from 'vitest';
import { base64UrlToBytes, createPushClient, type PushDeps, type PushManagerLike, type PushSubscriptionLike } from './pushClient';

/** A 65-byte "public key" (its bytes are all the client looks at). */
const KEY_BYTES = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : i));
const base64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const KEY = base64Url(KEY_BYTES);
const OTHER_KEY = base64Url(Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : 200 - i)));

/** A PushManager in memory: one subscription at a time, like the browser's. */
class FakePushManager implements PushManagerLike {
  current: (PushSubscriptionLike & { unsubscribed: boolean }) | null = null;
  subscribeCalls: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }[] = [];
  private count = 0;

  async getSubscription() {
    return this.current;
  }

  async subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }) {
    if (this.current) throw new Error('InvalidStateError: subscribed with another key');
    this.subscribeCalls.push(options);
    this.current = this.make(`https://push.example/${++this.count}`, options.applicationServerKey);
    return this.current;
  }

  /** A subscription as the browser keeps it (`applicationServerKey` null: not known). */
  make(endpoint: string, key: Uint8Array | null) {
    const manager = this;
    const subscription = {
      endpoint,
      unsubscribed: false,
      options: { applicationServerKey: key ? key.slice().buffer : null },
      toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: 'p256dh-of-' + endpoint, auth: 'auth' } }),
      async unsubscribe() {
        subscription.unsubscribed = true;
        if (manager.current === subscription) manager.current = null;
        return true;
      },
    };
    return subscription;
  }
}

function setup(overrides: Partial<PushDeps> = {}, permission: NotificationPermission | null = 'granted') {
  const manager = new FakePushManager();
  const state = { permission };
  const deps = {
    pushManager: vi.fn<PushDeps['pushManager']>(async () => manager),
    permission: vi.fn<PushDeps['permission']>(() => state.permission),
    requestPermission: vi.fn<PushDeps['requestPermission']>(async () => 'granted'),
    vapidKey: vi.fn<PushDeps['vapidKey']>(async () => KEY),
    save: vi.fn<PushDeps['save']>(async () => undefined),
    remove: vi.fn<PushDeps['remove']>(async () => undefined),
  };
  Object.assign(deps, overrides);
  return { manager, deps, state, push: createPushClient(deps) };
}

describe('base64UrlToBytes', () => {
  it('decodes unpadded base64url, as the server sends the VAPID key', () => {
    expect(Array.from(base64UrlToBytes(KEY))).toEqual(Array.from(KEY_BYTES));
    expect(Array.from(base64UrlToBytes('-_8'))).toEqual([0xfb, 0xff]);
    expect(Array.from(base64UrlToBytes('-_8='))).toEqual([0xfb, 0xff]);
  });
});

describe('the notifications switch', () => {
  it('is off until turned on; turning it on asks for the permission, subscribes with the server key and hands the subscription over', async () => {
    const { push, deps, manager, state } = setup({}, 'default');
    deps.requestPermission.mockImplementation(async () => {
      state.permission = 'granted';
      return 'granted';
    });

    await expect(push.state()).resolves.toBe('off');
    expect(deps.requestPermission).not.toHaveBeenCalled();

    await expect(push.enable()).resolves.toBe('on');
    expect(deps.requestPermission).toHaveBeenCalledTimes(1);
    expect(manager.subscribeCalls).toHaveLength(1);
    expect(manager.subscribeCalls[0].userVisibleOnly).toBe(true);
    expect(Array.from(manager.subscribeCalls[0].applicationServerKey)).toEqual(Array.from(KEY_BYTES));
    expect(deps.save).toHaveBeenCalledWith({
      endpoint: 'https://push.example/1',
      expirationTime: null,
      keys: { p256dh: 'p256dh-of-https://push.example/1', auth: 'auth' },
    });
    // The state comes from the browser's subscription, as after a reload.
    await expect(createPushClient(deps).state()).resolves.toBe('on');
  });

  it('asks for the permission before waiting for anything, so the browser sees the click', async () => {
    const { push, deps } = setup({}, 'default');
    const order: string[] = [];
    deps.requestPermission.mockImplementation(async () => {
      order.push('permission');
      return 'granted';
    });
    deps.pushManager.mockImplementation(async () => {
      order.push('service worker');
      return new FakePushManager();
    });
    const enabling = push.enable();
    expect(order).toEqual(['permission']);
    await enabling;
  });

  it('says "blocked" when the browser refuses, and does not subscribe', async () => {
    const refused = setup({}, 'default');
    refused.deps.requestPermission.mockResolvedValue('denied');
    await expect(refused.push.enable()).resolves.toBe('blocked');
    expect(refused.manager.subscribeCalls).toEqual([]);
    expect(refused.deps.save).not.toHaveBeenCalled();

    const blocked = setup({}, 'denied');
    await expect(blocked.push.state()).resolves.toBe('blocked');
    await expect(blocked.push.enable()).resolves.toBe('blocked');
    expect(blocked.deps.requestPermission).not.toHaveBeenCalled();
  });

  it('stays off when the question was dismissed', async () => {
    const { push, deps, manager } = setup({}, 'default');
    deps.requestPermission.mockResolvedValue('default');
    await expect(push.enable()).resolves.toBe('off');
    expect(manager.subscribeCalls).toEqual([]);
  });

  it('is unavailable when the server sends no notifications, and unsupported without the APIs', async () => {
    const disabled = setup({ vapidKey: vi.fn(async () => null) });
    await expect(disabled.push.state()).resolves.toBe('unavailable');
    await expect(disabled.push.enable()).resolves.toBe('unavailable');
    expect(disabled.manager.subscribeCalls).toEqual([]);

    await expect(setup({}, null).push.state()).resolves.toBe('unsupported');
    await expect(setup({ pushManager: vi.fn(async () => null) }).push.state()).resolves.toBe('unsupported');
  });

  it('drops the new subscription when the server does not take it, and fails', async () => {
    const { push, deps, manager } = setup({ save: vi.fn(async () => Promise.reject(new Error('server down'))) });
    await expect(push.enable()).rejects.toThrow('server down');
    expect(manager.current).toBeNull();
    await expect(push.state()).resolves.toBe('off');
    expect(deps.save).toHaveBeenCalledTimes(1);
  });

  it('replaces a subscription made with another server key', async () => {
    const { push, manager, deps } = setup();
    const old = manager.make('https://push.example/old', base64UrlToBytes(OTHER_KEY));
    manager.current = old;
    await expect(push.enable()).resolves.toBe('on');
    expect(old.unsubscribed).toBe(true);
    expect(deps.save).toHaveBeenCalledWith(expect.objectContaining({ endpoint: 'https://push.example/1' }));
  });

  it('reuses a subscription made with the same key', async () => {
    const { push, manager, deps } = setup();
    manager.current = manager.make('https://push.example/kept', KEY_BYTES);
    await push.enable();
    expect(manager.subscribeCalls).toEqual([]);
    expect(deps.save).toHaveBeenCalledWith(expect.objectContaining({ endpoint: 'https://push.example/kept' }));
  });

  it('turning it off tells the server, then unsubscribes; also when the server cannot be reached', async () => {
    const { push, manager, deps } = setup();
    await push.enable();
    const subscription = manager.current!;
    await expect(push.disable()).resolves.toBe('off');
    expect(deps.remove).toHaveBeenCalledWith('https://push.example/1');
    expect(subscription.unsubscribed).toBe(true);

    await push.enable();
    deps.remove.mockRejectedValueOnce(new Error('offline'));
    await expect(push.disable()).resolves.toBe('off');
    expect(manager.current).toBeNull();
  });
});

describe('sign-out and the start of a session', () => {
  it('sign-out deletes the subscription on the server first, then unsubscribes', async () => {
    const { push, manager, deps } = setup();
    await push.enable();
    const subscription = manager.current!;
    const order: string[] = [];
    deps.remove.mockImplementation(async (endpoint) => {
      order.push(`DELETE ${endpoint} (still subscribed: ${!subscription.unsubscribed})`);
    });
    await push.signOut();
    expect(order).toEqual(['DELETE https://push.example/1 (still subscribed: true)']);
    expect(subscription.unsubscribed).toBe(true);
  });

  it('sign-out without a subscription asks nothing of the server', async () => {
    const { push, deps } = setup();
    await push.signOut();
    expect(deps.remove).not.toHaveBeenCalled();
  });

  it('a session ended by the server drops the subscription without a request', async () => {
    const { push, manager, deps } = setup();
    await push.enable();
    await push.discard();
    expect(manager.current).toBeNull();
    expect(deps.remove).not.toHaveBeenCalled();
  });

  it('sync hands an existing subscription to the server again and does nothing without one', async () => {
    const { push, manager, deps } = setup();
    await push.sync();
    expect(deps.save).not.toHaveBeenCalled();
    expect(deps.requestPermission).not.toHaveBeenCalled();

    manager.current = manager.make('https://push.example/kept', KEY_BYTES);
    await push.sync();
    expect(deps.save).toHaveBeenCalledWith(expect.objectContaining({ endpoint: 'https://push.example/kept' }));
    expect(manager.subscribeCalls).toEqual([]);
  });

  it('sync renews a subscription made with an older server key', async () => {
    const { push, manager, deps } = setup();
    manager.current = manager.make('https://push.example/old', base64UrlToBytes(OTHER_KEY));
    await push.sync();
    expect(manager.subscribeCalls).toHaveLength(1);
    expect(deps.save).toHaveBeenCalledWith(expect.objectContaining({ endpoint: 'https://push.example/1' }));
  });

  it('sync drops a subscription whose permission was taken back, and never asks for one', async () => {
    const { push, manager, deps } = setup({}, 'default');
    const kept = manager.make('https://push.example/kept', KEY_BYTES);
    manager.current = kept;
    await push.sync();
    expect(kept.unsubscribed).toBe(true);
    expect(deps.remove).toHaveBeenCalledWith('https://push.example/kept');
    expect(deps.requestPermission).not.toHaveBeenCalled();
    expect(deps.save).not.toHaveBeenCalled();
  });
});
