// The application's one Socket.IO connection. It is created after sign-in with
// `autoConnect: false`, and its `auth` is a callback so that every (re)connect sends the token
// current at that moment rather than the one the socket was created with.

import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../api/types';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** How long an acknowledgement may take before the emit counts as failed. */
export const ACK_TIMEOUT_MS = 10_000;

export interface ChatSocketOptions {
  /** Server origin; omitted means the page's own origin. */
  url?: string;
  getToken: () => string | null;
  /** Told which token each handshake used (to know which token a refusal was about). */
  onHandshakeToken?: (token: string | null) => void;
}

export function createChatSocket(options: ChatSocketOptions): ChatSocket {
  const { url, getToken, onHandshakeToken } = options;
  const settings: Partial<ManagerOptions & SocketOptions> = {
    autoConnect: false,
    withCredentials: true,
    reconnectionDelay: 1_000,
    reconnectionDelayMax: 10_000,
    auth: (send) => {
      const token = getToken();
      onHandshakeToken?.(token);
      send(token ? { token } : {});
    },
  };
  return url ? io(url, settings) : io(settings);
}

let socket: ChatSocket | null = null;
let handshakeToken: string | null = null;

/** Creates the application socket if there is none yet and returns it (not connected). */
export function openSocket(url: string | undefined, getToken: () => string | null): ChatSocket {
  socket ??= createChatSocket({
    url: url || undefined,
    getToken,
    onHandshakeToken: (token) => {
      handshakeToken = token;
    },
  });
  return socket;
}

export function getSocket(): ChatSocket | null {
  return socket;
}

/** The token sent with the latest handshake. */
export function lastHandshakeToken(): string | null {
  return handshakeToken;
}

/** Disconnects and forgets the application socket (on sign-out). */
export function closeSocket(): void {
  if (!socket) return;
  socket.disconnect();
  socket = null;
  handshakeToken = null;
}

/**
 * Hands a new access token to the open socket (`session:refresh`), so the server does not end it
 * when the token it connected with expires. Resolves whether the server took it.
 */
export async function reauthenticate(socket: ChatSocket, token: string): Promise<boolean> {
  try {
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('session:refresh', { token });
    return ack?.success === true;
  } catch {
    return false;
  }
}
