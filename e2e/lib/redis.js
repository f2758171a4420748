// Redis for the tests: whether one answers, deleting a deployment's keys, and private
// redis-server processes (a single server or a Redis Cluster) on loopback ports.
//
// Environment: E2E_REDIS_URL (default redis://127.0.0.1:6379), the Redis the instances share
// unless a suite starts its own.

import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atExit } from './cleanup.js';
import { sleep } from './events.js';
import { freeClusterPort, freePort, killPid } from './processes.js';

export const REDIS_URL = process.env.E2E_REDIS_URL || 'redis://127.0.0.1:6379';

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
    this.cancelCleanup = atExit(this.cleanup);
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
    this.cancelCleanup();
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
