// Refreshes the access token shortly before it expires (see `tokenLifetime.ts` for when), so that
// requests and socket handshakes do not have to fail first. Every new token (refreshed here, after
// a 401, on a refused handshake, or by another tab) is scheduled again. Refreshes go through the
// shared refresher (`refresh.ts`), so tabs whose timers fire together make one request between
// them. A refused refresh ends the session; an unreachable server is asked again a little later.

import type { Refresh } from './refresh';
import type { TokenLifetimes } from './tokenLifetime';
import type { TokenStore } from './tokenStore';

/** The longest delay `setTimeout` keeps (about 24.8 days); longer waits are made of several. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface RefreshTimerOptions {
  store: TokenStore;
  lifetimes: TokenLifetimes;
  refresh: Refresh;
  /** The server refused the refresh: the session is over. */
  onRejected: () => void;
  now?: () => number;
  /** Delay before asking again after the n-th (0-based) attempt found the server unreachable. */
  retryDelayMs?: (attempt: number) => number;
}

export interface RefreshTimer {
  /** Schedules a refresh for the current token and every later one. */
  start(): void;
  stop(): void;
  /**
   * Looks at the clock again, e.g. when the tab becomes visible or the device wakes up (timers
   * may have been held back meanwhile): refreshes at once when it is due.
   */
  recheck(): void;
  /** When the next refresh is due (ms since the epoch), or null when none is scheduled. */
  dueAt(): number | null;
}

const defaultRetryDelay = (attempt: number) => Math.min(5_000 * 2 ** attempt, 60_000);

export function createRefreshTimer(options: RefreshTimerOptions): RefreshTimer {
  const { store, lifetimes, refresh, onRejected, now = Date.now, retryDelayMs = defaultRetryDelay } = options;
  let running = false;
  let unsubscribe: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let due: number | null = null;
  let refreshing = false;
  let failures = 0;

  function clear() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    due = null;
  }

  /** Runs `fire` for `token` at `at`, waiting in steps when that is further than a timer reaches. */
  function arm(token: string, at: number) {
    clear();
    due = at;
    const wait = Math.max(0, at - now());
    timer = setTimeout(
      () => {
        timer = undefined;
        if (wait > MAX_TIMEOUT_MS) arm(token, at);
        else void fire(token);
      },
      Math.min(wait, MAX_TIMEOUT_MS),
    );
  }

  function schedule() {
    clear();
    if (!running || refreshing) return;
    const token = store.get();
    if (!token) return;
    failures = 0;
    const at = lifetimes.refreshAt(token);
    // An expiry that cannot be told is left to the refresh after a 401.
    if (at !== null) arm(token, at);
  }

  async function fire(token: string) {
    due = null;
    if (!running) return;
    if (store.get() !== token) {
      schedule();
      return;
    }
    refreshing = true;
    let outcome;
    try {
      outcome = await refresh(token);
    } finally {
      refreshing = false;
    }
    if (!running) return;
    if (outcome.kind === 'refreshed') {
      schedule();
    } else if (outcome.kind === 'rejected') {
      stop();
      onRejected();
    } else if (store.get() === token) {
      arm(token, now() + retryDelayMs(failures++));
    } else {
      schedule();
    }
  }

  function stop() {
    running = false;
    clear();
    unsubscribe?.();
    unsubscribe = null;
  }

  return {
    start() {
      if (running) return;
      running = true;
      unsubscribe = store.subscribe(() => schedule());
      schedule();
    },
    stop,
    recheck() {
      if (!running || refreshing || due === null) return;
      const token = store.get();
      if (!token || due > now()) return;
      clear();
      void fire(token);
    },
    dueAt: () => due,
  };
}
