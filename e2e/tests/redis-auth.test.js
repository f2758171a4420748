// Redis with a password: the server authenticates with the password in REDIS_URL
// (redis://:PASSWORD@host:port), refuses to start with a missing or wrong one, and never writes
// the password to its output, not even at debug level.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CI, RedisServer, clusterEnv, hasCommand } from '../lib/cluster.js';
import { ChatServer, waitFor } from '../lib/server.js';
import { createDirect, sendText } from '../lib/chat.js';

const skip = hasCommand('redis-server') ? false : 'redis-server is not installed (apt-get install redis-server)';
if (skip && CI) throw new Error(`CI=true and the Redis AUTH suite cannot run: ${skip}`);

describe('Redis with a password', { timeout: 90_000, skip }, () => {
  const password = `pw${randomBytes(12).toString('hex')}`;
  let redis;
  const servers = [];

  before(async () => {
    redis = await new RedisServer({ password }).start();
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
  });

  function server(redisUrl, extra = {}) {
    const s = new ChatServer({ env: clusterEnv({ redisUrl, ...extra }) });
    servers.push(s);
    return s;
  }

  it('connects with the password in REDIS_URL and relays events through Redis', async () => {
    const s = await server(redis.url, { RUST_LOG: 'debug' }).start();
    const [alice, bob] = [await s.register(), await s.register()];
    const conversation = await createDirect(s, alice, bob);
    const [aliceSocket, bobSocket] = [await s.connect(alice.token), await s.connect(bob.token)];
    const arrived = waitFor(bobSocket, 'message:new', (m) => m?.content === 'through redis');
    await sendText(aliceSocket, conversation.id, 'through redis');
    await arrived;
    assert.match(s.output, /Redis adapter/i, 'the server did not use Redis');
    assert.ok(!s.output.includes(password), 'the Redis password is in the server output');
  });

  it('refuses to start without the password or with a wrong one, and does not print it', async () => {
    const wrong = `wrong${randomBytes(8).toString('hex')}`;
    for (const url of [`redis://127.0.0.1:${redis.port}`, `redis://:${wrong}@127.0.0.1:${redis.port}`]) {
      const s = server(url, { RUST_LOG: 'debug' });
      await assert.rejects(s.start(), `started with REDIS_URL ${url.replace(wrong, '***')}`);
      assert.ok(!s.output.includes(wrong), 'the wrong Redis password is in the server output');
      assert.ok(!s.output.includes(password), 'the Redis password is in the server output');
    }
  });
});
