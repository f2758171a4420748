// Several chat-server instances behind nginx for the web client tests: nginx rendered from
// nginx/nginx.conf.template (as tests/cluster.test.js does), PostgreSQL and Redis shared by the
// instances, and one TCP relay per browser user that connects to nginx from its own loopback
// address, so that nginx's sticky hash on the client address puts each user on the instance the
// test chose.
//
// Environment: E2E_REDIS_URL (default redis://127.0.0.1:6379), PGHOST / PGPORT / PGUSER (see
// lib/server.js).

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, createPgDatabase, dropPgDatabase, renderTemplate, sleep } from '../../lib/server.js';

export const REDIS_URL = process.env.E2E_REDIS_URL || 'redis://127.0.0.1:6379';

// ---------------------------------------------------------------- prerequisites

export function findNginx() {
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (found) return found;
  } catch {
    /* not on PATH */
  }
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p)) ?? null;
}

/** Resolves to true when Redis at `url` answers PING. */
export function redisAnswers(url = REDIS_URL) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port) || 6379 });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
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

/** What the nginx setup needs and is missing, as sentences (empty: all there). */
export async function missingForCluster() {
  const missing = [];
  if (!findNginx()) missing.push('nginx is not installed (apt-get install nginx)');
  if (!(await redisAnswers())) missing.push(`Redis does not answer at ${REDIS_URL}`);
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

/** Deletes every Redis key under `prefix` (best effort; needs redis-cli). */
export function deleteRedisKeys(prefix) {
  try {
    const keys = execFileSync('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', `${prefix}:*`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    })
      .split('\n')
      .filter(Boolean);
    for (let i = 0; i < keys.length; i += 200) {
      execFileSync('redis-cli', ['-u', REDIS_URL, 'DEL', ...keys.slice(i, i + 200)], { stdio: 'ignore', timeout: 10_000 });
    }
  } catch {
    /* no redis-cli: the keys stay under their unique prefix */
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

/** PIDs of the processes whose parent is `pid` (the workers of an nginx master). */
function childPids(pid) {
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

function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * nginx from nginx/nginx.conf.template in its own temporary prefix, listening on a free
 * 127.0.0.1 port, serving `clientDir` and proxying to `upstreams` (host:port) with the sticky
 * hash; run in the foreground as a child process and stopped by PID.
 */
export class Nginx {
  child = null;
  url = null;
  port = null;
  workers = [];

  constructor({ upstreams, clientDir }) {
    this.binary = findNginx();
    this.upstreams = upstreams;
    this.clientDir = clientDir;
    this.dir = mkdtempSync(path.join(tmpdir(), 'chat-nginx-'));
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
      STICKY: 'hash $remote_addr consistent;',
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
   * From the access log: for each client address, the upstreams that served its `path` requests
   * (a Map of address -> Set of host:port).
   */
  upstreamsByClient(pathPrefix = '/socket.io/') {
    const byClient = new Map();
    for (const line of this.accessLog().split('\n')) {
      const match = line.match(/^(\S+) \[[^\]]*\] "\S+ (\S+)[^"]*" \d+ \d+ upstream=(.*?) upstream_status=/);
      if (!match || !match[2].startsWith(pathPrefix) || match[3] === '-') continue;
      const [, client, , upstream] = match;
      if (!byClient.has(client)) byClient.set(client, new Set());
      // Several addresses ("a, b" or "a : b") when nginx tried more than one.
      for (const u of upstream.split(/, | : /)) byClient.get(client).add(u);
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
