// Why the user was signed out without asking: the server ended the session (`session:ended`:
// signed out everywhere, password reset) or refused to refresh it. The sign-in page shows it. It
// is kept in localStorage so every tab of the user shows it, and forgotten after the next sign-in
// or when it is old.

import { browserStorage, type KeyValueStorage } from './tokenStore';

export const SESSION_NOTICE_KEY = 'chat.session_notice';
/** A notice older than this is not shown any more. */
const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** The sentence for a reason the server gave (or none: a refused refresh). */
export function describeSessionEnd(reason: string | undefined): string {
  switch (reason) {
    case 'logged_out_everywhere':
      return 'You were signed out on all your devices. Sign in again to continue.';
    case 'password_reset':
      return 'Your password was changed, so you were signed out. Sign in with your new password.';
    case undefined:
    case '':
      return 'Your session has expired. Please sign in again.';
    default:
      return 'Your session was ended by the server. Please sign in again.';
  }
}

export interface SessionNotice {
  /** Records that the session ended, with the server's reason. */
  set(reason: string | undefined): void;
  /** The sentence to show, or null. */
  message(): string | null;
  clear(): void;
}

export function createSessionNotice(
  storage: KeyValueStorage | null,
  now: () => number = Date.now,
  key: string = SESSION_NOTICE_KEY,
): SessionNotice {
  let memory: string | null = null;

  function read(): string | null {
    if (!storage) return memory;
    try {
      return storage.getItem(key);
    } catch {
      return memory;
    }
  }

  return {
    set(reason) {
      const value = JSON.stringify({ reason: reason ?? '', at: now() });
      memory = value;
      try {
        storage?.setItem(key, value);
      } catch {
        // The notice then lives in this tab only.
      }
    },
    message() {
      const raw = read();
      if (!raw) return null;
      try {
        const { reason, at } = JSON.parse(raw) as { reason?: unknown; at?: unknown };
        if (typeof at !== 'number' || now() - at > MAX_AGE_MS || now() < at - 60_000) return null;
        return describeSessionEnd(typeof reason === 'string' ? reason : undefined);
      } catch {
        return null;
      }
    },
    clear() {
      memory = null;
      try {
        storage?.removeItem(key);
      } catch {
        // Nothing to do.
      }
    },
  };
}

export const sessionNotice: SessionNotice = createSessionNotice(browserStorage());
