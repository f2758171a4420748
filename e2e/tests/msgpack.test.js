// SOCKETIO_PARSER=msgpack: clients using socket.io-msgpack-parser (socket.io-client 3.x and
// 4.x) and python-socketio's msgpack serializer chat exactly as JSON clients do, nested objects
// and timestamps included. One server speaks one parser: a JSON client cannot talk to it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { io } from 'socket.io-client';
import { sleep, startServer } from '../lib/server.js';
import { allMessages, assertAckError, assertTimestamp, createGroup } from '../lib/chat.js';
import { closeAllClients, openClient, pythonAvailable } from '../lib/clients.js';

const KINDS = ['v3', 'v4', ...(pythonAvailable() ? ['python'] : [])];

describe('a server speaking the msgpack parser', { timeout: 120_000 }, () => {
  let server;

  before(async () => {
    server = await startServer({ env: { SOCKETIO_PARSER: 'msgpack' } });
  });

  after(async () => {
    await closeAllClients();
    await server?.stop();
  });

  it('msgpack clients of every version chat: replies, reactions and timestamps arrive as history has them', async () => {
    const seats = KINDS.flatMap((kind) => [
      { kind, transport: 'websocket' },
      { kind, transport: 'polling' },
    ]);
    const accounts = await Promise.all(seats.map(() => server.register()));
    const [owner, ...members] = accounts;
    const group = await createGroup(server, owner, members, 'msgpack');
    const clients = [];
    for (const [i, seat] of seats.entries()) {
      clients.push(await openClient(seat.kind, server.url, accounts[i].token, { ...seat, tokenIn: 'auth', parser: 'msgpack' }));
    }
    const first = await clients[0].emitAck('message:send', { conversation_id: group.id, content: 'über 🎉 "quoted"', client_id: 'm-1' });
    assert.equal(first?.success, true, JSON.stringify(first));
    assertTimestamp(first.message.created_at, 'created_at over msgpack');
    const replies = [];
    for (const client of clients.slice(1)) {
      const ack = await client.emitAck('message:send', { conversation_id: group.id, content: `reply from ${client.label}`, reply_to: first.message.id });
      assert.equal(ack?.success, true, `${client.label}: ${JSON.stringify(ack)}`);
      assert.equal(ack.message.reply_to.id, first.message.id, 'the quoted parent is a nested object');
      replies.push(ack.message);
    }
    const reaction = await clients[1].emitAck('reaction:add', { message_id: first.message.id, emoji: '❤️' });
    assert.equal(reaction?.success, true, JSON.stringify(reaction));
    assert.equal(reaction.reactions.find((r) => r.emoji === '❤️')?.count, 1, JSON.stringify(reaction.reactions));

    const stored = await allMessages(server, owner.token, group.id);
    assert.equal(stored.length, seats.length);
    for (const [i, client] of clients.entries()) {
      for (const message of stored) {
        if (message.sender_id === accounts[i].user.id) continue;
        const heard = await client.next('message:new', (m) => m.id === message.id);
        // Changed since: the reaction and the replies (a new revision, counts).
        const { reactions, reply_count, my_reactions, rev, ...rest } = message;
        const { reactions: r2, reply_count: c2, my_reactions: m2, rev: v2, ...heardRest } = heard;
        assert.deepEqual(heardRest, rest, `${client.label} heard message ${message.seq} differently`);
      }
      if (i !== 1) {
        const event = await client.next('message:reaction', (r) => r.message_id === first.message.id);
        assert.equal(event.count, 1);
        assert.equal(event.emoji, '❤️');
      }
    }
  });

  it('bad input over msgpack gets a failed ack and the socket stays usable', async () => {
    const [alice, bob] = await Promise.all([server.register(), server.register()]);
    const group = await createGroup(server, alice, [bob], 'msgpack hostile');
    for (const kind of KINDS) {
      const client = await openClient(kind, server.url, alice.token, { transport: 'websocket', tokenIn: 'query', parser: 'msgpack' });
      assertAckError(await client.emitAck('message:send', { conversation_id: 0, content: 'x' }), 'validation_failed');
      assertAckError(await client.emitAck('message:send', [1, 2, 3]), 'invalid_payload');
      assertAckError(await client.emitAck('message:send', { conversation_id: group.id, content: 'x'.repeat(5000) }), 'validation_failed');
      const ok = await client.emitAck('message:send', { conversation_id: group.id, content: `${kind} still here` });
      assert.equal(ok?.success, true, JSON.stringify(ok));
      await client.close();
    }
  });

  it('a JSON client cannot connect to a msgpack server', async () => {
    const alice = await server.register();
    const socket = io(server.url, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token: alice.token } });
    try {
      const outcome = await Promise.race([
        new Promise((resolve) => socket.once('connect', () => resolve('connected'))),
        new Promise((resolve) => socket.once('connect_error', () => resolve('refused'))),
        sleep(3_000).then(() => 'no answer'),
      ]);
      assert.notEqual(outcome, 'connected');
      assert.equal(socket.connected, false);
    } finally {
      socket.disconnect();
    }
  });
});
