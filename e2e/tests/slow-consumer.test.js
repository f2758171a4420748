// A socket that stops reading fills its outgoing queue. The server then
// disconnects it instead of dropping events for it silently; the client
// reconnects, fetches `after_seq` and ends with every message exactly once.
// Its peers keep receiving throughout.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, sleep } from '../lib/server.js';
import { allMessages, createGroup, newClientId } from '../lib/chat.js';
import { contiguousUpTo } from '../lib/cluster.js';

const QUEUE = 64;
const MESSAGES = 2000;
// Big messages fill the kernel's socket buffers (between the server and the
// paused client) quickly, so the server's own queue is reached.
const PADDING = 'x'.repeat(3_900);

describe('slow consumers', { timeout: 90_000 }, () => {
  let server;
  let sender;
  let slow;
  let steady;
  let group;

  before(async () => {
    server = await startServer({
      env: { SOCKET_QUEUE_PACKETS: String(QUEUE), SOCKET_EVENTS_PER_SECOND: '100000', SOCKET_EVENTS_BURST: '100000' },
    });
    [sender, slow, steady] = await Promise.all([1, 2, 3].map(() => server.register()));
    group = await createGroup(server, sender, [slow, steady], 'slow consumers');
  });

  after(async () => {
    await server?.stop();
  });

  it('a socket that stops reading is disconnected, catches up after reconnecting, and nobody else loses anything', async (t) => {
    const senderSocket = await server.connect(sender.token, { transports: ['websocket'] });
    const steadySocket = await server.connect(steady.token, { transports: ['websocket'] });
    const slowSocket = await server.connect(slow.token, { transports: ['websocket'], reconnection: false });

    const steadySeqs = [];
    steadySocket.on('message:new', (m) => steadySeqs.push(m.seq));
    const slowSeqs = [];
    slowSocket.on('message:new', (m) => slowSeqs.push(m.seq));
    let disconnectReason = null;
    slowSocket.on('disconnect', (reason) => {
      disconnectReason = reason;
    });

    // Stop reading: the TCP receive window closes, then the server's send
    // buffer fills, then its queue for this socket.
    const tcp = slowSocket.io.engine.transport.ws._socket;
    assert.ok(tcp && typeof tcp.pause === 'function', 'the WebSocket transport exposes its TCP socket');
    tcp.pause();

    const acks = [];
    for (let i = 0; i < MESSAGES; i += 40) {
      const batch = Array.from({ length: Math.min(40, MESSAGES - i) }, (_, k) =>
        emitAck(senderSocket, 'message:send', {
          conversation_id: group.id,
          content: `m${i + k} ${PADDING}`,
          client_id: newClientId(),
        }, 20_000),
      );
      acks.push(...(await Promise.all(batch)));
    }
    const failed = acks.filter((a) => a?.success !== true);
    assert.deepEqual(failed, [], 'every send is acknowledged');
    const lastSeq = Math.max(...acks.map((a) => a.message.seq));

    // The steady reader got everything, live.
    const deadline = Date.now() + 10_000;
    while (steadySeqs.length < MESSAGES && Date.now() < deadline) await sleep(50);
    assert.equal(steadySeqs.length, MESSAGES, 'the steady member received every message');
    assert.equal(new Set(steadySeqs).size, MESSAGES, 'each exactly once');

    // Reading again, the slow client drains what was queued and then learns it was disconnected.
    tcp.resume();
    const disconnectDeadline = Date.now() + 15_000;
    while (disconnectReason === null && Date.now() < disconnectDeadline) await sleep(50);
    t.diagnostic(`slow socket: ${slowSeqs.length} of ${MESSAGES} received live before the disconnect (${disconnectReason})`);
    assert.ok(slowSeqs.length < MESSAGES, 'the slow socket did miss messages live (the queue did overflow)');
    assert.equal(disconnectReason, 'io server disconnect', 'the server disconnected the slow socket instead of dropping events silently');

    // Catch up the way a client does after reconnecting: after the highest seq held without a gap.
    const held = new Set(slowSeqs);
    const first = Math.min(...acks.map((a) => a.message.seq));
    // The seqs below `first` (none here: the group is new) count as held.
    const contiguous = contiguousUpTo([...Array.from({ length: first - 1 }, (_, i) => i + 1), ...held]);
    const rejoined = await server.connect(slow.token, { transports: ['websocket'] });
    const missed = (await allMessages(server, slow.token, group.id)).filter((m) => m.seq > contiguous);
    for (const m of missed) held.add(m.seq);
    const expected = Array.from({ length: MESSAGES }, (_, i) => first + i);
    assert.deepEqual([...held].filter((s) => s >= first).sort((a, b) => a - b), expected, 'after catching up the slow member holds every message');
    assert.equal(lastSeq, first + MESSAGES - 1);
    assert.equal(new Set(slowSeqs).size, slowSeqs.length, 'nothing was delivered twice on the socket');

    // And the rejoined socket is live again.
    const live = new Promise((resolve) => rejoined.once('message:new', resolve));
    await emitAck(senderSocket, 'message:send', { conversation_id: group.id, content: 'after', client_id: newClientId() });
    const next = await Promise.race([live, sleep(5_000).then(() => null)]);
    assert.equal(next?.content, 'after', 'the reconnected socket receives live messages');
    for (const s of [senderSocket, steadySocket, slowSocket, rejoined]) s.disconnect();
  });
});
