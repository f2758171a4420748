// HTTP to one server: `request` (JSON in, {status, body, text, headers} out), the check of each
// answer against the server's OpenAPI description (lib/openapi.js, read once per server), users
// registered over the API, and the Prometheus metrics an instance serves.

import { randomBytes } from 'node:crypto';
import { OpenApiValidator } from './openapi.js';

/** A unique valid username (3-32 chars of [a-zA-Z0-9_]). */
export function uniqueUsername(prefix = 'u') {
  return `${prefix}_${randomBytes(6).toString('hex')}`.slice(0, 32);
}

export const DEFAULT_PASSWORD = 'correct-horse-battery-9';

/**
 * HTTP request to `baseUrl + urlPath`. `body` is sent as JSON; `raw` is sent as is (set the
 * content-type yourself through `headers`). Resolves to {status, body, text, headers}; body is
 * parsed JSON, or null when not JSON. Redirects are not followed.
 */
export async function request(baseUrl, method, urlPath, { token, body, raw, headers = {} } = {}) {
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!('content-type' in h)) h['content-type'] = 'application/json';
  }
  const res = await fetch(baseUrl + urlPath, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/**
 * A check of answers against the OpenAPI description of one server, read on first use (a failed
 * read is retried by the next call): `check(baseUrl, method, urlPath, answer)` throws for an
 * undocumented path, method or status, or a body that does not fit its schema.
 */
export function answerCheck() {
  let openapi = null;
  return async (baseUrl, method, urlPath, answer) => {
    if (!openapi) {
      const loading = OpenApiValidator.load(baseUrl);
      openapi = loading;
      loading.catch(() => {
        if (openapi === loading) openapi = null;
      });
    }
    const validator = await openapi;
    validator.check(method, urlPath, {
      status: answer.status,
      contentType: answer.headers.get('content-type'),
      text: answer.text,
      body: answer.body,
    });
  };
}

/** Registers a new user through `server.post`; resolves to {user, token, refresh_token, password}. */
export async function registerUser(server, username = uniqueUsername(), { email, password = DEFAULT_PASSWORD } = {}) {
  const res = await server.post('/api/auth/register', {
    username,
    email: email ?? `${username.toLowerCase()}@example.com`,
    password,
  });
  if (res.status !== 201 || !res.body?.token || !res.body?.user) {
    throw new Error(`register ${username} failed: HTTP ${res.status} ${res.text}`);
  }
  return { user: res.body.user, token: res.body.token, refresh_token: res.body.refresh_token, password };
}

/** The Prometheus metrics of the server whose output is `output` (it says where they are), as text. */
export async function fetchMetrics(output) {
  const found = /metrics on (http:\/\/\S+\/metrics)/.exec(output);
  if (!found) throw new Error('the server did not say where its metrics are');
  return (await fetch(found[1])).text();
}

/** The value of the Prometheus metric `name` in `text` (0 when not reported yet). */
export function metricValue(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}
