// socket.io clients to any URL (an instance or nginx), closed together at the end of a suite, and
// checks on the seq numbering of the histories they produce.

import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

const openSockets = new Set();

/** A not yet connected socket to `url` (no reconnection unless asked: a drop is visible as a disconnect). */
export function socketTo(url, token, { transports = ['websocket'], ...options } = {}) {
  const socket = io(url, {
    forceNew: true,
    reconnection: false,
    timeout: 10_000,
    ...(transports ? { transports } : {}),
    auth: { token },
    autoConnect: false,
    ...options,
  });
  openSockets.add(socket);
  return socket;
}

/** Connects `socket`; resolves to it, rejects with the connect_error. */
export function connectSocket(socket) {
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      socket.off('connect_error', onError);
      resolve(socket);
    };
    const onError = (err) => {
      socket.off('connect', onConnect);
      socket.disconnect();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    socket.connect();
  });
}

export const connectTo = (url, token, options) => connectSocket(socketTo(url, token, options));

/** Disconnects every socket made by `socketTo`. */
export function closeAllSockets() {
  for (const socket of openSockets) socket.disconnect();
  openSockets.clear();
}

/**
 * Asserts that a conversation's `history` holds exactly `total` messages with seq 1..total, each id
 * once, and that every `acked` message is stored under the seq its ack announced (no two acks share one).
 */
export function assertSeqHistory(history, total, acked) {
  assert.equal(history.length, total, `history holds ${history.length} messages, expected ${total}`);
  assert.deepEqual(
    history.map((m) => m.seq),
    Array.from({ length: total }, (_, i) => i + 1),
    'seq is not 1..N in order',
  );
  // Sends are the only changes here: each takes the next revision with its seq, whichever
  // instance stored it.
  assert.deepEqual(
    history.map((m) => m.rev),
    Array.from({ length: total }, (_, i) => i + 1),
    'rev is not 1..N in commit order',
  );
  assert.equal(new Set(history.map((m) => m.id)).size, total, 'a message id repeats');
  const byId = new Map(history.map((m) => [m.id, m]));
  for (const m of acked) {
    assert.equal(byId.get(m.id)?.seq, m.seq, `acked message ${m.id} has seq ${m.seq}, history says ${byId.get(m.id)?.seq}`);
    assert.equal(byId.get(m.id)?.rev, m.rev, `acked message ${m.id} has rev ${m.rev}, history says ${byId.get(m.id)?.rev}`);
  }
  assert.equal(new Set(acked.map((m) => m.seq)).size, acked.length, 'two acks carry the same seq');
}

/** The largest n such that 1..n are all in `seqs`. */
export function contiguousUpTo(seqs) {
  const set = new Set(seqs);
  let n = 0;
  while (set.has(n + 1)) n++;
  return n;
}
