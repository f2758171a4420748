// Helpers for running several chat-server instances as one deployment, gathered in one place for
// the suites that use them. Each concern lives in its own module:
//
// - deployment.js: prerequisites (nginx, Redis, PostgreSQL), the shared environment and database;
// - nginx.js: nginx rendered from nginx/nginx.conf.template, its access log parsed;
// - clientAddresses.js: client addresses that nginx's sticky hash sends to a chosen instance;
// - redis.js: Redis checks and key cleanup, private redis-server processes (single or Cluster);
// - sockets.js: sockets to any URL, seq checks on histories;
// - processes.js: free ports, child processes, signals by PID;
// - cleanup.js: cleanup at exit, temporary directories.

export { atExit, tempDir } from './cleanup.js';
export { addressesPerUpstream, agentFrom, relay, request } from './clientAddresses.js';
export { CI, clusterEnv, missingForCluster, postgresAnswers, sharedDatabase, sqlRows, startInstances } from './deployment.js';
export { Nginx, clientDir, findNginx } from './nginx.js';
export { childPids, freeClusterPort, freePort, hasCommand, killPid } from './processes.js';
export {
  REDIS_URL,
  RedisServer,
  deleteRedisKeys,
  redisAnswers,
  redisCommand,
  startRedisCluster,
} from './redis.js';
export {
  assertSeqHistory,
  closeAllSockets,
  connectSocket,
  connectTo,
  contiguousUpTo,
  socketTo,
} from './sockets.js';
