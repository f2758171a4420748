// The database of a run: which flavour the suites use (E2E_DB), and the fresh PostgreSQL
// databases the servers get in postgres mode, created and dropped with psql.
//
// Environment:
//   E2E_DB            sqlite (default) | postgres
//   PGHOST / PGPORT / PGUSER
//                     PostgreSQL used when E2E_DB=postgres (default 127.0.0.1 / 5432 / postgres,
//                     trust authentication); every server gets its own fresh database.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

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

/** Creates a fresh PostgreSQL database; returns {name, url}. */
export function createPgDatabase() {
  const name = `chat_e2e_${randomBytes(6).toString('hex')}`;
  psql(`CREATE DATABASE "${name}"`);
  return { name, url: `postgres://${PG.user}@${PG.host}:${PG.port}/${name}` };
}

/** Drops a database made by `createPgDatabase` (closing its connections). */
export function dropPgDatabase(name) {
  psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
