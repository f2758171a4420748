// What the servers log, for the checks that a secret never reaches a log: the `RUST_LOG` that
// makes a server log everything about requests and handshakes, and `assertNotLogged`, which looks
// for secrets in the output of servers and in nginx's access log.

import assert from 'node:assert/strict';

/**
 * `RUST_LOG` for a server that logs everything it can say about requests and handshakes (every
 * HTTP request, Engine.IO and Socket.IO packet): what a check that a secret stays out of the logs
 * runs the server with.
 */
export const TRACE_REQUESTS_LOG = 'debug,tower_http=trace,engineioxide=trace,socketioxide=trace';

/**
 * Asserts that no secret of `secrets` (a token, a password), as is or percent-encoded, appears in
 * the output of `servers` nor in the access log of `nginx` (an `Nginx` of lib/nginx.js). Each
 * server's output must be complete (nothing dropped), or the check would mean nothing.
 */
export function assertNotLogged(secrets, { servers = [], nginx = null } = {}) {
  assert.ok(secrets.length > 0, 'no secret to look for');
  const logs = servers.map((server, i) => {
    assert.equal(server.outputDropped, 0, `the output of server ${i + 1} outgrew what the harness keeps: the check would be incomplete`);
    return [`the output of server ${i + 1}`, server.output];
  });
  if (nginx) logs.push(["nginx's access log", nginx.accessLog()]);
  for (const [i, secret] of secrets.entries()) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      for (const [name, text] of logs) {
        assert.ok(!text.includes(form), `${name} carries secret ${i + 1} of ${secrets.length}`);
      }
    }
  }
}
