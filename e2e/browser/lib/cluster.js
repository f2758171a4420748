// Several instances behind nginx for the web client tests. The helpers are shared with
// tests/cluster.test.js and tests/resilience.test.js and live in lib/cluster.js: nginx rendered from
// nginx/nginx.conf.template, PostgreSQL and Redis shared by the instances, and one TCP relay per
// browser user that connects to nginx from its own loopback address, so that nginx's sticky hash
// on the client address puts each user on the instance the test chose.
//
// Environment: E2E_REDIS_URL (default redis://127.0.0.1:6379), PGHOST / PGPORT / PGUSER (see
// lib/server.js).

export {
  Nginx,
  REDIS_URL,
  addressesPerUpstream,
  deleteRedisKeys,
  findNginx,
  freePort,
  missingForCluster,
  postgresAnswers,
  redisAnswers,
  relay,
  sharedDatabase,
  tempDir,
} from '../../lib/cluster.js';
