import { describe, expect, it, vi } from 'vitest';
import { createRefresher, type Lock } from './refresh';
import { TOKEN_STORAGE_KEY, createTokenStore, memoryStorage } from './tokenStore';

function setup(request: () => Promise<string>, lock?: Lock) {
  const store = createTokenStore(memoryStorage());
  store.set('old');
  const isRejection = (e: unknown) => e instanceof Error && e.message === 'refused';
  const refresh = createRefresher({ store, request: vi.fn(request), isRejection, lock });
  return { store, refresh };
}

describe('token refresh', () => {
  it('stores and returns the new token', async () => {
    const { store, refresh } = setup(async () => 'new');
    await expect(refresh('old')).resolves.toEqual({ kind: 'refreshed', token: 'new' });
    expect(store.get()).toBe('new');
  });

  it('shares one request between concurrent callers', async () => {
    const request = vi.fn(async () => 'new');
    const store = createTokenStore(memoryStorage());
    store.set('old');
    const refresh = createRefresher({ store, request, isRejection: () => false });
    const outcomes = await Promise.all([refresh('old'), refresh('old'), refresh('old')]);
    expect(request).toHaveBeenCalledTimes(1);
    expect(outcomes.every((o) => o.kind === 'refreshed' && o.token === 'new')).toBe(true);
  });

  it('does not refresh again when another tab already replaced the failed token', async () => {
    const request = vi.fn(async () => 'never');
    const store = createTokenStore(memoryStorage());
    store.set('refreshed-elsewhere');
    const refresh = createRefresher({ store, request, isRejection: () => false });
    await expect(refresh('old')).resolves.toEqual({ kind: 'refreshed', token: 'refreshed-elsewhere' });
    expect(request).not.toHaveBeenCalled();
  });

  it('uses a token another tab stored while this one waited for the lock, before its storage event', async () => {
    const storage = memoryStorage();
    const store = createTokenStore(storage);
    store.set('old');
    const request = vi.fn(async () => 'never');
    const lock: Lock = async (task) => {
      // The other tab held the lock and refreshed meanwhile.
      storage.setItem(TOKEN_STORAGE_KEY, 'from-other-tab');
      return task();
    };
    const refresh = createRefresher({ store, request, isRejection: () => false, lock });
    await expect(refresh('old')).resolves.toEqual({ kind: 'refreshed', token: 'from-other-tab' });
    expect(request).not.toHaveBeenCalled();
    expect(store.get()).toBe('from-other-tab');
  });

  it('runs inside the cross-tab lock', async () => {
    const order: string[] = [];
    const lock: Lock = async (task) => {
      order.push('lock');
      const result = await task();
      order.push('unlock');
      return result;
    };
    const { refresh } = setup(async () => {
      order.push('request');
      return 'new';
    }, lock);
    await refresh('old');
    expect(order).toEqual(['lock', 'request', 'unlock']);
  });

  it('tells a refused refresh from an unreachable server and keeps the token on failure', async () => {
    const refused = setup(async () => {
      throw new Error('refused');
    });
    await expect(refused.refresh('old')).resolves.toEqual({ kind: 'rejected' });

    const down = setup(async () => {
      throw new Error('network');
    });
    await expect(down.refresh('old')).resolves.toEqual({ kind: 'unreachable' });
    expect(down.store.get()).toBe('old');
  });

  it('makes a new request after the previous one finished', async () => {
    let n = 0;
    const { refresh } = setup(async () => `t${++n}`);
    await refresh('old');
    await expect(refresh('t1')).resolves.toEqual({ kind: 'refreshed', token: 't2' });
  });
});
