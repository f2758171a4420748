// The chat-server binary as a child process: where the binary is, the environment it is started
// with (settings only from the harness, generous rate limits), its data directory and database,
// starting it until it prints its address, its output captured, signals by PID, and removal of
// its data afterwards (also at exit).
//
// Environment:
//   CHAT_SERVER_BIN   path of the server binary
//                     (default: ${CARGO_TARGET_DIR || '../target'}/debug/chat-server)
//   E2E_SERVER_LOG=1  copy the server's output to stderr while the tests run

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atExit } from './cleanup.js';
import { createPgDatabase, dbMode, dropPgDatabase } from './databases.js';
import { E2E_ROOT } from './repository.js';

/** Path of the server binary under test. */
export function serverBinary() {
  if (process.env.CHAT_SERVER_BIN) return path.resolve(process.env.CHAT_SERVER_BIN);
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.resolve(E2E_ROOT, '..', 'target');
  return path.join(targetDir, 'debug', 'chat-server');
}

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
 * One chat-server process with its own data directory (and its own PostgreSQL database in
 * postgres mode), started again on the same data after `kill`. Anything still alive when the
 * test process exits is killed, and its database dropped, so an aborted run leaves neither
 * processes nor databases behind.
 */
export class ServerProcess {
  /** @type {import('node:child_process').ChildProcess | null} */
  child = null;
  url = null;
  /** What the process printed (stdout and stderr, every run), its last OUTPUT_LIMIT characters. */
  output = '';
  /** How many characters of output were dropped to stay under OUTPUT_LIMIT. */
  outputDropped = 0;
  #exited = null;
  #cancelCleanup;

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
    this.#cancelCleanup = atExit(() => this.cleanupSync());
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

  /** Copies the server's warnings and errors to stderr, so a failed run says what the server saw. */
  reportWarnings(url) {
    const lines = this.output.split('\n').filter((line) => /\b(WARN|ERROR)\b/.test(line));
    if (lines.length === 0) return;
    const shown = lines.slice(-40);
    process.stderr.write(`--- warnings of the server at ${url} (${lines.length}, last ${shown.length}) ---\n${shown.join('\n')}\n`);
  }

  /** Kills the process at once and removes its database and data directory. */
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
    this.#cancelCleanup();
  }
}
