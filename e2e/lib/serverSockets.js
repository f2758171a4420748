// socket.io-client sockets to one server: made with reconnection off and not connected until
// asked, kept in the server's set of sockets so that stopping or restarting it closes them all.

import { io } from 'socket.io-client';
import { connectSocket } from './sockets.js';

/** A socket.io-client socket to `url` that is not connected yet (reconnection disabled), added to `sockets`. */
export function openSocket(sockets, url, token, { transports, auth, ...options } = {}) {
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: 10_000,
    ...(transports ? { transports } : {}),
    auth: auth ?? (token === undefined ? {} : { token }),
    autoConnect: false,
    ...options,
  });
  sockets.add(socket);
  return socket;
}

/** Connects a socket of `sockets`; resolves to it, or rejects with the connect_error and forgets it. */
export async function connectOpened(sockets, socket) {
  try {
    return await connectSocket(socket);
  } catch (err) {
    sockets.delete(socket);
    throw err;
  }
}

/** Disconnects every socket of `sockets` and empties it. */
export function closeSockets(sockets) {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
}
