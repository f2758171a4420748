// One deployment of several instances: what it needs and is missing (nginx, Redis, PostgreSQL),
// the environment its instances share, and the database they share.
//
// Environment: PGHOST / PGPORT / PGUSER (see lib/databases.js).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ChatServer } from './chatServer.js';
import { atExit } from './cleanup.js';
import { createPgDatabase, dropPgDatabase } from './databases.js';
import { findNginx } from './nginx.js';
import { hasCommand } from './processes.js';
import { REDIS_URL, redisAnswers } from './redis.js';

export const CI = process.env.CI === 'true';

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

/** A fresh PostgreSQL database for several instances; `drop()` removes it (also done at exit). */
export function sharedDatabase() {
  const db = createPgDatabase();
  const drop = () => {
    if (!cancel()) return;
    dropPgDatabase(db.name);
  };
  const cancel = atExit(drop);
  return { ...db, drop };
}

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

/** Starts `count` instances of one deployment: the first applies the migrations, then the others. */
export async function startInstances(count, env, db) {
  const servers = [new ChatServer({ database: db, env })];
  await servers[0].start();
  for (let i = 1; i < count; i++) servers.push(new ChatServer({ database: db, env }));
  await Promise.all(servers.slice(1).map((s) => s.start()));
  return servers;
}

/** Runs SQL on a deployment's database (`{url}`); returns its output rows (tuples only). */
export function sqlRows(database, statement) {
  const url = new URL(database.url);
  return execFileSync(
    'psql',
    ['-h', url.hostname, '-p', url.port || '5432', '-U', url.username, '-d', url.pathname.slice(1), '-v', 'ON_ERROR_STOP=1', '-qtAc', statement],
    { encoding: 'utf8', timeout: 60_000 },
  )
    .trim()
    .split('\n')
    .filter(Boolean);
}
