// Who is signed in. At start a stored token is checked with `GET /api/auth/me`; clearing the
// token anywhere (sign-out, a refused refresh, another tab) signs the user out here too. When the
// server ends the session (`session:ended`), `endSession` signs out and leaves a notice for the
// sign-in page. While signed in, the access token is refreshed shortly before it expires
// (`refreshTimer.ts`); a refused refresh ends the session the same way.

import axios from 'axios';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import * as api from '../api/http';
import type { CurrentUser } from '../api/types';
import { push, waitAtMost } from '../push/browserPush';
import { createRefreshTimer } from './refreshTimer';
import { sessionNotice } from './sessionNotice';
import { tokenLifetimes } from './tokenLifetime';
import { tokenStore } from './tokenStore';

export type AuthState =
  | { status: 'loading' }
  | { status: 'anonymous' }
  /** A token exists but the server could not be asked about it. */
  | { status: 'unreachable' }
  | { status: 'authenticated'; user: CurrentUser };

export interface AuthContextValue {
  state: AuthState;
  login(identifier: string, password: string): Promise<void>;
  register(username: string, email: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** The server ended the session (`reason` from `session:ended`; none: the refresh was refused). */
  endSession(reason?: string): void;
  /** Why the user was signed out without asking, for the sign-in page; null when they were not. */
  notice: string | null;
  dismissNotice(): void;
  /** Checks the stored token again (after the server was unreachable). */
  revalidate(): void;
  /** Takes the signed-in user's new profile fields (after an edit here or on another device). */
  updateUser(user: Partial<CurrentUser> & { id: number }): void;
}

/** Longest wait for the push subscription's removal at sign-out. */
const SIGN_OUT_PUSH_TIMEOUT_MS = 5_000;

const AuthContext = createContext<AuthContextValue | null>(null);

/** The body of a login request: an identifier with an "@" is an email address. */
export function loginBody(identifier: string, password: string): api.LoginRequest {
  const trimmed = identifier.trim();
  return trimmed.includes('@') ? { email: trimmed, password } : { username: trimmed, password };
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setStateValue] = useState<AuthState>(() =>
    tokenStore.get() ? { status: 'loading' } : { status: 'anonymous' },
  );
  const stateRef = useRef(state);
  const setState = useCallback((next: AuthState) => {
    stateRef.current = next;
    setStateValue(next);
  }, []);
  const validation = useRef(0);
  const [notice, setNotice] = useState<string | null>(() => sessionNotice.message());

  const validate = useCallback(async () => {
    const run = ++validation.current;
    if (!tokenStore.get()) {
      setState({ status: 'anonymous' });
      return;
    }
    setState({ status: 'loading' });
    try {
      const user = await api.fetchMe();
      if (run === validation.current) setState({ status: 'authenticated', user });
    } catch (error) {
      if (run !== validation.current) return;
      const refused = axios.isAxiosError(error) && error.response && error.response.status < 500;
      if (refused || !tokenStore.get()) {
        tokenStore.set(null);
        setState({ status: 'anonymous' });
      } else {
        setState({ status: 'unreachable' });
      }
    }
  }, [setState]);

  useEffect(() => {
    if (stateRef.current.status === 'loading') void validate();
    return tokenStore.subscribe((token) => {
      if (token === null) {
        validation.current++;
        // The session ended (here, in another tab, or refused by the server), and with it the
        // server's push subscriptions: the browser's goes too (a sign-out here removed it already).
        void push.discard().catch(() => undefined);
        // Another tab may have recorded why the session ended.
        setNotice(sessionNotice.message());
        if (stateRef.current.status !== 'anonymous') setState({ status: 'anonymous' });
      } else if (stateRef.current.status === 'anonymous') {
        // Signed in in another tab.
        void validate();
      }
    });
  }, [validate, setState]);

  const login = useCallback(
    async (identifier: string, password: string) => {
      const { user, token } = await api.login(loginBody(identifier, password));
      validation.current++;
      sessionNotice.clear();
      setNotice(null);
      setState({ status: 'authenticated', user });
      tokenStore.set(token);
    },
    [setState],
  );

  const register = useCallback(
    async (username: string, email: string, password: string) => {
      const { user, token } = await api.register({ username: username.trim(), email: email.trim(), password });
      validation.current++;
      sessionNotice.clear();
      setNotice(null);
      setState({ status: 'authenticated', user });
      tokenStore.set(token);
    },
    [setState],
  );

  const logout = useCallback(async () => {
    // First, while the token is still valid: the server forgets this device's push subscription,
    // then the browser drops it, so nothing of this account reaches the device any more.
    await waitAtMost(push.signOut(), SIGN_OUT_PUSH_TIMEOUT_MS);
    try {
      await api.logout();
    } catch {
      // The session ends here either way.
    }
    tokenStore.set(null);
    setState({ status: 'anonymous' });
  }, [setState]);

  const endSession = useCallback(
    (reason?: string) => {
      sessionNotice.set(reason);
      setNotice(sessionNotice.message());
      // Clears the cookies; the server has revoked the refresh tokens already.
      void api.logout().catch(() => undefined);
      validation.current++;
      tokenStore.set(null);
      setState({ status: 'anonymous' });
    },
    [setState],
  );

  const signedIn = state.status === 'authenticated';
  useEffect(() => {
    if (!signedIn) return;
    const timer = createRefreshTimer({
      store: tokenStore,
      lifetimes: tokenLifetimes,
      refresh: api.refreshAccessToken,
      onRejected: () => endSession(),
    });
    timer.start();
    // Timers are held back in hidden tabs and while the device sleeps.
    const recheck = () => {
      if (document.visibilityState === 'visible') timer.recheck();
    };
    document.addEventListener('visibilitychange', recheck);
    window.addEventListener('online', recheck);
    return () => {
      document.removeEventListener('visibilitychange', recheck);
      window.removeEventListener('online', recheck);
      timer.stop();
    };
  }, [signedIn, endSession]);

  const dismissNotice = useCallback(() => {
    sessionNotice.clear();
    setNotice(null);
  }, []);

  const updateUser = useCallback(
    (user: Partial<CurrentUser> & { id: number }) => {
      const current = stateRef.current;
      if (current.status !== 'authenticated' || current.user.id !== user.id) return;
      const { status: _presence, last_seen: _lastSeen, ...profile } = user;
      setState({ status: 'authenticated', user: { ...current.user, ...profile } });
    },
    [setState],
  );

  const value = useMemo<AuthContextValue>(
    () => ({
      state,
      login,
      register,
      logout,
      endSession,
      notice,
      dismissNotice,
      revalidate: () => void validate(),
      updateUser,
    }),
    [state, login, register, logout, endSession, notice, dismissNotice, validate, updateUser],
  );

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth must be used inside <AuthProvider>');
  return value;
}
