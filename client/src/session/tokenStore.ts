// Holds the access token. It is kept in localStorage so a reload (or a second tab) stays signed
// in; when storage is unavailable (private mode, blocked cookies) it lives in memory only.

export const TOKEN_STORAGE_KEY = 'chat.access_token';

/** The subset of the Web Storage API the store needs. */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export type TokenListener = (token: string | null) => void;

export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
  /** Called with the new token whenever it changes, here or in another tab. */
  subscribe(listener: TokenListener): () => void;
  /** Applies a change made by another tab (a `storage` event). */
  syncFromStorage(): void;
}

export function createTokenStore(
  storage: KeyValueStorage | null,
  key: string = TOKEN_STORAGE_KEY,
): TokenStore {
  let current = read() ?? null;
  const listeners = new Set<TokenListener>();

  /** The stored token; undefined when there is no storage to read. */
  function read(): string | null | undefined {
    if (!storage) return undefined;
    try {
      const value = storage.getItem(key);
      return value === '' ? null : value;
    } catch {
      return undefined;
    }
  }

  function write(token: string | null) {
    if (!storage) return;
    try {
      if (token === null) storage.removeItem(key);
      else storage.setItem(key, token);
    } catch {
      // Storage full or blocked: the token still lives in memory for this tab.
    }
  }

  function update(token: string | null) {
    if (token === current) return;
    current = token;
    for (const listener of [...listeners]) listener(token);
  }

  return {
    get: () => current,
    set(token) {
      const next = token === '' ? null : token;
      write(next);
      update(next);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    syncFromStorage() {
      const stored = read();
      // Without readable storage the token lives in this tab's memory only.
      if (stored !== undefined) update(stored);
    },
  };
}

/** localStorage when it is usable, else null. */
export function browserStorage(): KeyValueStorage | null {
  try {
    if (typeof window === 'undefined' || !window.localStorage) return null;
    const probe = '__chat_probe__';
    window.localStorage.setItem(probe, probe);
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch {
    return null;
  }
}

/** In-memory storage with the Web Storage interface. */
export function memoryStorage(initial: Record<string, string> = {}): KeyValueStorage & {
  snapshot(): Record<string, string>;
} {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, String(v)),
    removeItem: (k) => void data.delete(k),
    snapshot: () => Object.fromEntries(data),
  };
}

/** The application's token store. */
export const tokenStore: TokenStore = createTokenStore(browserStorage());

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key === TOKEN_STORAGE_KEY || event.key === null) tokenStore.syncFromStorage();
  });
}

/** The token to send right now (used by HTTP requests and every socket (re)connect). */
export function currentToken(): string | null {
  return tokenStore.get();
}
