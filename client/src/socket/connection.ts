// Keeps the socket connected. A handshake refused with "unauthorized" (expired token) leads to a
// token refresh and a new attempt; socket.io does not retry those by itself. A refused refresh
// ends the session, and so does the server's `session:ended` (signed out, signed out everywhere,
// password reset), after which no reconnect is attempted; `session:ended` with reason "expired"
// (the socket's token ran out) only reconnects, with the current or a refreshed token. Other
// failures are retried by socket.io, or here with a growing delay when socket.io has given up
// (the server closed the connection).
//
// The server ends a socket when the token it was opened with expires, so every new token (refreshed
// here, by the refresh timer, or in another tab) is handed to the open socket with `session:refresh`
// (`reauthenticate`): the socket stays up across refreshes without reconnecting.

import type { RefreshOutcome } from '../session/refresh';

export type ConnectionStatus =
  /** Not started, or closed on purpose. */
  | 'idle'
  /** First connection under way. */
  | 'connecting'
  | 'connected'
  /** Connection lost; trying again. */
  | 'reconnecting';

/** The part of a socket.io client socket this module uses. */
export interface ManagedSocket {
  readonly connected: boolean;
  readonly active: boolean;
  connect(): unknown;
  disconnect(): unknown;
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'disconnect', listener: (reason: string) => void): unknown;
  on(event: 'connect_error', listener: (error: Error) => void): unknown;
  on(event: 'session:ended', listener: (event: { reason?: string } | undefined) => void): unknown;
  off(event: 'connect', listener: () => void): unknown;
  off(event: 'disconnect', listener: (reason: string) => void): unknown;
  off(event: 'connect_error', listener: (error: Error) => void): unknown;
  off(event: 'session:ended', listener: (event: { reason?: string } | undefined) => void): unknown;
}

export interface ConnectionHooks {
  /** Gets a fresh access token; `failedToken` is the one the server refused. */
  refresh: (failedToken: string | null) => Promise<RefreshOutcome>;
  /** The token the latest handshake carried. */
  handshakeToken: () => string | null;
  onStatus: (status: ConnectionStatus) => void;
  onConnected: () => void;
  onDisconnected: () => void;
  /**
   * The server no longer accepts this session: a refused refresh (no reason), or the server's
   * `session:ended` with its reason.
   */
  onSessionEnded: (reason?: string) => void;
  /** Delay before the n-th (0-based) retry that this module schedules itself. */
  retryDelayMs?: (attempt: number) => number;
  /** Refusals in a row, each after a successful refresh, before the session is given up. */
  maxUnauthorized?: number;
  /** The access token to use now (the one a new token is compared with). */
  currentToken?: () => string | null;
  /** Subscribes to token changes; returns the unsubscribe function. */
  subscribeToken?: (listener: (token: string | null) => void) => () => void;
  /**
   * Gives the open socket a new token (`session:refresh`); resolves whether the server took it. A
   * refusal leaves the socket as it is: it ends with "expired" later and reconnects.
   */
  reauthenticate?: (token: string) => Promise<boolean>;
}

/** The `session:ended` reason for a socket whose token expired: reconnect, do not sign out. */
export const EXPIRED = 'expired';

export const UNAUTHORIZED = 'unauthorized';

export interface ConnectionManager {
  start(): void;
  stop(): void;
  /** Connect now if not connected (e.g. when the browser comes back online). */
  nudge(): void;
}

const defaultDelay = (attempt: number) => Math.min(1_000 * 2 ** attempt, 15_000);

export function manageConnection(socket: ManagedSocket, hooks: ConnectionHooks): ConnectionManager {
  const retryDelayMs = hooks.retryDelayMs ?? defaultDelay;
  const maxUnauthorized = hooks.maxUnauthorized ?? 3;
  let running = false;
  let ended = false;
  let everConnected = false;
  let unauthorizedInARow = 0;
  let retryAttempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The token the server holds for the open socket (from the handshake or `session:refresh`). */
  let socketToken: string | null = null;
  let unsubscribeToken: (() => void) | null = null;

  function status(next: ConnectionStatus) {
    hooks.onStatus(next);
  }

  function cancelRetry() {
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    retryTimer = undefined;
  }

  function connectNow() {
    cancelRetry();
    if (running && !ended && !socket.connected) socket.connect();
  }

  function scheduleConnect() {
    cancelRetry();
    retryTimer = setTimeout(connectNow, retryDelayMs(retryAttempt++));
  }

  function onConnect() {
    everConnected = true;
    unauthorizedInARow = 0;
    retryAttempt = 0;
    cancelRetry();
    socketToken = hooks.handshakeToken();
    status('connected');
    hooks.onConnected();
    // The token may have changed between the handshake and now.
    const current = hooks.currentToken?.();
    if (current) void handOver(current);
  }

  /** Sends a token the open socket does not have yet. */
  async function handOver(token: string) {
    if (!running || ended || !socket.connected || !hooks.reauthenticate || token === socketToken) return;
    const previous = socketToken;
    socketToken = token;
    const taken = await hooks.reauthenticate(token).catch(() => false);
    // Refused: keep what the server holds, so a later token is sent again.
    if (!taken && socketToken === token) socketToken = previous;
  }

  function onToken(token: string | null) {
    if (token) void handOver(token);
  }

  function onDisconnect(reason: string) {
    hooks.onDisconnected();
    if (!running || ended || reason === 'io client disconnect') {
      status('idle');
      return;
    }
    status('reconnecting');
    // The server closed this socket on purpose: socket.io will not retry, so do it here (the next
    // handshake carries the current token).
    if (!socket.active) scheduleConnect();
  }

  function onSessionEnded(event: { reason?: string } | undefined) {
    if (!running || ended) return;
    // Only this socket's token ran out: the disconnect that follows reconnects, and a refused
    // handshake refreshes the token.
    if (event?.reason === EXPIRED) return;
    ended = true;
    cancelRetry();
    const reason = typeof event?.reason === 'string' && event.reason ? event.reason : 'ended';
    hooks.onSessionEnded(reason);
  }

  async function onConnectError(error: Error) {
    if (!running || ended) return;
    status(everConnected ? 'reconnecting' : 'connecting');
    if (error.message !== UNAUTHORIZED) {
      if (!socket.active) scheduleConnect();
      return;
    }
    unauthorizedInARow += 1;
    if (unauthorizedInARow > maxUnauthorized) {
      hooks.onSessionEnded();
      return;
    }
    const outcome = await hooks.refresh(hooks.handshakeToken());
    if (!running) return;
    if (outcome.kind === 'refreshed') connectNow();
    else if (outcome.kind === 'rejected') hooks.onSessionEnded();
    else scheduleConnect();
  }

  return {
    start() {
      if (running) return;
      running = true;
      ended = false;
      socket.on('connect', onConnect);
      socket.on('disconnect', onDisconnect);
      socket.on('connect_error', onConnectError);
      socket.on('session:ended', onSessionEnded);
      unsubscribeToken = hooks.subscribeToken?.(onToken) ?? null;
      status(socket.connected ? 'connected' : 'connecting');
      if (!socket.connected) socket.connect();
    },
    stop() {
      if (!running) return;
      running = false;
      cancelRetry();
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onConnectError);
      socket.off('session:ended', onSessionEnded);
      unsubscribeToken?.();
      unsubscribeToken = null;
      socket.disconnect();
      status('idle');
    },
    nudge() {
      if (running && !ended && !socket.connected) connectNow();
    },
  };
}
