// coturn, the TURN server calls relay through, as a child process: loopback only, on free ports,
// checking credentials by the TURN REST scheme the chat server mints (use-auth-secret with a
// random static-auth-secret), configured on its command line only (no configuration file, no
// database, no CLI), and stopped by PID.
//
// Environment:
//   TURNSERVER_PATH   the coturn binary (default /usr/bin/turnserver, Debian package coturn)
//   E2E_SERVER_LOG=1  copy coturn's log to stderr while the tests run

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { atExit } from './cleanup.js';
import { sleep } from './events.js';
import { killPid } from './processes.js';

export const TURNSERVER_PATH = process.env.TURNSERVER_PATH || '/usr/bin/turnserver';

const START_TIMEOUT_MS = 15_000;
const OUTPUT_LIMIT = 200_000;
/** Relay ports are picked below the kernel's ephemeral range, so no outgoing socket takes one meanwhile. */
const PORT_FLOOR = 20_000;
const PORT_CEILING = 32_000;
/** Private and special ranges a relay must not reach (loopback excepted here, see below). */
const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.168.0.0-192.168.255.255',
];

/** base64(HMAC-SHA1(secret, username)): the password coturn's use-auth-secret expects. */
export function turnPassword(secret, username) {
  return createHmac('sha1', secret).update(username).digest('base64');
}

function tcpPortIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpPortIsFree(port) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** `count` consecutive ports on 127.0.0.1 free for both TCP and UDP; resolves to the first. */
async function freePortRange(count) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = PORT_FLOOR + Math.floor(Math.random() * (PORT_CEILING - PORT_FLOOR - count));
    let free = true;
    for (let port = first; free && port < first + count; port++) {
      free = (await tcpPortIsFree(port)) && (await udpPortIsFree(port));
    }
    if (free) return first;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

/** Whether a STUN Binding request to 127.0.0.1:port (UDP) is answered within `ms`. */
function stunBindingAnswered(port, ms = 500) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const transaction = randomBytes(12);
    // RFC 5389 header: Binding request, no attributes, magic cookie, transaction id.
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), transaction]);
    const done = (answered) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('error', () => done(false));
    socket.on('message', (reply) => {
      // A Binding success response (0x0101) to this transaction.
      if (reply.length >= 20 && reply.readUInt16BE(0) === 0x0101 && reply.subarray(8, 20).equals(transaction)) done(true);
    });
    socket.send(request, port, '127.0.0.1');
  });
}

function tcpAccepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * One coturn process. `start()` picks a free listening port (UDP and TCP) and a free relay port
 * range, and resolves once coturn answers STUN over UDP and accepts TCP connections.
 */
export class Coturn {
  child = null;
  port = null;
  minPort = null;
  maxPort = null;
  output = '';
  #exited = null;

  constructor({ secret = randomBytes(32).toString('hex'), realm = 'chat.test', relayPorts = 32, binary = TURNSERVER_PATH } = {}) {
    this.secret = secret;
    this.realm = realm;
    this.relayPorts = relayPorts;
    this.binary = binary;
    this.dir = mkdtempSync(path.join(tmpdir(), 'chat-coturn-'));
    this.cleanup = () => this.cleanupSync();
    this.cancelCleanup = atExit(this.cleanup);
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  /** TURN URLs of this server over UDP and TCP, as TURN_URLS lists them. */
  get urls() {
    return [`turn:127.0.0.1:${this.port}?transport=udp`, `turn:127.0.0.1:${this.port}?transport=tcp`];
  }

  /** REST-scheme credentials for `userId` expiring at `expiry` (unix seconds), signed with `secret`. */
  credentials(userId, expiry, secret = this.secret) {
    const username = `${expiry}:${userId}`;
    return { username, credential: turnPassword(secret, username) };
  }

  async start() {
    if (this.child) throw new Error('coturn already running');
    if (!existsSync(this.binary)) {
      throw new Error(`coturn not found at ${this.binary} (apt-get install coturn, or set TURNSERVER_PATH)`);
    }
    const first = await freePortRange(this.relayPorts + 1);
    this.port = first;
    this.minPort = first + 1;
    this.maxPort = first + this.relayPorts;
    const dir = this.dir;
    const args = [
      // No configuration file: Debian's /etc/turnserver.conf (syslog, ...) must not apply.
      '-c', '/dev/null',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${this.port}`,
      `--min-port=${this.minPort}`,
      `--max-port=${this.maxPort}`,
      '--use-auth-secret',
      `--static-auth-secret=${this.secret}`,
      `--realm=${this.realm}`,
      // Both browsers' relay addresses are 127.0.0.1, so each is a loopback peer of the other's
      // allocation; coturn refuses loopback peers unless told (never in production).
      '--allow-loopback-peers',
      '--no-multicast-peers',
      ...DENIED_PEER_RANGES.map((range) => `--denied-peer-ip=${range}`),
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--fingerprint',
      // Logs each request's outcome (401 for refused credentials), which the tests read.
      '--verbose',
      '--log-file=stdout',
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      // Otherwise coturn opens (or creates) a user database under /var/lib/turn.
      `--userdb=${path.join(dir, 'turndb')}`,
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const onData = (chunk) => {
      const text = chunk.toString('utf8');
      if (process.env.E2E_SERVER_LOG) process.stderr.write(text);
      this.output += text;
      if (this.output.length > OUTPUT_LIMIT) this.output = this.output.slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let spawnError = null;
    child.once('error', (err) => (spawnError = err));

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        const why = spawnError ? spawnError.message : `exit code ${child.exitCode}, signal ${child.signalCode}`;
        this.child = null;
        throw new Error(`coturn exited at start (${why}):\n${this.output}`);
      }
      if ((await stunBindingAnswered(this.port)) && (await tcpAccepts(this.port))) return this;
      if (Date.now() > deadline) {
        throw new Error(`coturn did not answer on 127.0.0.1:${this.port} within ${START_TIMEOUT_MS} ms:\n${this.output}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM by PID, SIGKILL if it has not exited within 5 s; then its files are removed. */
  async stop() {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      killPid(child.pid, 'SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
      if ((await Promise.race([this.#exited, timeout])) === 'timeout') {
        killPid(child.pid, 'SIGKILL');
        await this.#exited;
      }
    }
    this.child = null;
    this.cleanupSync();
  }

  /** Kills the process if still running (also when the test process exits early) and removes its files. */
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

/** Creates and starts a coturn (see `Coturn`). */
export async function startCoturn(options) {
  const coturn = new Coturn(options);
  try {
    await coturn.start();
  } catch (err) {
    coturn.cleanupSync();
    throw err;
  }
  return coturn;
}
