// Messages sent over HTTP are delivered in real time exactly like those sent over Socket.IO:
// to every socket of every member (no socket sent it, so none is skipped), once each.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, recordEvents, waitFor } from '../lib/server.js';
import { allMessages, assertMessageShape, createGroup, newClientId, sendText } from '../lib/chat.js';

describe('sending over HTTP', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let group;
  /** Every socket of every member: [{name, socket, events}] */
  const tabs = [];

  before(async () => {
    server = await startServer();
    [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    group = await createGroup(server, alice, [bob, carol], 'over http');
    for (const [name, user, transports] of [
      ['alice tab 1', alice, ['websocket']],
      ['alice tab 2', alice, ['polling']],
      ['bob tab 1', bob, ['websocket']],
      ['bob tab 2', bob, undefined],
      ['carol', carol, ['websocket']],
    ]) {
      const socket = await server.connect(user.token, { transports });
      tabs.push({ name, socket, user, events: recordEvents(socket) });
    }
  });

  after(async () => {
    await server?.stop();
  });

  function post(user, body) {
    return server.post(`/api/conversations/${group.id}/messages`, body, { token: user.token });
  }

  /**
   * Posts a message over HTTP and waits until every socket has it. Since the server writes
   * to each socket in order, everything emitted to the sockets before it has arrived then.
   */
  async function postAndWait(user, content) {
    const clientId = newClientId();
    const arrivals = tabs.map((t) => waitFor(t.socket, 'message:new', (m) => m?.client_id === clientId));
    const res = await post(user, { content, client_id: clientId });
    assert.equal(res.status, 201, `POST message: HTTP ${res.status} ${res.text}`);
    const received = await Promise.all(arrivals);
    return { stored: res.body, received };
  }

  /** How many times each socket got message:new for `clientId`. */
  function deliveries(clientId) {
    return Object.fromEntries(
      tabs.map((t) => [t.name, t.events.filter((e) => e.event === 'message:new' && e.args[0]?.client_id === clientId).length]),
    );
  }

  const everyTab = (count) => Object.fromEntries(tabs.map((t) => [t.name, count]));

  let first;

  it("201 with the stored message, and message:new with the same message on every member's every socket, the sender's included", async () => {
    const { stored, received } = await postAndWait(alice, 'hello over http');
    assertMessageShape(stored, {
      conversation_id: group.id,
      sender_id: alice.user.id,
      content: 'hello over http',
      message_type: 'text',
    });
    // The answer to the sender adds their own reactions (none yet); broadcasts leave them out.
    const { my_reactions: mine, ...shared } = stored;
    assert.deepEqual(mine, []);
    for (const [i, message] of received.entries()) {
      assert.deepEqual(message, shared, `message:new on ${tabs[i].name} differs from the HTTP answer`);
    }
    first = stored;
  });

  it('each socket got it exactly once', async () => {
    await postAndWait(bob, 'later message');
    assert.deepEqual(deliveries(first.client_id), everyTab(1));
  });

  it('the payload is the same as for a message sent over Socket.IO', async () => {
    const clientId = newClientId();
    const overSocket = waitFor(tabs[2].socket, 'message:new', (m) => m?.client_id === clientId);
    const acked = await sendText(tabs[0].socket, group.id, 'hello over socket', { client_id: clientId });
    const socketMessage = await overSocket;
    const { my_reactions: mine, ...shared } = acked;
    assert.deepEqual(mine, []);
    assert.deepEqual(socketMessage, shared);

    const viaHttp = tabs[2].events.find((e) => e.event === 'message:new' && e.args[0]?.id === first.id).args[0];
    assert.deepEqual(Object.keys(viaHttp).sort(), Object.keys(socketMessage).sort(), 'top-level fields differ');
    assert.deepEqual(Object.keys(viaHttp.sender).sort(), Object.keys(socketMessage.sender).sort(), 'sender fields differ');
    for (const key of Object.keys(socketMessage)) {
      assert.equal(typeof viaHttp[key], typeof socketMessage[key], `type of ${key} differs`);
    }
    assert.equal(socketMessage.seq, first.seq + 2, 'both paths share one seq sequence');
  });

  it('a repeated client_id over HTTP answers 200 with the same message and delivers nothing', async () => {
    const countBefore = (await allMessages(server, alice.token, group.id)).length;
    const again = await post(alice, { content: 'hello over http', client_id: first.client_id });
    assert.equal(again.status, 200, `repeat: HTTP ${again.status} ${again.text}`);
    assert.deepEqual(again.body, first);
    const changed = await post(alice, { content: 'different text, same key', client_id: first.client_id });
    assert.equal(changed.status, 200, `repeat with other content: HTTP ${changed.status} ${changed.text}`);
    assert.deepEqual(changed.body, first);

    await postAndWait(carol, 'after the repeats');
    assert.deepEqual(deliveries(first.client_id), everyTab(1), 'a repeated client_id was delivered again');
    assert.equal((await allMessages(server, alice.token, group.id)).length, countBefore + 1);
  });

  it('a client_id first used over Socket.IO, repeated over HTTP, is not stored or delivered twice', async () => {
    const clientId = newClientId();
    const arrived = waitFor(tabs[4].socket, 'message:new', (m) => m?.client_id === clientId);
    const acked = await sendText(tabs[2].socket, group.id, 'socket first', { client_id: clientId });
    await arrived;
    const again = await post(bob, { content: 'socket first', client_id: clientId });
    assert.equal(again.status, 200, `repeat: HTTP ${again.status} ${again.text}`);
    assert.deepEqual(again.body, acked);

    await postAndWait(alice, 'after the http repeat');
    const counts = deliveries(clientId);
    // The sending socket got the ack instead of message:new.
    assert.deepEqual(counts, { ...everyTab(1), 'bob tab 1': 0 });
  });
});
