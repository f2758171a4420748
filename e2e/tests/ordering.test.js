// Many concurrent senders in one group: seq is 1..N in commit order, with no gap and no repeat.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, sleep } from '../lib/server.js';
import { allMessages, createGroup, historyPage, newClientId, sendRaw } from '../lib/chat.js';

const CLIENTS = 5;
const TOTAL = 200;
const PER_CLIENT = TOTAL / CLIENTS;

describe('ordering under concurrent senders', { timeout: 150_000 }, () => {
  let server;
  let users;
  let sockets;
  let group;
  let baseline;
  const acks = [];
  const received = new Map(); // socket index -> messages received via message:new

  before(async () => {
    server = await startServer();
    users = [];
    for (let i = 0; i < CLIENTS; i++) users.push(await server.register());
    group = await createGroup(server, users[0], users.slice(1), 'ordering');
    // Whatever the server stored on creation (system messages) comes before the test's messages.
    baseline = (await allMessages(server, users[0].token, group.id)).length;
    sockets = [];
    for (let i = 0; i < CLIENTS; i++) {
      const socket = await server.connect(users[i].token, { transports: ['websocket'] });
      received.set(i, []);
      socket.on('message:new', (m) => {
        if (m?.conversation_id === group.id) received.get(i).push(m);
      });
      sockets.push(socket);
    }
  });

  after(async () => {
    await server?.stop();
  });

  it(`${CLIENTS} clients send ${TOTAL} messages concurrently and every one is acknowledged`, async () => {
    const sends = [];
    for (let c = 0; c < CLIENTS; c++) {
      for (let n = 0; n < PER_CLIENT; n++) {
        const clientId = newClientId();
        sends.push(
          sendRaw(sockets[c], { conversation_id: group.id, content: `client ${c} message ${n}`, client_id: clientId }, 30_000)
            .then((ack) => ({ c, n, clientId, ack })),
        );
      }
    }
    const results = await Promise.all(sends);
    for (const { c, n, clientId, ack } of results) {
      assert.equal(ack?.success, true, `client ${c} message ${n}: ${JSON.stringify(ack)}`);
      assert.equal(ack.message.client_id, clientId);
      assert.equal(ack.message.content, `client ${c} message ${n}`);
      assert.equal(ack.message.sender_id, users[c].user.id);
      acks.push(ack.message);
    }
    assert.equal(acks.length, TOTAL);
  });

  it("the acks' seq values are exactly the next N numbers", () => {
    const seqs = acks.map((m) => m.seq).sort((a, b) => a - b);
    const expected = Array.from({ length: TOTAL }, (_, i) => baseline + i + 1);
    assert.deepEqual(seqs, expected);
    assert.equal(new Set(acks.map((m) => m.id)).size, TOTAL, 'two acks carry the same message id');
  });

  it('history with after_seq=0 paging yields seq 1..N with no gap or repeat, ids increasing with seq', async () => {
    const pages = [];
    let afterSeq = 0;
    for (;;) {
      const res = await historyPage(server, users[1].token, group.id, { after_seq: afterSeq, limit: 100 });
      assert.equal(res.status, 200, res.text);
      pages.push(res.body);
      const { messages, has_more: hasMore } = res.body;
      assert.ok(messages.length <= 100, `page larger than the limit: ${messages.length}`);
      for (let i = 1; i < messages.length; i++) {
        assert.ok(messages[i].seq > messages[i - 1].seq, 'after_seq page is not oldest first');
      }
      if (!hasMore) break;
      assert.equal(messages.length, 100, 'a page with has_more=true is not full');
      afterSeq = messages[messages.length - 1].seq;
      assert.ok(pages.length < 20, 'too many pages');
    }
    const messages = pages.flatMap((p) => p.messages);
    const total = baseline + TOTAL;
    assert.equal(messages.length, total);
    assert.deepEqual(
      messages.map((m) => m.seq),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    for (let i = 1; i < messages.length; i++) {
      assert.ok(messages[i].id > messages[i - 1].id, `id ${messages[i].id} (seq ${messages[i].seq}) <= previous id`);
    }
    const byId = new Map(messages.map((m) => [m.id, m]));
    for (const ack of acks) {
      const stored = byId.get(ack.id);
      assert.ok(stored, `acked message ${ack.id} missing from history`);
      assert.equal(stored.seq, ack.seq);
      assert.equal(stored.content, ack.content);
    }
    // Paging past the end gives an empty page without has_more.
    const beyond = await historyPage(server, users[1].token, group.id, { after_seq: total, limit: 100 });
    assert.equal(beyond.status, 200, beyond.text);
    assert.deepEqual(beyond.body.messages, []);
    assert.equal(beyond.body.has_more, false);
  });

  it('newest-first paging with before= covers the same messages', async () => {
    const seen = [];
    let before;
    for (let page = 0; page < 20; page++) {
      const res = await historyPage(server, users[2].token, group.id, before ? { before, limit: 100 } : { limit: 100 });
      assert.equal(res.status, 200, res.text);
      seen.push(...res.body.messages);
      if (!res.body.has_more) break;
      before = res.body.messages[res.body.messages.length - 1].id;
    }
    const seqs = seen.map((m) => m.seq);
    assert.deepEqual(seqs, Array.from({ length: baseline + TOTAL }, (_, i) => baseline + TOTAL - i));
  });

  it('every member received message:new for every message the others sent', async () => {
    const deadline = Date.now() + 10_000;
    const othersIds = (c) => acks.filter((m) => m.sender_id !== users[c].user.id).map((m) => m.id);
    const missingFor = (c) => {
      const got = new Set(received.get(c).map((m) => m.id));
      return othersIds(c).filter((id) => !got.has(id));
    };
    for (let c = 0; c < CLIENTS; c++) {
      while (missingFor(c).length > 0 && Date.now() < deadline) await sleep(100);
      assert.deepEqual(missingFor(c), [], `client ${c} missed messages sent by the others`);
      const ids = received.get(c).map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length, `client ${c} received a message twice`);
    }
  });

  it('no sending socket received message:new for its own messages', () => {
    for (let c = 0; c < CLIENTS; c++) {
      const echoed = received.get(c).filter((m) => m.sender_id === users[c].user.id).length;
      assert.equal(echoed, 0, `client ${c} got message:new for ${echoed} of its own ${PER_CLIENT} messages`);
    }
  });
});
