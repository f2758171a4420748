// Waiting on sockets and on time: the next matching event (`waitFor`), the absence of one
// (`expectNoEvent`), an emit answered by its ack (`emitAck`), a record of every event a socket
// receives, and `sleep`. They take any socket with an emitter's `on` / `off` (socket.io-client,
// or a client of lib/clients.js).

/**
 * Resolves with the first `event` received by `socket` (after this call) whose payload
 * matches `predicate`; rejects after `timeoutMs`.
 */
export function waitFor(socket, event, predicate = () => true, timeoutMs = 5_000) {
  let cleanup;
  const promise = new Promise((resolve, reject) => {
    const handler = (...args) => {
      let ok;
      try {
        ok = predicate(...args);
      } catch {
        ok = false;
      }
      if (!ok) return;
      cleanup();
      resolve(args[0]);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    cleanup = () => {
      clearTimeout(timer);
      socket.off(event, handler);
    };
    socket.on(event, handler);
  });
  promise.catch(() => {});
  return promise;
}

/**
 * Resolves if `socket` receives no `event` matching `predicate` within `ms` from this call;
 * rejects with the offending payload otherwise.
 */
export function expectNoEvent(socket, event, ms = 500, predicate = () => true) {
  const promise = new Promise((resolve, reject) => {
    const handler = (...args) => {
      let match;
      try {
        match = predicate(...args);
      } catch {
        match = true;
      }
      if (!match) return;
      clearTimeout(timer);
      socket.off(event, handler);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(args[0])}`));
    };
    const timer = setTimeout(() => {
      socket.off(event, handler);
      resolve();
    }, ms);
    socket.on(event, handler);
  });
  promise.catch(() => {});
  return promise;
}

/** Emits `event` with `payload` and resolves with the ack; rejects when no ack arrives in time. */
export function emitAck(socket, event, payload, timeoutMs = 5_000) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

/** Records every event a socket receives: [{event, args}] */
export function recordEvents(socket) {
  const events = [];
  socket.onAny((event, ...args) => events.push({ event, args }));
  return events;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
