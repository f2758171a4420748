import { describe, expect, it, vi } from 'vitest';
import { TOKEN_STORAGE_KEY, createTokenStore, memoryStorage } from './tokenStore';

describe('token store', () => {
  it('starts from the stored token so a reload stays signed in', () => {
    const storage = memoryStorage({ [TOKEN_STORAGE_KEY]: 'stored' });
    expect(createTokenStore(storage).get()).toBe('stored');
  });

  it('writes, replaces and clears the token in storage', () => {
    const storage = memoryStorage();
    const store = createTokenStore(storage);
    store.set('a');
    expect(storage.snapshot()).toEqual({ [TOKEN_STORAGE_KEY]: 'a' });
    store.set('b');
    expect(store.get()).toBe('b');
    store.set(null);
    expect(store.get()).toBeNull();
    expect(storage.snapshot()).toEqual({});
  });

  it('notifies subscribers of changes only', () => {
    const store = createTokenStore(memoryStorage());
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    store.set('a');
    store.set('a');
    store.set(null);
    unsubscribe();
    store.set('c');
    expect(listener.mock.calls).toEqual([['a'], [null]]);
  });

  it('picks up a token written by another tab', () => {
    const storage = memoryStorage();
    const store = createTokenStore(storage);
    const listener = vi.fn();
    store.subscribe(listener);
    storage.setItem(TOKEN_STORAGE_KEY, 'from-other-tab');
    store.syncFromStorage();
    expect(store.get()).toBe('from-other-tab');
    expect(listener).toHaveBeenCalledWith('from-other-tab');
  });

  it('keeps the token in memory when storage is unavailable or throws', () => {
    const inMemory = createTokenStore(null);
    inMemory.set('t');
    expect(inMemory.get()).toBe('t');

    const broken = {
      getItem: () => {
        throw new Error('blocked');
      },
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {
        throw new Error('blocked');
      },
    };
    const store = createTokenStore(broken);
    expect(store.get()).toBeNull();
    store.set('t');
    expect(store.get()).toBe('t');

    // Syncing (before a refresh, on a storage event) keeps the token held in memory.
    inMemory.syncFromStorage();
    store.syncFromStorage();
    expect(inMemory.get()).toBe('t');
    expect(store.get()).toBe('t');
  });
});
