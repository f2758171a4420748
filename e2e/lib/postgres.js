// A private PostgreSQL server for one suite, on a loopback port of its own, which the suite may
// stop and start again at will (the shared one at PGHOST/PGPORT must never be disturbed).

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { atExit, tempDir } from './cleanup.js';
import { hasCommand, killPid } from './processes.js';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** The bin directory of the highest installed PostgreSQL version, or null. */
export function postgresBinDir() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}

function osUserExists(name) {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What running a private PostgreSQL needs and is missing, as sentences (empty: all there). */
export function missingForPrivatePostgres() {
  const missing = [];
  const bin = postgresBinDir();
  if (!bin) missing.push('initdb not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  else if (!existsSync(path.join(bin, 'pg_ctl'))) missing.push(`pg_ctl not found in ${bin}`);
  if (!hasCommand('psql')) missing.push('psql is not installed (apt-get install postgresql-client)');
  // PostgreSQL refuses to run as root: it then runs as the postgres OS user.
  if (asRoot) {
    if (!hasCommand('runuser')) missing.push('running as root and runuser is not installed (util-linux)');
    if (!osUserExists('postgres')) missing.push('running as root and there is no "postgres" OS user');
  }
  return missing;
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

// Below the kernel's ephemeral range (32768+): while the server is stopped, an outgoing
// connection cannot take its port, so it can start again on the same one.
async function freeFixedPort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port)) return port;
  }
  throw new Error('no free port on 127.0.0.1 for PostgreSQL');
}

/**
 * `initdb` into a fresh temporary directory (trust authentication, user postgres), served on a
 * loopback port with fsync off. `stop` and `start` keep the data directory and the port.
 */
export class PrivatePostgres {
  port = null;
  running = false;

  constructor() {
    this.bin = postgresBinDir();
    if (!this.bin) throw new Error('no PostgreSQL installation under /usr/lib/postgresql');
    // Registered before the directory's removal, so that at exit the server is ended first.
    this.cancelStop = atExit(() => this.stopSync());
    const { dir, remove } = tempDir('chat-pg-');
    this.dir = dir;
    this.removeDir = remove;
    this.dataDir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'postgres.log');
  }

  /** Runs a PostgreSQL program (as the postgres OS user when we are root). */
  #pg(program, args, timeout = 60_000) {
    const file = path.join(this.bin, program);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    // The postgres user may not be allowed into the caller's working directory.
    return run(cmd, argv, { cwd: this.dir, timeout, encoding: 'utf8' }).catch((err) => {
      err.message += `\n${err.stdout ?? ''}${err.stderr ?? ''}${this.log()}`;
      throw err;
    });
  }

  log() {
    try {
      return `\n--- PostgreSQL log (tail) ---\n${readFileSync(this.logFile, 'utf8').slice(-4_000)}`;
    } catch {
      return '';
    }
  }

  url(name) {
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  /** Creates the cluster on the first call; starts the server and resolves once it accepts connections. */
  async start() {
    if (this.running) throw new Error('PostgreSQL already running');
    if (!existsSync(this.dataDir)) {
      if (asRoot) {
        chmodSync(this.dir, 0o755);
        execFileSync('chown', ['-R', 'postgres:postgres', this.dir]);
      }
      await this.#pg('initdb', ['-D', this.dataDir, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    }
    if (!this.port) this.port = await freeFixedPort();
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    // -l: without a log file the postmaster would keep pg_ctl's output pipes open.
    await this.#pg('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', this.logFile, '-o', options]);
    this.running = true;
  }

  /** `pg_ctl stop -m <mode>`: `immediate` is a crash of the server, `fast` a clean shutdown. */
  async stop({ mode = 'fast' } = {}) {
    if (!this.running) return;
    await this.#pg('pg_ctl', ['stop', '-w', '-t', '60', '-D', this.dataDir, '-m', mode]);
    this.running = false;
  }

  async restart({ mode = 'fast' } = {}) {
    await this.stop({ mode });
    await this.start();
  }

  /** Creates database `name`; resolves to `{name, url}` (what ChatServer's `database` option takes). */
  async createDatabase(name) {
    await run('psql', ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE "${name}"`], {
      timeout: 30_000,
    });
    return { name, url: this.url(name) };
  }

  async cleanup() {
    try {
      await this.stop({ mode: 'immediate' });
    } finally {
      this.stopSync();
      this.cancelStop();
      this.removeDir();
    }
  }

  // At exit nothing can be awaited: the postmaster this class started is ended by its PID.
  stopSync() {
    if (!this.running) return;
    try {
      const pid = Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) killPid(pid, 'SIGQUIT');
    } catch {
      /* not running */
    }
    this.running = false;
  }
}
