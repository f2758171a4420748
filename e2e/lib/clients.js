// Every kind of Socket.IO client behind one interface: socket.io-client 2.x (Engine.IO 3), 3.x
// and 4.x, and python-socketio (through e2e/clients/python_bridge.py), each over WebSocket,
// long-polling or polling upgraded to WebSocket, with the JSON or the msgpack parser.
//
// A client records every server event of the protocol as it arrives; tests take events from
// that record (`next`), count them (`count`) and emit with an ack (`emitAck`). It also has an
// emitter's `on` / `off` for the events recorded from then on, so the event helpers of
// lib/events.js (`waitFor`, `expectNoEvent`) take any client kind.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { io as ioV4 } from 'socket.io-client';
import ioV3 from 'socket.io-client-v3';
import ioV2 from 'socket.io-client-v2';
import msgpackParser from 'socket.io-msgpack-parser';
import { REPO_ROOT } from './repository.js';

/** The client kinds, oldest first. */
export const CLIENT_KINDS = ['v2', 'v3', 'v4', 'python'];

/** Transports: WebSocket only, long-polling only, and polling upgraded to WebSocket. */
export const TRANSPORTS = ['websocket', 'polling', 'upgrade'];

/** Every event the server emits (docs/protocol.md, "Server events"). */
export const SERVER_EVENTS = [
  'message:new',
  'message:updated',
  'message:deleted',
  'message:reaction',
  'message:read',
  'message:delivered',
  'typing:start',
  'typing:stop',
  'conversation:new',
  'conversation:member_joined',
  'conversation:member_left',
  'conversation:online_count',
  'session:ended',
  'sync:check',
  'user:online',
  'user:offline',
  'user:blocked',
  'user:unblocked',
  'user:updated',
];

/** The Python interpreter with python-socketio: E2E_PYTHON, or the one the test command installs. */
export function pythonPath() {
  return process.env.E2E_PYTHON || path.join(homedir(), '.cache', 'chat-backend', 'py', 'bin', 'python');
}

/** Whether python-socketio can be run (the test command installs it; CI requires it). */
export function pythonAvailable() {
  return existsSync(pythonPath());
}

const openClients = new Set();

/** Closes every client opened by `openClient`. */
export async function closeAllClients() {
  await Promise.all([...openClients].map((c) => c.close()));
}

/** What every client kind offers. */
class Client {
  /** @type {{event: string, data: any, taken?: boolean}[]} */
  events = [];
  #waiters = new Set();
  /** @type {Set<{event: string, handler: (data: any) => void}>} */
  #listeners = new Set();

  constructor(kind, transport) {
    this.kind = kind;
    this.transport = transport;
    this.label = `${kind}/${transport}`;
  }

  record(event, data) {
    this.events.push({ event, data });
    for (const waiter of this.#waiters) waiter();
    for (const listener of [...this.#listeners]) {
      if (listener.event === event) listener.handler(data);
    }
  }

  /** Calls `handler(data)` for every `event` recorded from now on (as an emitter's `on`). */
  on(event, handler) {
    this.#listeners.add({ event, handler });
    return this;
  }

  /** Stops calling `handler` for `event`. */
  off(event, handler) {
    for (const listener of this.#listeners) {
      if (listener.event === event && listener.handler === handler) this.#listeners.delete(listener);
    }
    return this;
  }

  /** Resolves with (and takes) the first recorded `event` not taken yet whose payload matches. */
  next(event, predicate = () => true, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
      const find = () => {
        const hit = this.events.find((e) => !e.taken && e.event === event && safe(predicate, e.data));
        if (!hit) return false;
        hit.taken = true;
        this.#waiters.delete(find);
        clearTimeout(timer);
        resolve(hit.data);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(find);
        reject(new Error(`${this.label}: no "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!find()) this.#waiters.add(find);
    });
  }

  /** How many recorded `event`s match. */
  count(event, predicate = () => true) {
    return this.events.filter((e) => e.event === event && safe(predicate, e.data)).length;
  }
}

function safe(predicate, data) {
  try {
    return Boolean(predicate(data));
  } catch {
    return false;
  }
}

/** A socket.io-client of any major version. */
class JsClient extends Client {
  constructor(kind, transport, socket) {
    super(kind, transport);
    this.socket = socket;
    for (const event of SERVER_EVENTS) socket.on(event, (data) => this.record(event, data));
  }

  get connected() {
    return this.socket.connected;
  }

  /** The transport in use now (`websocket` or `polling`). */
  get transportName() {
    return this.socket.io.engine?.transport?.name;
  }

  emitAck(event, payload, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no ack to "${event}" within ${timeoutMs} ms`)), timeoutMs);
      this.socket.emit(event, payload, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
  }

  /** Drops the connection as a network failure would (the client reconnects if allowed). */
  dropConnection() {
    this.socket.io.engine.close();
  }

  async close() {
    openClients.delete(this);
    this.socket.disconnect();
  }
}

const JS_IO = { v2: ioV2, v3: ioV3, v4: ioV4 };

function transportsFor(transport) {
  if (transport === 'websocket') return { transports: ['websocket'] };
  if (transport === 'polling') return { transports: ['polling'], upgrade: false };
  return { transports: ['polling', 'websocket'], upgrade: true };
}

/**
 * Opens a client of `kind` to `url` and resolves once it is connected (and, for `upgrade`, on
 * WebSocket); rejects with the refusal's message.
 *
 * `tokenIn`: `query` (`io(url, {query: {token}})`, the only way for v2) or `auth`.
 * `parser`: `json` or `msgpack`.
 */
export async function openClient(kind, url, token, { transport = 'websocket', tokenIn = 'query', parser = 'json', reconnection = false } = {}) {
  const client = kind === 'python'
    ? await PythonClient.open(url, token, { transport, tokenIn, parser })
    : await openJs(kind, url, token, { transport, tokenIn, parser, reconnection });
  openClients.add(client);
  return client;
}

async function openJs(kind, url, token, { transport, tokenIn, parser, reconnection }) {
  if (kind === 'v2' && tokenIn === 'auth') throw new Error('socket.io-client v2 has no auth option');
  if (kind === 'v2' && parser === 'msgpack') throw new Error('socket.io-msgpack-parser 3 speaks the v3/v4 protocol only');
  const options = {
    forceNew: true,
    reconnection,
    reconnectionDelay: 200,
    reconnectionDelayMax: 500,
    timeout: 10_000,
    ...transportsFor(transport),
    ...(tokenIn === 'query' ? { query: { token } } : { auth: { token } }),
    ...(parser === 'msgpack' ? { parser: msgpackParser } : {}),
    autoConnect: false,
  };
  const socket = JS_IO[kind](url, options);
  const client = new JsClient(kind, transport, socket);
  await new Promise((resolve, reject) => {
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      socket.off('error', onError);
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err) => {
      cleanup();
      socket.disconnect();
      reject(new Error(typeof err === 'string' ? err : err?.message ?? String(err)));
    };
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
    // v2 reports a refused namespace connection as "error" with the server's message.
    socket.once('error', onError);
    socket.connect();
  });
  if (transport === 'upgrade' && client.transportName !== 'websocket') {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${client.label}: no upgrade to WebSocket within 5 s`)), 5_000);
      socket.io.engine.once('upgrade', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return client;
}

/** python-socketio in a child process, driven by JSON lines (e2e/clients/python_bridge.py). */
class PythonClient extends Client {
  #child;
  #acks = new Map();
  #nextAck = 1;
  #lines = [];
  #lineWaiters = new Set();
  connected = false;
  transportName = null;
  stderr = '';

  static async open(url, token, { transport, tokenIn, parser }) {
    if (!pythonAvailable()) throw new Error(`python-socketio not installed (${pythonPath()})`);
    const client = new PythonClient('python', transport);
    client.#start();
    const target = tokenIn === 'query' ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
    client.#send({
      cmd: 'connect',
      url: target,
      auth: tokenIn === 'auth' ? { token } : null,
      transports: transport === 'websocket' ? ['websocket'] : transport === 'polling' ? ['polling'] : ['polling', 'websocket'],
      serializer: parser === 'msgpack' ? 'msgpack' : 'default',
    });
    const result = await client.#line((m) => m.type === 'connect' || m.type === 'connect_error', 15_000);
    if (result.type === 'connect_error') {
      await client.close();
      throw new Error(String(result.data));
    }
    client.connected = true;
    client.transportName = result.transport;
    return client;
  }

  #start() {
    const child = spawn(pythonPath(), [path.join(REPO_ROOT, 'e2e', 'clients', 'python_bridge.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    child.stderr.on('data', (chunk) => {
      this.stderr += chunk.toString('utf8');
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.type === 'event') this.record(message.event, message.data);
      else if (message.type === 'ack') {
        this.#acks.get(message.id)?.(message.data);
        this.#acks.delete(message.id);
      } else if (message.type === 'disconnect') this.connected = false;
      this.#lines.push(message);
      for (const waiter of this.#lineWaiters) waiter();
    });
  }

  #send(command) {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  #line(predicate, timeoutMs) {
    return new Promise((resolve, reject) => {
      const find = () => {
        const index = this.#lines.findIndex(predicate);
        if (index < 0) return false;
        const [hit] = this.#lines.splice(index, 1);
        this.#lineWaiters.delete(find);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        this.#lineWaiters.delete(find);
        reject(new Error(`python client: no answer within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      if (!find()) this.#lineWaiters.add(find);
    });
  }

  emitAck(event, payload, timeoutMs = 5_000) {
    const id = this.#nextAck++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        reject(new Error(`${this.label}: no ack to "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#acks.set(id, (data) => {
        clearTimeout(timer);
        resolve(data);
      });
      this.#send({ cmd: 'emit', id, event, data: payload });
    });
  }

  async close() {
    openClients.delete(this);
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      this.#send({ cmd: 'close' });
    } catch {
      // The process is gone already.
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    this.connected = false;
  }
}
