import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RefreshOutcome } from '../session/refresh';
import { settle } from '../test/fixtures';
import { createTokenStore, memoryStorage } from '../session/tokenStore';
import { manageConnection, type ConnectionHooks, type ConnectionStatus, type ManagedSocket } from './connection';

type Listener = (...args: never[]) => void;

/** Stands in for a socket.io client socket: the test fires its events. */
class FakeSocket implements ManagedSocket {
  connected = false;
  active = false;
  connectCalls = 0;
  private listeners = new Map<string, Set<Listener>>();

  connect() {
    this.connectCalls += 1;
    this.active = true;
  }
  disconnect() {
    this.connected = false;
    this.active = false;
  }
  on(event: string, listener: Listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
  }
  off(event: string, listener: Listener) {
    this.listeners.get(event)?.delete(listener);
  }
  fire(event: string, ...args: unknown[]) {
    for (const listener of this.listeners.get(event) ?? []) (listener as (...a: unknown[]) => void)(...args);
  }
  succeed() {
    this.connected = true;
    this.fire('connect');
  }
  refuse(message: string, stillActive = false) {
    this.active = stillActive;
    this.fire('connect_error', new Error(message));
  }
  drop(reason: string, stillActive = true) {
    this.connected = false;
    this.active = stillActive;
    this.fire('disconnect', reason);
  }
}

function setup(outcome: RefreshOutcome | (() => RefreshOutcome)) {
  const socket = new FakeSocket();
  const statuses: ConnectionStatus[] = [];
  const hooks = {
    refresh: vi.fn(async () => (typeof outcome === 'function' ? outcome() : outcome)),
    handshakeToken: () => 'expired-token',
    onStatus: (s: ConnectionStatus) => statuses.push(s),
    onConnected: vi.fn(),
    onDisconnected: vi.fn(),
    onSessionEnded: vi.fn(),
    retryDelayMs: () => 1000,
  } satisfies ConnectionHooks;
  const manager = manageConnection(socket, hooks);
  return { socket, hooks, manager, statuses };
}

describe('connection manager', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('connects on start and reports the status', () => {
    const { socket, manager, statuses, hooks } = setup({ kind: 'rejected' });
    manager.start();
    expect(socket.connectCalls).toBe(1);
    socket.succeed();
    expect(statuses).toEqual(['connecting', 'connected']);
    expect(hooks.onConnected).toHaveBeenCalledTimes(1);
  });

  it('refreshes the token after an "unauthorized" refusal and connects again', async () => {
    const { socket, manager, hooks } = setup({ kind: 'refreshed', token: 'fresh' });
    manager.start();
    socket.refuse('unauthorized');
    await settle();
    expect(hooks.refresh).toHaveBeenCalledWith('expired-token');
    expect(socket.connectCalls).toBe(2);
    socket.succeed();
    expect(hooks.onSessionEnded).not.toHaveBeenCalled();
  });

  it('ends the session when the refresh is refused', async () => {
    const { socket, manager, hooks } = setup({ kind: 'rejected' });
    manager.start();
    socket.refuse('unauthorized');
    await settle();
    expect(hooks.onSessionEnded).toHaveBeenCalledTimes(1);
    expect(socket.connectCalls).toBe(1);
  });

  it('retries later when the refresh cannot reach the server', async () => {
    const { socket, manager, hooks } = setup({ kind: 'unreachable' });
    manager.start();
    socket.refuse('unauthorized');
    await settle();
    expect(socket.connectCalls).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(socket.connectCalls).toBe(2);
    expect(hooks.onSessionEnded).not.toHaveBeenCalled();
  });

  it('gives up after repeated refusals of fresh tokens', async () => {
    const { socket, manager, hooks } = setup({ kind: 'refreshed', token: 'fresh' });
    manager.start();
    for (let i = 0; i < 4; i++) {
      socket.refuse('unauthorized');
      await settle();
    }
    expect(hooks.refresh).toHaveBeenCalledTimes(3);
    expect(hooks.onSessionEnded).toHaveBeenCalledTimes(1);
  });

  it('reports reconnecting on a drop and lets socket.io retry', () => {
    const { socket, manager, statuses, hooks } = setup({ kind: 'rejected' });
    manager.start();
    socket.succeed();
    socket.drop('transport close');
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(hooks.onDisconnected).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(socket.connectCalls).toBe(1);
    socket.refuse('xhr poll error', true);
    expect(statuses.at(-1)).toBe('reconnecting');
    socket.succeed();
    expect(hooks.onConnected).toHaveBeenCalledTimes(2);
  });

  it('reconnects by itself when the server closed the connection', () => {
    const { socket, manager } = setup({ kind: 'rejected' });
    manager.start();
    socket.succeed();
    socket.drop('io server disconnect', false);
    vi.advanceTimersByTime(1000);
    expect(socket.connectCalls).toBe(2);
  });

  it('ends the session on session:ended and does not reconnect after the server closes the socket', () => {
    const { socket, manager, statuses, hooks } = setup({ kind: 'refreshed', token: 'fresh' });
    manager.start();
    socket.succeed();
    socket.fire('session:ended', { reason: 'logged_out_everywhere' });
    expect(hooks.onSessionEnded).toHaveBeenCalledWith('logged_out_everywhere');
    socket.drop('io server disconnect', false);
    vi.advanceTimersByTime(60_000);
    expect(socket.connectCalls).toBe(1);
    expect(statuses.at(-1)).toBe('idle');
    manager.nudge();
    expect(socket.connectCalls).toBe(1);
    // Repeated (several instances may say it) or reason-less events end it once.
    socket.fire('session:ended', {});
    expect(hooks.onSessionEnded).toHaveBeenCalledTimes(1);
  });

  it('hands every new token to the open socket with session:refresh', async () => {
    const store = createTokenStore(memoryStorage({ 'chat.access_token': 'first' }));
    const reauthenticate = vi.fn(async (token: string) => token !== 'refused');
    const socket = new FakeSocket();
    const hooks: ConnectionHooks = {
      refresh: vi.fn(async () => ({ kind: 'refreshed', token: 'fresh' }) as RefreshOutcome),
      handshakeToken: () => 'first',
      onStatus: () => undefined,
      onConnected: () => undefined,
      onDisconnected: () => undefined,
      onSessionEnded: vi.fn(),
      currentToken: () => store.get(),
      subscribeToken: (listener) => store.subscribe(listener),
      reauthenticate,
    };
    const manager = manageConnection(socket, hooks);
    manager.start();
    // Not connected yet: the next handshake carries the token, nothing is sent.
    store.set('before-connect');
    expect(reauthenticate).not.toHaveBeenCalled();
    socket.succeed();
    await settle();
    // The handshake carried "first" but the store moved on meanwhile.
    expect(reauthenticate).toHaveBeenLastCalledWith('before-connect');
    store.set('second');
    await settle();
    expect(reauthenticate).toHaveBeenLastCalledWith('second');
    expect(reauthenticate).toHaveBeenCalledTimes(2);
    // A refused token is not taken as the socket's; signing out (null) sends nothing.
    store.set('refused');
    await settle();
    store.set(null);
    await settle();
    expect(reauthenticate).toHaveBeenCalledTimes(3);
    expect(socket.connectCalls).toBe(1);
    expect(hooks.onSessionEnded).not.toHaveBeenCalled();
    manager.stop();
    store.set('after-stop');
    await settle();
    expect(reauthenticate).toHaveBeenCalledTimes(3);
  });

  it('reconnects after session:ended "expired" instead of ending the session', async () => {
    const { socket, manager, hooks } = setup({ kind: 'refreshed', token: 'fresh' });
    manager.start();
    socket.succeed();
    socket.fire('session:ended', { reason: 'expired' });
    socket.drop('io server disconnect', false);
    expect(hooks.onSessionEnded).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(socket.connectCalls).toBe(2);
    // The expired token is refused on the handshake: refreshed, then connected again.
    socket.refuse('unauthorized');
    await settle();
    expect(hooks.refresh).toHaveBeenCalledTimes(1);
    expect(socket.connectCalls).toBe(3);
    socket.succeed();
    expect(hooks.onSessionEnded).not.toHaveBeenCalled();
  });

  it('stops listening and disconnects on stop', () => {
    const { socket, manager, statuses, hooks } = setup({ kind: 'rejected' });
    manager.start();
    socket.succeed();
    manager.stop();
    expect(socket.connected).toBe(false);
    socket.fire('connect');
    expect(hooks.onConnected).toHaveBeenCalledTimes(1);
    expect(statuses.at(-1)).toBe('idle');
  });
});
