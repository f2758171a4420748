// Test harness: runs the real chat-server binary as a child process and drives it
// over HTTP (global fetch) and Socket.IO (the real socket.io-client from npm).
//
// Environment:
//   CHAT_SERVER_BIN   path of the server binary
//                     (default: ${CARGO_TARGET_DIR || '../target'}/debug/chat-server)
//   E2E_DB            sqlite (default) | postgres
//   PGHOST / PGPORT / PGUSER
//                     PostgreSQL used when E2E_DB=postgres (default 127.0.0.1 / 5432 / postgres,
//                     trust authentication); every server gets its own fresh database.
//   E2E_SERVER_LOG=1  copy the server's output to stderr while the tests run

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { OpenApiValidator } from './openapi.js';

const E2E_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Path of the server binary under test. */
export function serverBinary() {
  if (process.env.CHAT_SERVER_BIN) return path.resolve(process.env.CHAT_SERVER_BIN);
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.resolve(E2E_ROOT, '..', 'target');
  return path.join(targetDir, 'debug', 'chat-server');
}

/** Database flavour selected for this run: "sqlite" or "postgres". */
export function dbMode() {
  const mode = (process.env.E2E_DB || 'sqlite').toLowerCase();
  if (mode !== 'sqlite' && mode !== 'postgres') {
    throw new Error(`E2E_DB must be "sqlite" or "postgres", got "${process.env.E2E_DB}"`);
  }
  return mode;
}

const PG = {
  host: process.env.PGHOST || '127.0.0.1',
  port: process.env.PGPORT || '5432',
  user: process.env.PGUSER || 'postgres',
};

function psql(sql) {
  execFileSync(
    'psql',
    ['-h', PG.host, '-p', PG.port, '-U', PG.user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
  );
}

/** Creates a fresh PostgreSQL database; resolves to {name, url}. */
export function createPgDatabase() {
  const name = `chat_e2e_${randomBytes(6).toString('hex')}`;
  psql(`CREATE DATABASE "${name}"`);
  return { name, url: `postgres://${PG.user}@${PG.host}:${PG.port}/${name}` };
}

/** Drops a database made by `createPgDatabase` (closing its connections). */
export function dropPgDatabase(name) {
  psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

// Anything still alive when the test process exits is killed, and its database dropped,
// so an aborted run leaves neither processes nor databases behind.
const liveServers = new Set();
process.on('exit', () => {
  for (const server of liveServers) server.cleanupSync();
});

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:(\d+))/;
const START_TIMEOUT_MS = 60_000;
const SERVER_SETTINGS = [
  'HOST', 'PORT', 'DATA_DIR', 'APP_ENV', 'DATABASE_URL', 'DATABASE_MAX_CONNECTIONS', 'DATABASE_ACQUIRE_TIMEOUT',
  'REDIS_URL', 'JWT_SECRET', 'ACCESS_TOKEN_TTL',
  'REFRESH_TOKEN_TTL', 'CLIENT_URL', 'CLIENT_DIR', 'LOG_JSON', 'MAX_FILE_SIZE', 'PRESENCE_FANOUT_LIMIT',
  'REDIS_PREFIX', 'PRESENCE_TTL', 'SHUTDOWN_TIMEOUT', 'RATE_LIMIT_PER_SECOND', 'RATE_LIMIT_BURST',
  'AUTH_RATE_LIMIT_PER_MINUTE', 'AUTH_RATE_LIMIT_BURST', 'SOCKET_EVENTS_PER_SECOND', 'SOCKET_EVENTS_BURST',
  'TRUSTED_PROXIES', 'SOCKET_MAX_PAYLOAD', 'LOGIN_BACKOFF_AFTER', 'LOGIN_BACKOFF_MAX', 'MAIL_COOLDOWN',
  'REFRESH_REUSE_GRACE', 'SESSION_MAX_AGE', 'ACCOUNT_TOKEN_PURGE_INTERVAL',
  'HANDSHAKES_PER_MINUTE', 'HANDSHAKES_BURST', 'SOCKETS_PER_USER', 'UPLOAD_QUOTA_BYTES',
  'UPLOAD_DECODE_MEMORY', 'UPLOAD_ORPHAN_HOURS', 'MAX_VOICE_SECONDS',
  'GROUPS_PER_HOUR', 'GROUP_MAX_INITIAL_MEMBERS', 'METRICS_ADDR', 'METRICS_TOKEN',
  'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT', 'PUSH_PREVIEW', 'PUSH_COLLAPSE_MS', 'PUSH_ALLOW_PRIVATE_ENDPOINTS', 'PUSH_CONCURRENCY',
  'CALL_RING_SECONDS', 'CALL_GRACE_SECONDS', 'STUN_URLS', 'TURN_URLS', 'TURN_SECRET', 'TURN_CREDENTIAL_TTL',
];
// The suites register many users and send many events from one address; the
// rate limits have their own tests (a suite passes its own values in `env`).
const GENEROUS_LIMITS = {
  RATE_LIMIT_PER_SECOND: '0',
  AUTH_RATE_LIMIT_PER_MINUTE: '0',
  SOCKET_EVENTS_PER_SECOND: '10000',
  SOCKET_EVENTS_BURST: '10000',
  HANDSHAKES_PER_MINUTE: '0',
  GROUPS_PER_HOUR: '0',
};
// Enough for a whole suite at TRACE_REQUESTS_LOG, whose output the token checks read in full.
const OUTPUT_LIMIT = 4_000_000;

/**
 * `RUST_LOG` for a server that logs everything it can say about requests and handshakes (every
 * HTTP request, Engine.IO and Socket.IO packet): what a check that a secret stays out of the logs
 * runs the server with.
 */
export const TRACE_REQUESTS_LOG = 'debug,tower_http=trace,engineioxide=trace,socketioxide=trace';

/** A unique valid username (3-32 chars of [a-zA-Z0-9_]). */
export function uniqueUsername(prefix = 'u') {
  return `${prefix}_${randomBytes(6).toString('hex')}`.slice(0, 32);
}

export const DEFAULT_PASSWORD = 'correct-horse-battery-9';

/**
 * One running chat-server process with its own data directory (and its own PostgreSQL
 * database in postgres mode). `restart()` kills it with SIGKILL (or stops it with SIGTERM)
 * and starts it again on the same data; with `PORT` in `env` it comes back on the same port.
 */
export class ChatServer {
  /** @type {import('node:child_process').ChildProcess | null} */
  child = null;
  url = null;
  /** What the process printed (stdout and stderr, every run), its last OUTPUT_LIMIT characters. */
  output = '';
  /** How many characters of output were dropped to stay under OUTPUT_LIMIT. */
  outputDropped = 0;
  sockets = new Set();
  #exited = null;
  /** The server's OpenAPI description, read once (a promise of an `OpenApiValidator`). */
  #openapi = null;

  /**
   * `database`: a PostgreSQL database `{name, url}` from `createPgDatabase()` to share with
   * other instances; the caller drops it. Without it, postgres mode makes (and drops) its own.
   */
  constructor({ db = dbMode(), binary = serverBinary(), env = {}, database = null } = {}) {
    this.db = database ? 'postgres' : db;
    this.binary = binary;
    this.extraEnv = env;
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'chat-e2e-'));
    this.pgDatabase = null;
    this.databaseUrl = null;
    if (database) {
      this.databaseUrl = database.url;
    } else if (db === 'postgres') {
      const created = createPgDatabase();
      this.pgDatabase = created.name;
      this.databaseUrl = created.url;
    }
    liveServers.add(this);
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  /** Starts the process and resolves once it prints its listening address. */
  async start() {
    if (this.child) throw new Error('server already running');
    if (!existsSync(this.binary)) {
      throw new Error(`server binary not found: ${this.binary} (set CHAT_SERVER_BIN or CARGO_TARGET_DIR)`);
    }
    const inherited = { ...process.env };
    // Server settings come only from this harness, never from the caller's shell.
    for (const key of SERVER_SETTINGS) delete inherited[key];
    const env = {
      ...inherited,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: this.dataDir,
      APP_ENV: 'development',
      RUST_LOG: process.env.RUST_LOG || 'info',
      NO_COLOR: '1',
      // Many instances may run on this host at once: each its own metrics port.
      METRICS_ADDR: '127.0.0.1:0',
      ...GENEROUS_LIMITS,
      ...this.extraEnv,
    };
    if (this.databaseUrl) env.DATABASE_URL = this.databaseUrl;

    const child = spawn(this.binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.url = null;
    this.#exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        // A grandchild could keep the pipes open; the output of a dead server is not needed.
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, 100).unref();
        resolve({ code, signal });
      }),
    );
    const startedAt = this.output.length;

    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          const seen = this.output.slice(startedAt);
          err.message += `\n--- server output ---\n${seen || '(none)'}\n---------------------`;
          this.kill().finally(() => reject(err));
        } else {
          resolve(this);
        }
      };
      const onData = (chunk) => {
        const text = chunk.toString('utf8');
        if (process.env.E2E_SERVER_LOG) process.stderr.write(text);
        this.output += text.replace(ANSI, '');
        if (this.output.length > OUTPUT_LIMIT) {
          this.outputDropped += this.output.length - OUTPUT_LIMIT;
          this.output = this.output.slice(-OUTPUT_LIMIT);
        }
        if (!this.url) {
          const match = this.output.slice(startedAt).match(LISTENING);
          if (match) {
            this.url = match[1];
            finish();
          }
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) => finish(new Error(`cannot start ${this.binary}: ${err.message}`)));
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        finish(new Error(`server exited before listening (code ${code}, signal ${signal})`));
      });
      const timer = setTimeout(
        () => finish(new Error(`server did not print "listening on http://127.0.0.1:<port>" within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
    });
  }

  /** Sends `signal` to the process (by PID) and waits until it has exited. */
  async kill(signal = 'SIGKILL', graceMs = 10_000) {
    const child = this.child;
    if (!child) return;
    const exited = this.#exited;
    try {
      process.kill(child.pid, signal);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (err) {
        if (err.code !== 'ESRCH') throw err;
      }
      await exited;
    }
    if (this.child === child) this.child = null;
    this.url = null;
  }

  /**
   * Kills the process with `signal` (SIGKILL: a crash; SIGTERM: a graceful shutdown), then starts
   * it again on the same data directory / database.
   */
  async restart(signal = 'SIGKILL') {
    await this.kill(signal);
    this.closeSockets();
    await this.start();
    return this;
  }

  /** Closes every socket, stops the process and removes its data. */
  async stop() {
    this.closeSockets();
    const url = this.url;
    await this.kill('SIGTERM', 5_000);
    this.reportWarnings(url);
    this.cleanupSync();
  }

  /** Copies the server's warnings and errors to stderr, so a failed run says what the server saw. */
  reportWarnings(url) {
    const lines = this.output.split('\n').filter((line) => /\b(WARN|ERROR)\b/.test(line));
    if (lines.length === 0) return;
    const shown = lines.slice(-40);
    process.stderr.write(`--- warnings of the server at ${url} (${lines.length}, last ${shown.length}) ---\n${shown.join('\n')}\n`);
  }

  cleanupSync() {
    if (this.child) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      this.child = null;
    }
    if (this.pgDatabase) {
      try {
        dropPgDatabase(this.pgDatabase);
      } catch (err) {
        process.stderr.write(`could not drop database ${this.pgDatabase}: ${err.message}\n`);
      }
      this.pgDatabase = null;
    }
    if (this.dataDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
      this.dataDir = null;
    }
    liveServers.delete(this);
  }

  closeSockets() {
    for (const socket of this.sockets) socket.disconnect();
    this.sockets.clear();
  }

  // ---------------------------------------------------------------- HTTP

  /**
   * HTTP request against the server. `body` is sent as JSON; `raw` is sent as is
   * (set the content-type yourself through `headers`).
   * Resolves to {status, body, text, headers}; body is parsed JSON, or null when not JSON.
   *
   * Every answer is checked against the server's OpenAPI description (`lib/openapi.js`): an
   * undocumented path, method or status, or a body that does not fit its schema, throws, so the
   * test that made the call fails. `undocumented: 'why'` skips the check, for the few calls that
   * deliberately go where the description does not (unknown routes, other methods, the
   * Socket.IO transport); say why.
   */
  async api(method, urlPath, { token, body, raw, headers = {}, undocumented } = {}) {
    const h = {};
    for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!('content-type' in h)) h['content-type'] = 'application/json';
    }
    const res = await fetch(this.url + urlPath, { method, headers: h, body: payload, redirect: 'manual' });
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    const answer = { status: res.status, body: parsed, text, headers: res.headers };
    if (!undocumented) await this.#checkAgainstDescription(method, urlPath, answer);
    return answer;
  }

  async #checkAgainstDescription(method, urlPath, answer) {
    if (!this.#openapi) {
      const loading = OpenApiValidator.load(this.url);
      this.#openapi = loading;
      // A failed read is retried by the next call.
      loading.catch(() => {
        if (this.#openapi === loading) this.#openapi = null;
      });
    }
    const validator = await this.#openapi;
    validator.check(method, urlPath, {
      status: answer.status,
      contentType: answer.headers.get('content-type'),
      text: answer.text,
      body: answer.body,
    });
  }

  get(urlPath, opts) {
    return this.api('GET', urlPath, opts);
  }

  /** This instance's Prometheus metrics, as text. */
  async metricsText() {
    const found = /metrics on (http:\/\/\S+\/metrics)/.exec(this.output);
    if (!found) throw new Error('the server did not say where its metrics are');
    return (await fetch(found[1])).text();
  }

  /** The value of a Prometheus metric of this instance (0 when not reported yet). */
  async metric(name) {
    const text = await this.metricsText();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  post(urlPath, body, opts = {}) {
    return this.api('POST', urlPath, { ...opts, body });
  }

  /** Registers a new user; resolves to {user, token, password}. */
  async register(username = uniqueUsername(), { email, password = DEFAULT_PASSWORD } = {}) {
    const res = await this.post('/api/auth/register', {
      username,
      email: email ?? `${username.toLowerCase()}@example.com`,
      password,
    });
    if (res.status !== 201 || !res.body?.token || !res.body?.user) {
      throw new Error(`register ${username} failed: HTTP ${res.status} ${res.text}`);
    }
    return { user: res.body.user, token: res.body.token, refresh_token: res.body.refresh_token, password };
  }

  // ---------------------------------------------------------------- Socket.IO

  /** A socket.io-client socket that is not connected yet (reconnection disabled). */
  socket(token, { transports, auth, ...options } = {}) {
    const socket = io(this.url, {
      forceNew: true,
      reconnection: false,
      timeout: 10_000,
      ...(transports ? { transports } : {}),
      auth: auth ?? (token === undefined ? {} : { token }),
      autoConnect: false,
      ...options,
    });
    this.sockets.add(socket);
    return socket;
  }

  /** Connects a socket and resolves once it is connected; rejects with the connect_error. */
  connect(token, options = {}) {
    const socket = this.socket(token, options);
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        socket.off('connect_error', onError);
        resolve(socket);
      };
      const onError = (err) => {
        socket.off('connect', onConnect);
        socket.disconnect();
        this.sockets.delete(socket);
        reject(err);
      };
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
      socket.connect();
    });
  }
}

/** Creates and starts a server for the selected database mode. */
export async function startServer(options) {
  const server = new ChatServer(options);
  try {
    await server.start();
  } catch (err) {
    server.cleanupSync();
    throw err;
  }
  return server;
}

// ---------------------------------------------------------------- event helpers

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

/**
 * Asserts that no secret of `secrets` (a token, a password), as is or percent-encoded, appears in
 * the output of `servers` nor in the access log of `nginx` (an `Nginx` of lib/nginx.js). Each
 * server's output must be complete (nothing dropped), or the check would mean nothing.
 */
export function assertNotLogged(secrets, { servers = [], nginx = null } = {}) {
  assert.ok(secrets.length > 0, 'no secret to look for');
  const logs = servers.map((server, i) => {
    assert.equal(server.outputDropped, 0, `the output of server ${i + 1} outgrew what the harness keeps: the check would be incomplete`);
    return [`the output of server ${i + 1}`, server.output];
  });
  if (nginx) logs.push(["nginx's access log", nginx.accessLog()]);
  for (const [i, secret] of secrets.entries()) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      for (const [name, text] of logs) {
        assert.ok(!text.includes(form), `${name} carries secret ${i + 1} of ${secrets.length}`);
      }
    }
  }
}

/** Root of the repository (the parent of e2e/). */
export const REPO_ROOT = path.resolve(E2E_ROOT, '..');

/**
 * Fills the `{{NAME}}` placeholders of a text template (nginx/nginx.conf.template). A value
 * is a string or an array of lines. A placeholder alone on its line becomes zero or more lines
 * at its indentation (an empty value removes the line); elsewhere it is replaced inline.
 * Throws when a placeholder has no value.
 */
export function renderTemplate(template, values) {
  const missing = new Set();
  const valueOf = (key) => {
    if (!Object.hasOwn(values, key)) {
      missing.add(key);
      return '';
    }
    return [].concat(values[key]).map(String).join('\n');
  };
  const lines = template.split('\n').flatMap((line) => {
    const alone = line.match(/^(\s*)\{\{(\w+)\}\}\s*$/);
    if (alone) {
      const value = valueOf(alone[2]);
      return value === '' ? [] : value.split('\n').map((l) => (l ? alone[1] + l : l));
    }
    return [line.replace(/\{\{(\w+)\}\}/g, (_, key) => valueOf(key))];
  });
  if (missing.size) throw new Error(`template placeholders without a value: ${[...missing].join(', ')}`);
  return lines.join('\n');
}
