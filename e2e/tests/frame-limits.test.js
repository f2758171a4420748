// Oversized frames: whatever a client sends, before or after logging in, in one WebSocket frame
// or many, the server closes that connection as soon as the size is known, without buffering or
// parsing it; its memory does not move, and every other client carries on.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServer, emitAck, waitFor, sleep } from '../lib/server.js';
import { createDirect } from '../lib/chat.js';

const MB = 1_000_000;

/** Resident and peak resident memory of a process, in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))[1]) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/**
 * A bare Engine.IO WebSocket: resolves once the server's open packet arrived. Pings are answered;
 * `packets` collects every other text packet; `closed` resolves when the connection ends.
 */
function rawSocket(server) {
  const url = `${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, { maxPayload: 0 });
  const packets = [];
  let notify = () => {};
  ws.on('error', () => {}); // a send into a closed connection: `closed` tells
  const closed = new Promise((resolve) => ws.once('close', resolve));
  const opened = new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '2') return ws.send('3');
      if (text.startsWith('0{')) return resolve();
      packets.push(text);
      notify();
    });
  });
  const next = (prefix, ms = 5_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no packet starting with ${prefix} within ${ms} ms`)), ms);
      const look = () => {
        const found = packets.find((p) => p.startsWith(prefix));
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      notify = look;
      look();
    });
  return opened.then(() => ({ ws, closed, next }));
}

/** Resolves to true if `closed` resolves within `ms`. */
async function closesWithin(closed, ms = 5_000) {
  return Promise.race([closed.then(() => true), sleep(ms).then(() => false)]);
}

/** `prefix` + `0,0,0,...` + `suffix`, `bytes` long: the cheapest text to send, the dearest to parse. */
function zeros(prefix, bytes, suffix) {
  const count = Math.max(1, Math.floor((bytes - prefix.length - suffix.length) / 2));
  return prefix + '0,'.repeat(count - 1) + '0' + suffix;
}

/** Sends `text` as one message split into `fragments` WebSocket frames. */
function sendFragmented(ws, text, fragments) {
  const data = Buffer.from(text);
  const size = Math.ceil(data.length / fragments);
  for (let offset = 0; offset < data.length; offset += size) {
    ws.send(data.subarray(offset, offset + size), { binary: false, fin: offset + size >= data.length });
  }
}

describe('oversized frames', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;
  let bobSocket;
  let aliceSocket;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  /** One round of chat between alice and bob, both ways. */
  async function chatRound(tag) {
    const heard = waitFor(bobSocket, 'message:new', (m) => m.content === `to bob ${tag}`);
    const ack = await emitAck(aliceSocket, 'message:send', { conversation_id: conversation.id, content: `to bob ${tag}` });
    assert.equal(ack?.success, true, JSON.stringify(ack));
    await heard;
    const back = waitFor(aliceSocket, 'message:new', (m) => m.content === `to alice ${tag}`);
    const ack2 = await emitAck(bobSocket, 'message:send', { conversation_id: conversation.id, content: `to alice ${tag}` });
    assert.equal(ack2?.success, true, JSON.stringify(ack2));
    await back;
  }

  it('closes the connection, keeps memory flat and leaves other clients chatting', async () => {
    // Warm up: the allocator's arenas and every code path the test uses, before measuring.
    for (let i = 0; i < 5; i++) await chatRound(`warm-up ${i}`);
    for (let i = 0; i < 3; i++) {
      const raw = await rawSocket(server);
      raw.ws.send(`40${JSON.stringify({ token: alice.token })}`);
      await raw.next('40');
      raw.ws.close();
      await raw.closed;
    }
    await sleep(200);
    const start = memory(server.pid);

    const cases = [
      { name: '1 MB CONNECT, before login', login: false, send: (ws) => ws.send(zeros('40{"a":[', MB, ']}')) },
      {
        name: '1 MB event, after login',
        login: true,
        send: (ws) => ws.send(zeros(`42["typing:start",{"conversation_id":${conversation.id},"a":[`, MB, ']}]')),
      },
      { name: '60 MB CONNECT in one frame, before login', login: false, send: (ws) => ws.send(zeros('40{"a":[', 60 * MB, ']}')) },
      {
        name: '60 MB event in one frame, after login',
        login: true,
        send: (ws) => ws.send(zeros('42["message:send",{"a":[', 60 * MB, ']}]')),
      },
      {
        name: '60 MB CONNECT in 1 MB fragments, before login',
        login: false,
        send: (ws) => sendFragmented(ws, zeros('40{"a":[', 60 * MB, ']}'), 60),
      },
      {
        name: '60 MB event in 1 MB fragments, after login',
        login: true,
        send: (ws) => sendFragmented(ws, zeros('42["message:send",{"a":[', 60 * MB, ']}]'), 60),
      },
    ];
    const results = [];
    for (const testCase of cases) {
      const raw = await rawSocket(server);
      if (testCase.login) {
        raw.ws.send(`40${JSON.stringify({ token: alice.token })}`);
        await raw.next('40');
      }
      let highest = memory(server.pid).rss;
      const sampler = setInterval(() => {
        highest = Math.max(highest, memory(server.pid).rss);
      }, 2);
      testCase.send(raw.ws);
      const closed = await closesWithin(raw.closed);
      clearInterval(sampler);
      raw.ws.terminate();
      await sleep(100);
      const now = memory(server.pid);
      results.push({
        case: testCase.name,
        closed,
        'highest RSS growth (MB)': +((Math.max(highest, now.rss) - start.rss) / MB).toFixed(1),
        'peak RSS growth (MB)': +((now.peak - start.peak) / MB).toFixed(1),
        'bystander connected': bobSocket.connected,
      });
    }
    await chatRound('after the oversized frames');
    await sleep(200);
    const end = memory(server.pid);
    console.log(`resident before: ${(start.rss / MB).toFixed(1)} MB, after: ${(end.rss / MB).toFixed(1)} MB`);
    console.table(results);
    for (const result of results) {
      assert.ok(result.closed, `${result.case}: the server did not close the connection`);
      assert.ok(result['bystander connected'], `${result.case}: another client was disconnected`);
      assert.ok(result['highest RSS growth (MB)'] <= 4, `${result.case}: resident memory rose by ${result['highest RSS growth (MB)']} MB`);
      assert.ok(result['peak RSS growth (MB)'] <= 4, `${result.case}: the peak resident memory rose by ${result['peak RSS growth (MB)']} MB`);
    }
    assert.ok(end.rss - start.rss <= 4 * MB, `resident memory is ${((end.rss - start.rss) / MB).toFixed(1)} MB higher after the frames`);
  });

  it('a packet just under the limit is handled as usual', async () => {
    const raw = await rawSocket(server);
    raw.ws.send(`40${JSON.stringify({ token: alice.token, padding: 'x'.repeat(90_000) })}`);
    await raw.next('40{"sid"');
    raw.ws.send(`421["typing:start",{"conversation_id":${conversation.id},"padding":"${'x'.repeat(90_000)}"}]`);
    const ack = JSON.parse((await raw.next('431')).slice(3))[0];
    assert.equal(ack.success, true, JSON.stringify(ack));
    raw.ws.close();
  });

  it('SOCKET_MAX_PAYLOAD sets the bound', async () => {
    const small = await startServer({ env: { SOCKET_MAX_PAYLOAD: '20000' } });
    try {
      const user = await small.register();
      const raw = await rawSocket(small);
      raw.ws.send(`40${JSON.stringify({ token: user.token, padding: 'x'.repeat(15_000) })}`);
      await raw.next('40{"sid"');
      raw.ws.send(`42["typing:start",{"padding":"${'x'.repeat(30_000)}"}]`);
      assert.ok(await closesWithin(raw.closed), 'a 30 kB packet was read with a 20 kB limit');
    } finally {
      await small.stop();
    }
  });

  it('polling bodies have the same bound', async () => {
    const open = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse((await open.text()).slice(1)).sid;
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: zeros('40{"a":[', MB, ']}'),
    });
    assert.notEqual(res.status, 200, 'a 1 MB polling body was accepted');
    await chatRound('after the polling body');
  });
});
