// Helpers for running several chat-server instances as one deployment: prerequisites (nginx,
// Redis, PostgreSQL), nginx rendered from nginx/nginx.conf.template, client addresses that
// nginx's sticky hash sends to a chosen instance, private redis-server processes (a single
// server or a Redis Cluster), shared databases, sockets to any URL, and cleanup at exit.
//
// Environment: E2E_REDIS_URL (default redis://127.0.0.1:6379), the Redis the instances share
// unless a suite starts its own; PGHOST / PGPORT / PGUSER (see lib/server.js).

import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { REPO_ROOT, createPgDatabase, dropPgDatabase, renderTemplate, sleep } from './server.js';

export const REDIS_URL = process.env.E2E_REDIS_URL || 'redis://127.0.0.1:6379';
export const CI = process.env.CI === 'true';

// ---------------------------------------------------------------- prerequisites

/** Whether `name` is an executable on PATH. */
export function hasCommand(name) {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
  } catch {
    return false;
  }
}

export function findNginx() {
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (found) return found;
  } catch {
    /* not on PATH */
  }
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p)) ?? null;
}

/** Resolves to true when Redis at `url` answers PING (after AUTH when the URL has a password). */
export function redisAnswers(url = REDIS_URL) {
  const { hostname, port, password } = new URL(url);
  const bulk = (text) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  const auth = password ? `*2\r\n${bulk('AUTH')}${bulk(decodeURIComponent(password))}` : '';
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) || 6379 });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write(`${auth}*1\r\n$4\r\nPING\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n');
      if (lines.length > (auth ? 2 : 1)) done(lines[auth ? 1 : 0].startsWith('+PONG'));
    });
  });
}

export function postgresAnswers() {
  try {
    const db = createPgDatabase();
    dropPgDatabase(db.name);
    return true;
  } catch {
    return false;
  }
}

/**
 * What a multi-instance setup needs and is missing, as sentences (empty: all there).
 * `redisServer`: the suite starts its own redis-server processes (and needs redis-cli).
 */
export async function missingForCluster({ redisServer = false } = {}) {
  const missing = [];
  if (!findNginx()) missing.push('nginx is not installed (apt-get install nginx)');
  if (!(await redisAnswers())) missing.push(`Redis does not answer at ${REDIS_URL}`);
  if (redisServer) {
    for (const command of ['redis-server', 'redis-cli']) {
      if (!hasCommand(command)) missing.push(`${command} is not installed (apt-get install redis-server)`);
    }
  }
  if (!postgresAnswers()) missing.push('PostgreSQL does not answer (PGHOST/PGPORT/PGUSER), the instances share one database');
  return missing;
}

// ---------------------------------------------------------------- cleanup

const cleanups = new Set();
process.on('exit', () => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      /* best effort */
    }
  }
});

/** Runs `cleanup` (synchronous) when the process exits; returns a function that cancels it. */
export function atExit(cleanup) {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** A fresh PostgreSQL database for several instances; `drop()` removes it (also done at exit). */
export function sharedDatabase() {
  const db = createPgDatabase();
  const drop = () => {
    if (!cleanups.delete(drop)) return;
    dropPgDatabase(db.name);
  };
  cleanups.add(drop);
  return { ...db, drop };
}

/** A temporary directory removed by `remove()` (also at exit). */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const remove = () => {
    if (!cleanups.delete(remove)) return;
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.add(remove);
  return { dir, remove };
}

/**
 * Deletes every Redis key of a deployment with `prefix` (best effort; needs redis-cli): the keys
 * are written `{prefix}:...` (a hash tag), older ones `prefix:...`.
 */
export function deleteRedisKeys(prefix, url = REDIS_URL) {
  for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
    try {
      const keys = execFileSync('redis-cli', ['-u', url, '--scan', '--pattern', pattern], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 10_000,
      })
        .split('\n')
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 200) {
        execFileSync('redis-cli', ['-u', url, 'DEL', ...keys.slice(i, i + 200)], { stdio: 'ignore', timeout: 10_000 });
      }
    } catch {
      /* no redis-cli: the keys stay under their unique prefix */
    }
  }
}

// ---------------------------------------------------------------- processes

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port N on 127.0.0.1 whose N + 10000 (a Redis Cluster node's bus port) is free too. */
export async function freeClusterPort() {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair (N, N + 10000) on 127.0.0.1');
}

/** PIDs of the processes whose parent is `pid` (the workers of an nginx master). */
export function childPids(pid) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The built web client, or a small stand-in with the same layout (in `scratch`) when it is not built. */
export function clientDir(scratch) {
  const built = path.join(REPO_ROOT, 'client', 'dist');
  if (existsSync(path.join(built, 'index.html'))) return built;
  const dir = path.join(scratch, 'client');
  mkdirSync(path.join(dir, 'assets'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><body><div id="root"></div></body></html>\n');
  writeFileSync(path.join(dir, 'assets', 'app.js'), `console.log(${JSON.stringify('x'.repeat(4096))});\n`);
  return dir;
}

// ---------------------------------------------------------------- nginx

/**
 * nginx rendered from nginx/nginx.conf.template in its own temporary prefix (configuration, pid
 * file, logs, temp files), listening on a free 127.0.0.1 port, proxying to `upstreams`
 * (host:port; with the sticky hash on the client address unless `sticky: false`) and serving
 * `clientDir` (default: the built client, or a stand-in); run in the foreground as a child
 * process and stopped by PID.
 */
export class Nginx {
  child = null;
  url = null;
  port = null;
  workers = [];

  constructor({ upstreams, sticky = true, clientDir: dir = null }) {
    this.binary = findNginx();
    this.upstreams = upstreams;
    this.sticky = sticky;
    this.dir = mkdtempSync(path.join(tmpdir(), 'chat-nginx-'));
    this.clientDir = dir ?? clientDir(this.dir);
    this.cleanup = () => this.cleanupSync();
    cleanups.add(this.cleanup);
  }

  async start() {
    this.port = await freePort();
    const d = this.dir;
    const main = ['daemon off;'];
    if (process.getuid?.() === 0) main.push('user root;'); // workers run as the current user
    const config = renderTemplate(readFileSync(path.join(REPO_ROOT, 'nginx', 'nginx.conf.template'), 'utf8'), {
      MAIN: main,
      PID_FILE: path.join(d, 'nginx.pid'),
      ERROR_LOG: path.join(d, 'error.log'),
      ACCESS_LOG: path.join(d, 'access.log'),
      TEMP_DIR: d,
      MIME_TYPES: existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : this.#mimeTypes(),
      STICKY: this.sticky ? 'hash $remote_addr consistent;' : '',
      UPSTREAMS: this.upstreams.map((hostPort) => `server ${hostPort} max_fails=0;`),
      LISTEN: `127.0.0.1:${this.port}`,
      CLIENT_DIR: this.clientDir,
    });
    this.configPath = path.join(d, 'nginx.conf');
    writeFileSync(this.configPath, config);
    let output = '';
    const child = spawn(this.binary, ['-p', `${d}/`, '-c', this.configPath, '-e', path.join(d, 'error.log')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const url = `http://127.0.0.1:${this.port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`nginx exited at start:\n${output}\n${this.errorLog()}`);
      }
      try {
        const res = await fetch(`${url}/health`);
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`nginx did not answer /health within 15 s:\n${output}\n${this.errorLog()}`);
      await sleep(100);
    }
    this.url = url;
    this.workers = childPids(child.pid);
    return this;
  }

  #mimeTypes() {
    const file = path.join(this.dir, 'mime.types');
    writeFileSync(
      file,
      'types { text/html html; text/css css; application/javascript js; image/svg+xml svg; application/json json; image/png png; }\n',
    );
    return file;
  }

  errorLog() {
    try {
      return readFileSync(path.join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  accessLog() {
    try {
      return readFileSync(path.join(this.dir, 'access.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * The access log as [{client, method, path, status, upstreams: [host:port, ...], upstreamStatus}]:
   * `upstreams` lists every instance nginx tried for the request, in order.
   */
  accessEntries() {
    const entries = [];
    for (const line of this.accessLog().split('\n')) {
      const match = line.match(/^(\S+) \[[^\]]*\] "(\S+) (\S+)[^"]*" (\d+) \d+ upstream=(.*?) upstream_status=(\S*)/);
      if (!match) continue;
      const [, client, method, urlPath, status, upstream, upstreamStatus] = match;
      entries.push({
        client,
        method,
        path: urlPath,
        status: Number(status),
        upstreams: upstream === '-' ? [] : upstream.split(/, | : /),
        upstreamStatus,
      });
    }
    return entries;
  }

  /**
   * From the access log: for each client address, the upstreams that served its `path` requests
   * (a Map of address -> Set of host:port).
   */
  upstreamsByClient(pathPrefix = '/socket.io/') {
    const byClient = new Map();
    for (const entry of this.accessEntries()) {
      if (!entry.path.startsWith(pathPrefix) || entry.upstreams.length === 0) continue;
      if (!byClient.has(entry.client)) byClient.set(entry.client, new Set());
      // Several addresses when nginx tried more than one.
      for (const u of entry.upstreams) byClient.get(entry.client).add(u);
    }
    return byClient;
  }

  /** Fast shutdown (SIGTERM to the master), SIGKILL to master and workers if that hangs. */
  async stop() {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const workers = [...new Set([...this.workers, ...childPids(child.pid)])];
      killPid(child.pid, 'SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
      if ((await Promise.race([this.exited, timeout])) === 'timeout') {
        killPid(child.pid, 'SIGKILL');
        for (const pid of workers) killPid(pid, 'SIGKILL');
        await this.exited;
      }
    }
    this.child = null;
    this.cleanupSync();
  }

  cleanupSync() {
    if (this.child) {
      for (const pid of [...this.workers, ...childPids(this.child.pid)]) killPid(pid, 'SIGKILL');
      killPid(this.child.pid, 'SIGKILL');
      this.child = null;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    cleanups.delete(this.cleanup);
  }
}

// ---------------------------------------------------------------- client addresses

/** GET `url` over a connection from `localAddress`; resolves to the status. */
function getFrom(url, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} from ${localAddress} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Loopback addresses (127.0.0.x) from which nginx's sticky hash sends a client to each of
 * `upstreams`, found by asking nginx and reading its access log. Resolves to a Map of
 * upstream host:port -> client address.
 */
export async function addressesPerUpstream(nginx, upstreams) {
  const found = new Map();
  for (let x = 2; x < 250 && found.size < upstreams.length; x++) {
    const address = `127.0.0.${x}`;
    const status = await getFrom(`${nginx.url}/health?from=${address}`, address);
    if (status !== 200) throw new Error(`GET /health through nginx from ${address}: HTTP ${status}`);
    let upstream;
    const deadline = Date.now() + 2_000;
    while (!upstream && Date.now() < deadline) {
      upstream = nginx.upstreamsByClient('/health').get(address);
      if (!upstream) await sleep(20);
    }
    if (!upstream) throw new Error(`nginx logged no upstream for ${address}`);
    const [only] = [...upstream];
    if (upstream.size === 1 && upstreams.includes(only) && !found.has(only)) found.set(only, address);
  }
  if (found.size < upstreams.length) throw new Error(`no client address reaches each of ${upstreams.join(', ')}`);
  return found;
}

/**
 * A TCP relay on a free 127.0.0.1 port to `target` (host:port), connecting from `localAddress`:
 * a browser that loads `url` reaches nginx as a client at `localAddress`.
 */
export async function relay(target, localAddress) {
  const [host, port] = target.split(':');
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host, port: Number(port), localAddress });
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${server.address().port}`, localAddress, stop };
}

/**
 * An HTTP agent whose connections come from `localAddress` (127.0.0.x): a Node client (HTTP
 * requests, and socket.io-client through its `agent` option, for polling and WebSocket) that
 * nginx sees at that address.
 */
export function agentFrom(localAddress) {
  return new http.Agent({ localAddress });
}

/**
 * HTTP request with node:http (so that it can go through `agent`); `body` is sent as JSON.
 * Resolves to {status, body, text}; rejects on a connection error or after `timeoutMs`.
 */
export function request(url, { method = 'GET', token, body, agent, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = http.request(url, { method, headers, agent: agent ?? false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

// ---------------------------------------------------------------- instances

/** Environment shared by every instance of one deployment. */
export function clusterEnv({ redisUrl = REDIS_URL, presenceTtl = 6, ...overrides } = {}) {
  return {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `chat_e2e_${randomBytes(6).toString('hex')}`,
    PRESENCE_TTL: String(presenceTtl),
    JWT_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_TIMEOUT: '5',
    // As behind nginx in production: the proxy's X-Forwarded-For is believed.
    TRUSTED_PROXIES: '127.0.0.1',
    // Every test user comes from 127.0.0.x: rate limits are not what these suites are about.
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
    AUTH_RATE_LIMIT_PER_MINUTE: '100000',
    AUTH_RATE_LIMIT_BURST: '100000',
    SOCKET_EVENTS_PER_SECOND: '100000',
    SOCKET_EVENTS_BURST: '100000',
    HANDSHAKES_PER_MINUTE: '0',
    ...overrides,
  };
}

// ---------------------------------------------------------------- sockets

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
  assert.equal(new Set(history.map((m) => m.id)).size, total, 'a message id repeats');
  const byId = new Map(history.map((m) => [m.id, m]));
  for (const m of acked) {
    assert.equal(byId.get(m.id)?.seq, m.seq, `acked message ${m.id} has seq ${m.seq}, history says ${byId.get(m.id)?.seq}`);
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

// ---------------------------------------------------------------- private Redis

/**
 * A redis-server process of the tests' own, on a loopback port (a free one unless given), with
 * nothing saved to disk; `cluster: true` makes it a Redis Cluster node. Stopped by PID.
 */
export class RedisServer {
  child = null;
  output = '';

  constructor({ port = null, cluster = false, password = null } = {}) {
    this.port = port;
    this.cluster = cluster;
    this.password = password;
    this.dir = mkdtempSync(path.join(tmpdir(), 'chat-redis-'));
    this.cleanup = () => this.cleanupSync();
    cleanups.add(this.cleanup);
  }

  get url() {
    return this.password ? `redis://:${this.password}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  /** Starts the process (again, on the same port after `kill`) and resolves once it answers PING. */
  async start() {
    if (this.child) throw new Error('redis-server already running');
    if (!this.port) this.port = this.cluster ? await freeClusterPort() : await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir];
    if (this.password) args.push('--requirepass', this.password);
    if (this.cluster) {
      args.push(
        '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(this.dir, `nodes-${this.port}.conf`),
        '--cluster-node-timeout', '2000',
      );
    }
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const keep = (c) => {
      this.output = (this.output + c).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 10_000;
    while (!(await redisAnswers(this.url))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await this.kill('SIGKILL');
        throw new Error(`redis-server on port ${this.port} did not answer PING:\n${this.output}`);
      }
      await sleep(50);
    }
    return this;
  }

  /** Sends `signal` (by PID) and waits until the process has exited. */
  async kill(signal = 'SIGKILL') {
    const child = this.child;
    if (!child) return;
    killPid(child.pid, signal);
    await this.exited;
    if (this.child === child) this.child = null;
  }

  async stop() {
    await this.kill('SIGKILL');
    this.cleanupSync();
  }

  cleanupSync() {
    if (this.child) {
      killPid(this.child.pid, 'SIGKILL');
      this.child = null;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    cleanups.delete(this.cleanup);
  }
}

function redisCli(args, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs one command with redis-cli against `server` (a RedisServer); resolves to its output. */
export function redisCommand(server, ...args) {
  return redisCli(['-h', '127.0.0.1', '-p', String(server.port), ...args], 10_000);
}

/**
 * A Redis Cluster of `size` masters (no replicas) on loopback ports; resolves to
 * {nodes: [RedisServer], url: "redis-cluster://127.0.0.1:<first port>", stop()} once every
 * node reports cluster_state:ok.
 */
export async function startRedisCluster(size = 3) {
  const nodes = [];
  const stop = () => Promise.all(nodes.map((n) => n.stop()));
  try {
    for (let i = 0; i < size; i++) {
      const node = new RedisServer({ cluster: true });
      nodes.push(node);
      await node.start();
    }
    await redisCli(['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => redisCli(['-h', '127.0.0.1', '-p', String(n.port), 'cluster', 'info'], 5_000)));
      if (infos.every((info) => /cluster_state:ok/.test(info))) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not reach cluster_state:ok:\n${infos.join('\n')}`);
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, url: `redis-cluster://127.0.0.1:${nodes[0].port}`, stop };
}
