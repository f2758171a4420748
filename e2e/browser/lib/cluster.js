// Several instances behind nginx for the web client tests. The helpers are shared with
// tests/cluster.test.js and tests/resilience.test.js and live in lib/cluster.js: nginx rendered from
// nginx/nginx.conf.template, PostgreSQL and Redis shared by the instances, and one TCP relay per
// browser user that connects to nginx from its own loopback address, so that nginx's sticky hash
// on the client address puts each user on the instance the test chose.
//
// Environment: E2E_REDIS_URL (default redis://127.0.0.1:6379), PGHOST / PGPORT / PGUSER (see
// lib/server.js).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChatServer } from '../../lib/server.js';
import { Nginx, REDIS_URL, addressesPerUpstream, deleteRedisKeys, relay, sharedDatabase, tempDir } from '../../lib/cluster.js';

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

/**
 * Two instances on one PostgreSQL database and Redis behind nginx, serving the web client of
 * `clientDir`; alice's relay lands on the first instance, bob's on the second. `baseUrlOf(user)`
 * is the URL a user's page opens; `stop()` undoes everything; `assertOwnInstances()` checks, once
 * the pages are closed (nginx logs WebSocket requests when they end), that each user's Socket.IO
 * traffic went to their own instance only.
 */
export async function twoInstancesBehindNginx(clientDir) {
  const uploads = tempDir('chat-uploads-');
  const env = {
    REDIS_URL: REDIS_URL,
    REDIS_PREFIX: `chat_e2e_${randomBytes(6).toString('hex')}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    SHUTDOWN_TIMEOUT: '5',
    UPLOAD_DIR: uploads.dir,
    CLIENT_DIR: clientDir,
  };
  const db = sharedDatabase();
  const servers = [];
  let nginx = null;
  const relays = [];
  const stop = async () => {
    for (const r of relays) await r.stop();
    await nginx?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    db.drop();
    uploads.remove();
    deleteRedisKeys(env.REDIS_PREFIX);
  };
  try {
    // The first instance applies the migrations, the second starts on the migrated database.
    servers.push(new ChatServer({ database: db, env }));
    await servers[0].start();
    servers.push(new ChatServer({ database: db, env }));
    await servers[1].start();
    const upstreams = servers.map((s) => new URL(s.url).host);
    nginx = new Nginx({ upstreams, clientDir });
    await nginx.start();
    // nginx pins a client to an instance by its address: alice comes from an address that lands
    // on the first instance, bob from one that lands on the second.
    const addresses = await addressesPerUpstream(nginx, upstreams);
    const target = `127.0.0.1:${nginx.port}`;
    relays.push(await relay(target, addresses.get(upstreams[0])));
    relays.push(await relay(target, addresses.get(upstreams[1])));
    const upstreamOf = new Map([['alice', upstreams[0]], ['bob', upstreams[1]]]);
    return {
      nginx,
      servers,
      baseUrlOf: (user) => (user.name === 'alice' ? relays[0].url : relays[1].url),
      stop,
      assertOwnInstances() {
        const byClient = nginx.upstreamsByClient('/socket.io/');
        for (const [i, name] of ['alice', 'bob'].entries()) {
          const seen = byClient.get(relays[i].localAddress);
          assert.ok(seen, `no Socket.IO request from ${name}'s address ${relays[i].localAddress} in the nginx log`);
          assert.deepEqual([...seen], [upstreamOf.get(name)], `instances that served ${name}`);
        }
        assert.notEqual(upstreamOf.get('alice'), upstreamOf.get('bob'));
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
