import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jwt } from '../test/fixtures';
import { createRefresher, type Lock } from './refresh';
import { createRefreshTimer } from './refreshTimer';
import { createTokenLifetimes, type TokenLifetimes } from './tokenLifetime';
import { createTokenStore, memoryStorage, type KeyValueStorage } from './tokenStore';

const START = Date.UTC(2030, 0, 1, 12, 0, 0);

class Refused extends Error {}

/** A server that issues tokens living `ttl` seconds; `fail` makes the next refreshes fail. */
function fakeServer(ttl: number) {
  let serial = 0;
  const server = {
    ttl,
    fail: null as null | 'refuse' | 'unreachable',
    /** A token as register, login or refresh answer it (recorded with its `expires_in`). */
    issue(lifetimes: TokenLifetimes): string {
      const iat = Math.floor(Date.now() / 1000);
      const token = jwt({ sub: '1', iat, exp: iat + server.ttl, n: ++serial });
      lifetimes.issued(token, server.ttl);
      return token;
    },
  };
  return server;
}

/** One tab: its token store (on `storage`, shared by tabs), refresher and timer. */
function tab(server: ReturnType<typeof fakeServer>, storage: KeyValueStorage, lock?: Lock) {
  const store = createTokenStore(storage);
  const lifetimes = createTokenLifetimes();
  const request = vi.fn(async () => {
    if (server.fail === 'refuse') throw new Refused('401');
    if (server.fail === 'unreachable') throw new Error('network');
    return server.issue(lifetimes);
  });
  const refresh = createRefresher({ store, request, isRejection: (e) => e instanceof Refused, lock });
  const onRejected = vi.fn();
  const timer = createRefreshTimer({ store, lifetimes, refresh, onRejected });
  return {
    store,
    lifetimes,
    request,
    onRejected,
    timer,
    signIn() {
      store.set(server.issue(lifetimes));
    },
  };
}

/** The Web Lock: one task at a time across tabs. */
function sharedLock(): Lock {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('refresh before expiry', () => {
  it('refreshes 60 s before the token expires, and again before the new one does', async () => {
    const server = fakeServer(900);
    const t = tab(server, memoryStorage());
    t.signIn();
    const first = t.store.get();
    t.timer.start();
    expect(t.timer.dueAt()).toBe(START + 840_000);

    await vi.advanceTimersByTimeAsync(839_999);
    expect(t.request).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(t.request).toHaveBeenCalledTimes(1);
    const second = t.store.get();
    expect(second).not.toBe(first);

    // Rescheduled for the new token.
    expect(t.timer.dueAt()).toBe(START + 2 * 840_000);
    await vi.advanceTimersByTimeAsync(840_000);
    expect(t.request).toHaveBeenCalledTimes(2);
    expect(t.store.get()).not.toBe(second);
    t.timer.stop();
  });

  it('refreshes a short-lived token 60 s before expiry while that leaves 10 s, else at 80 % of its life', async () => {
    const long = tab(fakeServer(70), memoryStorage());
    long.signIn();
    long.timer.start();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(long.request).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(long.request).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(long.request).toHaveBeenCalledTimes(2);
    long.timer.stop();

    const short = tab(fakeServer(30), memoryStorage());
    short.signIn();
    short.timer.start();
    expect(short.timer.dueAt()).toBe(Date.now() + 24_000);
    await vi.advanceTimersByTimeAsync(24_000);
    expect(short.request).toHaveBeenCalledTimes(1);
    short.timer.stop();
  });

  it('follows a token replaced elsewhere (after a 401, by another tab) instead of refreshing the old one', async () => {
    const server = fakeServer(900);
    const t = tab(server, memoryStorage());
    t.signIn();
    t.timer.start();
    await vi.advanceTimersByTimeAsync(600_000);
    // Another tab (or the 401 path) stored a token; its expiry is read from its claims.
    t.store.set(jwt({ sub: '1', iat: (START + 600_000) / 1000, exp: (START + 600_000) / 1000 + 900 }));
    expect(t.timer.dueAt()).toBe(START + 600_000 + 840_000);
    await vi.advanceTimersByTimeAsync(839_999);
    expect(t.request).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(t.request).toHaveBeenCalledTimes(1);
    t.timer.stop();
  });

  it('tabs whose timers fire together make one refresh request between them', async () => {
    const server = fakeServer(900);
    const storage = memoryStorage();
    const lock = sharedLock();
    const a = tab(server, storage, lock);
    const b = tab(server, storage, lock);
    a.signIn();
    b.store.syncFromStorage(); // the storage event in tab b
    expect(b.store.get()).toBe(a.store.get());
    a.timer.start();
    b.timer.start();

    await vi.advanceTimersByTimeAsync(840_000);
    expect(a.request.mock.calls.length + b.request.mock.calls.length).toBe(1);
    expect(a.store.get()).toBe(b.store.get());
    // Both wait for the new token's turn.
    expect(a.timer.dueAt()).not.toBeNull();
    expect(b.timer.dueAt()).not.toBeNull();
    expect(a.onRejected).not.toHaveBeenCalled();
    expect(b.onRejected).not.toHaveBeenCalled();
    a.timer.stop();
    b.timer.stop();
  });

  it('ends the session when the server refuses the refresh', async () => {
    const server = fakeServer(70);
    const t = tab(server, memoryStorage());
    t.signIn();
    t.timer.start();
    server.fail = 'refuse';
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.request).toHaveBeenCalledTimes(1);
    expect(t.onRejected).toHaveBeenCalledTimes(1);
    expect(t.timer.dueAt()).toBeNull();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(t.request).toHaveBeenCalledTimes(1);
    expect(t.onRejected).toHaveBeenCalledTimes(1);
  });

  it('asks again with growing pauses while the server cannot be reached', async () => {
    const server = fakeServer(900);
    const t = tab(server, memoryStorage());
    t.signIn();
    const token = t.store.get();
    t.timer.start();
    server.fail = 'unreachable';
    await vi.advanceTimersByTimeAsync(840_000);
    expect(t.request).toHaveBeenCalledTimes(1);
    expect(t.store.get()).toBe(token); // kept
    await vi.advanceTimersByTimeAsync(5_000);
    expect(t.request).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(t.request).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.request).toHaveBeenCalledTimes(3);

    server.fail = null;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.request).toHaveBeenCalledTimes(4);
    expect(t.store.get()).not.toBe(token);
    expect(t.timer.dueAt()).toBe(Date.now() + 840_000);
    expect(t.onRejected).not.toHaveBeenCalled();
    t.timer.stop();
  });

  it('does nothing after sign-out or stop', async () => {
    const t = tab(fakeServer(70), memoryStorage());
    t.signIn();
    t.timer.start();
    t.store.set(null);
    expect(t.timer.dueAt()).toBeNull();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.request).not.toHaveBeenCalled();

    t.signIn();
    expect(t.timer.dueAt()).not.toBeNull();
    t.timer.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.request).not.toHaveBeenCalled();
  });

  it('leaves a token whose expiry cannot be told to the refresh after a 401', async () => {
    const t = tab(fakeServer(70), memoryStorage());
    t.store.set('opaque-token');
    t.timer.start();
    expect(t.timer.dueAt()).toBeNull();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(t.request).not.toHaveBeenCalled();
    t.timer.stop();
  });

  it('refreshes at once when a held-back timer is found overdue (hidden tab, sleeping device)', async () => {
    const t = tab(fakeServer(900), memoryStorage());
    t.signIn();
    t.timer.start();
    t.timer.recheck(); // not due: nothing happens
    expect(t.request).not.toHaveBeenCalled();
    // The clock moves on while the timer does not run.
    vi.setSystemTime(START + 850_000);
    t.timer.recheck();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.request).toHaveBeenCalledTimes(1);
    expect(t.timer.dueAt()).toBe(START + 850_000 + 840_000);
    t.timer.stop();
  });
});
