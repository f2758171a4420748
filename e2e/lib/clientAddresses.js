// Client addresses behind nginx's sticky hash: the loopback addresses (127.0.0.x) that reach a
// chosen instance, and HTTP agents, requests and TCP relays that connect from such an address.

import http from 'node:http';
import net from 'node:net';
import { sleep } from './events.js';

/** GET `url` over a connection from `localAddress`; resolves to the status. */
function getFrom(url, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} from ${localAddress} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Loopback addresses (127.0.0.x) from which nginx's sticky hash sends a client to each of
 * `upstreams`, found by asking nginx and reading its access log. Resolves to a Map of
 * upstream host:port -> client address.
 */
export async function addressesPerUpstream(nginx, upstreams) {
  const found = new Map();
  for (let x = 2; x < 250 && found.size < upstreams.length; x++) {
    const address = `127.0.0.${x}`;
    const status = await getFrom(`${nginx.url}/health?from=${address}`, address);
    if (status !== 200) throw new Error(`GET /health through nginx from ${address}: HTTP ${status}`);
    let upstream;
    const deadline = Date.now() + 2_000;
    while (!upstream && Date.now() < deadline) {
      upstream = nginx.upstreamsByClient('/health').get(address);
      if (!upstream) await sleep(20);
    }
    if (!upstream) throw new Error(`nginx logged no upstream for ${address}`);
    const [only] = [...upstream];
    if (upstream.size === 1 && upstreams.includes(only) && !found.has(only)) found.set(only, address);
  }
  if (found.size < upstreams.length) throw new Error(`no client address reaches each of ${upstreams.join(', ')}`);
  return found;
}

/**
 * A TCP relay on a free 127.0.0.1 port to `target` (host:port), connecting from `localAddress`:
 * a browser that loads `url` reaches nginx as a client at `localAddress`. `block()` makes the
 * target unreachable through it (each new connection is closed at once) until `unblock()`.
 */
export async function relay(target, localAddress) {
  const [host, port] = target.split(':');
  const sockets = new Set();
  let blocked = false;
  const server = net.createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port: Number(port), localAddress });
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      server.close(() => resolve());
    });
  const block = () => {
    blocked = true;
  };
  const unblock = () => {
    blocked = false;
  };
  return { url: `http://127.0.0.1:${server.address().port}`, localAddress, stop, block, unblock };
}

/**
 * An HTTP agent whose connections come from `localAddress` (127.0.0.x): a Node client (HTTP
 * requests, and socket.io-client through its `agent` option, for polling and WebSocket) that
 * nginx sees at that address.
 */
export function agentFrom(localAddress) {
  return new http.Agent({ localAddress });
}

/**
 * HTTP request with node:http (so that it can go through `agent`); `body` is sent as JSON.
 * Resolves to {status, body, text}; rejects on a connection error or after `timeoutMs`.
 */
export function request(url, { method = 'GET', token, body, agent, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = http.request(url, { method, headers, agent: agent ?? false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}
