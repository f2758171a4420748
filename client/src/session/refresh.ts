// Access-token refresh. Refresh tokens rotate and re-using a rotated one revokes the whole family,
// so two refreshes must never race with the same cookie: calls within a tab share one request, and
// tabs take turns through a Web Lock. A tab that gets the lock after another tab refreshed finds a
// token different from the one that failed and uses it instead of refreshing again.

import type { TokenStore } from './tokenStore';

export type RefreshOutcome =
  /** A usable token (new, or already refreshed by another tab or request). */
  | { kind: 'refreshed'; token: string }
  /** The server refused: the session is over and the user must sign in again. */
  | { kind: 'rejected' }
  /** The server could not be reached or failed: try again later, keep the session. */
  | { kind: 'unreachable' };

export type Lock = <T>(task: () => Promise<T>) => Promise<T>;

export interface RefresherOptions {
  store: TokenStore;
  /** Asks the server for a new access token; throws on failure. */
  request: () => Promise<string>;
  /** Tells whether an error thrown by `request` means the server refused the refresh. */
  isRejection: (error: unknown) => boolean;
  /** Serialises refreshes across tabs. */
  lock?: Lock;
}

export type Refresh = (failedToken?: string | null) => Promise<RefreshOutcome>;

const runDirectly: Lock = (task) => task();

export function createRefresher(options: RefresherOptions): Refresh {
  const { store, request, isRejection, lock = runDirectly } = options;
  let inFlight: Promise<RefreshOutcome> | null = null;

  return function refresh(failedToken = store.get()) {
    if (inFlight) return inFlight;
    inFlight = lock(async (): Promise<RefreshOutcome> => {
      // Another tab may have refreshed while this one waited for the lock; its storage event may
      // not have arrived yet.
      store.syncFromStorage();
      const current = store.get();
      if (current && current !== failedToken) return { kind: 'refreshed', token: current };
      try {
        const token = await request();
        store.set(token);
        return { kind: 'refreshed', token };
      } catch (error) {
        return isRejection(error) ? { kind: 'rejected' } : { kind: 'unreachable' };
      }
    }).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/** A lock shared by all tabs of the origin, or none where the Web Locks API is missing. */
export function webLock(name: string): Lock {
  return (task) => {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return task();
    return locks.request(name, task);
  };
}
