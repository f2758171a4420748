// `ChatServer`: one running chat-server process (lib/serverProcess.js) with the ways a test
// talks to it, HTTP with every answer checked against the OpenAPI description (lib/http.js) and
// socket.io-client sockets (lib/serverSockets.js), restarted or stopped together; and
// `startServer`, which makes and starts one.

import { answerCheck, fetchMetrics, metricValue, registerUser, request } from './http.js';
import { ServerProcess } from './serverProcess.js';
import { closeSockets, connectOpened, openSocket } from './serverSockets.js';

/**
 * One running chat-server process with its own data directory (and its own PostgreSQL
 * database in postgres mode). `restart()` kills it with SIGKILL (or stops it with SIGTERM)
 * and starts it again on the same data; with `PORT` in `env` it comes back on the same port.
 */
export class ChatServer extends ServerProcess {
  /** The sockets made by `socket` / `connect`, closed by `restart` and `stop`. */
  sockets = new Set();
  /** The check of answers against the server's OpenAPI description, read once. */
  #checkAnswer = answerCheck();

  /**
   * Kills the process with `signal` (SIGKILL: a crash; SIGTERM: a graceful shutdown), then starts
   * it again on the same data directory / database.
   */
  async restart(signal = 'SIGKILL') {
    await this.kill(signal);
    this.closeSockets();
    await this.start();
    return this;
  }

  /** Closes every socket, stops the process and removes its data. */
  async stop() {
    this.closeSockets();
    const url = this.url;
    await this.kill('SIGTERM', 5_000);
    this.reportWarnings(url);
    this.cleanupSync();
  }

  closeSockets() {
    closeSockets(this.sockets);
  }

  // ---------------------------------------------------------------- HTTP

  /**
   * HTTP request against the server. `body` is sent as JSON; `raw` is sent as is
   * (set the content-type yourself through `headers`).
   * Resolves to {status, body, text, headers}; body is parsed JSON, or null when not JSON.
   *
   * Every answer is checked against the server's OpenAPI description (`lib/openapi.js`): an
   * undocumented path, method or status, or a body that does not fit its schema, throws, so the
   * test that made the call fails. `undocumented: 'why'` skips the check, for the few calls that
   * deliberately go where the description does not (unknown routes, other methods, the
   * Socket.IO transport); say why.
   */
  async api(method, urlPath, { undocumented, ...options } = {}) {
    const answer = await request(this.url, method, urlPath, options);
    if (!undocumented) await this.#checkAnswer(this.url, method, urlPath, answer);
    return answer;
  }

  get(urlPath, opts) {
    return this.api('GET', urlPath, opts);
  }

  post(urlPath, body, opts = {}) {
    return this.api('POST', urlPath, { ...opts, body });
  }

  /** Registers a new user; resolves to {user, token, refresh_token, password}. */
  register(username, options) {
    return registerUser(this, username, options);
  }

  /** This instance's Prometheus metrics, as text. */
  metricsText() {
    return fetchMetrics(this.output);
  }

  /** The value of a Prometheus metric of this instance (0 when not reported yet). */
  async metric(name) {
    return metricValue(await this.metricsText(), name);
  }

  // ---------------------------------------------------------------- Socket.IO

  /** A socket.io-client socket that is not connected yet (reconnection disabled). */
  socket(token, options) {
    return openSocket(this.sockets, this.url, token, options);
  }

  /** Connects a socket and resolves once it is connected; rejects with the connect_error. */
  connect(token, options) {
    return connectOpened(this.sockets, this.socket(token, options));
  }
}

/** Creates and starts a server for the selected database mode. */
export async function startServer(options) {
  const server = new ChatServer(options);
  try {
    await server.start();
  } catch (err) {
    server.cleanupSync();
    throw err;
  }
  return server;
}
