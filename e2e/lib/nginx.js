// nginx in front of several instances: rendered from nginx/nginx.conf.template into a temporary
// prefix, run as a child process, its access log parsed to see which instance served whom.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { atExit } from './cleanup.js';
import { sleep } from './events.js';
import { childPids, freePort, killPid } from './processes.js';
import { REPO_ROOT, renderTemplate } from './repository.js';

export function findNginx() {
  try {
    const found = execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (found) return found;
  } catch {
    /* not on PATH */
  }
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p)) ?? null;
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
    this.cancelCleanup = atExit(this.cleanup);
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
    this.cancelCleanup();
  }
}
