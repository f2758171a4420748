import { afterEach, describe, expect, it } from 'vitest';
import { createTokenStore, memoryStorage } from '../session/tokenStore';
import { closeSocket, createChatSocket, getSocket, lastHandshakeToken, openSocket } from './socket';

type AuthCallback = (send: (data: object) => void) => void;

function handshakeData(auth: unknown): object {
  let sent: object | undefined;
  (auth as AuthCallback)((data) => {
    sent = data;
  });
  return sent!;
}

afterEach(() => closeSocket());

describe('chat socket', () => {
  it('does not connect by itself', () => {
    const socket = createChatSocket({ url: 'http://127.0.0.1:9', getToken: () => 't' });
    expect(socket.connected).toBe(false);
    expect(socket.active).toBe(false);
  });

  it('sends the token current at each handshake, not the one it was created with', () => {
    const tokens = createTokenStore(memoryStorage());
    tokens.set('first');
    const socket = createChatSocket({ url: 'http://127.0.0.1:9', getToken: tokens.get });
    expect(typeof socket.auth).toBe('function');
    expect(handshakeData(socket.auth)).toEqual({ token: 'first' });
    tokens.set('refreshed');
    expect(handshakeData(socket.auth)).toEqual({ token: 'refreshed' });
    tokens.set(null);
    expect(handshakeData(socket.auth)).toEqual({});
  });

  it('keeps one application socket and remembers the token of the latest handshake', () => {
    let token = 'a';
    const socket = openSocket('http://127.0.0.1:9', () => token);
    expect(openSocket('http://127.0.0.1:9', () => token)).toBe(socket);
    expect(getSocket()).toBe(socket);
    handshakeData(socket.auth);
    expect(lastHandshakeToken()).toBe('a');
    token = 'b';
    handshakeData(socket.auth);
    expect(lastHandshakeToken()).toBe('b');
    closeSocket();
    expect(getSocket()).toBeNull();
    expect(openSocket('http://127.0.0.1:9', () => token)).not.toBe(socket);
  });
});
