// Chat-level helpers and assertions shared by the suites.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { emitAck, waitFor } from './events.js';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$/;

export function newClientId() {
  return randomUUID();
}

/** `POST /api/conversations {user_id}` as `me`; resolves to the conversation. */
export async function createDirect(server, me, other) {
  const res = await server.post('/api/conversations', { user_id: other.user.id }, { token: me.token });
  assert.ok(res.status === 201 || res.status === 200, `create direct: HTTP ${res.status} ${res.text}`);
  assert.equal(typeof res.body?.id, 'number', `create direct: no id in ${res.text}`);
  return res.body;
}

/**
 * `POST /api/conversations {type: "group"}` as `owner`; resolves to the conversation.
 * `isPublic: true` makes it a public room (listed by `GET /api/rooms`, joinable by anyone).
 */
export async function createGroup(server, owner, members, name = `group ${Date.now()}`, { isPublic } = {}) {
  const body = { type: 'group', name, member_ids: members.map((m) => m.user.id) };
  if (isPublic !== undefined) body.is_public = isPublic;
  const res = await server.post('/api/conversations', body, { token: owner.token });
  assert.equal(res.status, 201, `create group: HTTP ${res.status} ${res.text}`);
  assert.equal(typeof res.body?.id, 'number', `create group: no id in ${res.text}`);
  return res.body;
}

/** One page of history; resolves to {status, body}. `query` is an object of query parameters. */
export function historyPage(server, token, conversationId, query = {}) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return server.get(`/api/conversations/${conversationId}/messages${qs ? `?${qs}` : ''}`, { token });
}

/** Every stored message of a conversation, oldest first, read with `after_seq` paging. */
export async function allMessages(server, token, conversationId, { limit = 100 } = {}) {
  const messages = [];
  let afterSeq = 0;
  for (let page = 0; page < 10_000; page++) {
    const res = await historyPage(server, token, conversationId, { after_seq: afterSeq, limit });
    assert.equal(res.status, 200, `history after_seq=${afterSeq}: HTTP ${res.status} ${res.text}`);
    assert.ok(Array.isArray(res.body?.messages), `history: no messages array in ${res.text}`);
    assert.equal(typeof res.body.has_more, 'boolean', `history: has_more missing in ${res.text}`);
    messages.push(...res.body.messages);
    if (!res.body.has_more) return messages;
    assert.ok(res.body.messages.length > 0, 'history: has_more with an empty page');
    afterSeq = res.body.messages[res.body.messages.length - 1].seq;
  }
  throw new Error('history paging did not terminate');
}

/** Sends `message:send` and resolves with the ack (whatever it says). */
export function sendRaw(socket, payload, timeoutMs = 5_000) {
  return emitAck(socket, 'message:send', payload, timeoutMs);
}

/** Sends a text message and asserts a successful ack; resolves to the stored message. */
export async function sendText(socket, conversationId, content, extra = {}, timeoutMs = 5_000) {
  const ack = await sendRaw(socket, { conversation_id: conversationId, content, ...extra }, timeoutMs);
  assert.equal(ack?.success, true, `message:send not acknowledged as success: ${JSON.stringify(ack)}`);
  assert.ok(ack.message && typeof ack.message === 'object', `ack without message: ${JSON.stringify(ack)}`);
  return ack.message;
}

/** Asserts the wire shape of a stored message. */
export function assertMessageShape(message, expected = {}) {
  assert.ok(message && typeof message === 'object', `not a message: ${JSON.stringify(message)}`);
  assert.ok(Number.isInteger(message.id) && message.id > 0, `message.id: ${JSON.stringify(message)}`);
  assert.ok(Number.isInteger(message.seq) && message.seq > 0, `message.seq: ${JSON.stringify(message)}`);
  assert.ok(Number.isInteger(message.conversation_id), `message.conversation_id: ${JSON.stringify(message)}`);
  assert.ok(Number.isInteger(message.sender_id), `message.sender_id: ${JSON.stringify(message)}`);
  assert.equal(typeof message.content, 'string');
  assert.ok(['text', 'image', 'audio', 'file', 'system'].includes(message.message_type), `message_type: ${message.message_type}`);
  assert.ok('file_url' in message, 'message.file_url missing');
  assert.ok('attachment' in message, 'message.attachment missing');
  if (message.attachment !== null) assert.equal(message.attachment.url, message.file_url, 'attachment.url is not file_url');
  assert.ok('client_id' in message, 'message.client_id missing');
  assert.match(String(message.created_at), RFC3339_UTC, 'created_at is not an RFC 3339 UTC timestamp');
  assert.ok(!Number.isNaN(Date.parse(message.created_at)));
  assert.ok(message.sender && typeof message.sender === 'object', 'message.sender missing');
  assert.equal(message.sender.id, message.sender_id);
  assert.equal(typeof message.sender.username, 'string');
  assert.ok('avatar_url' in message.sender, 'message.sender.avatar_url missing');
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(message[key], value, `message.${key}`);
  }
}

/** Asserts a REST error: status, `code`, and a human `error` sentence. */
export function assertApiError(res, status, code) {
  const codes = Array.isArray(code) ? code : [code];
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(res.status), `expected HTTP ${statuses.join('|')}, got ${res.status}: ${res.text}`);
  assert.ok(res.body && typeof res.body === 'object', `error body is not JSON: ${res.text}`);
  assert.ok(codes.includes(res.body.code), `expected code ${codes.join('|')}, got ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body.error, 'string', `error sentence missing: ${res.text}`);
  assert.ok(res.body.error.length > 0);
}

/** Asserts a failed Socket.IO ack with one of the given codes. */
export function assertAckError(ack, code) {
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(ack && typeof ack === 'object', `ack is not an object: ${JSON.stringify(ack)}`);
  assert.equal(ack.success, false, `expected a failed ack, got ${JSON.stringify(ack)}`);
  assert.ok(codes.includes(ack.code), `expected ack code ${codes.join('|')}, got ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.error, 'string', `ack error sentence missing: ${JSON.stringify(ack)}`);
}

/** Asserts an RFC 3339 UTC timestamp string. */
export function assertTimestamp(value, label = 'timestamp') {
  assert.equal(typeof value, 'string', `${label} is not a string: ${JSON.stringify(value)}`);
  assert.match(value, RFC3339_UTC, `${label} is not an RFC 3339 UTC timestamp: ${value}`);
  assert.ok(!Number.isNaN(Date.parse(value)), `${label} does not parse: ${value}`);
}

/**
 * Asserts a user as other users see it: `{id, username, display_name, bio, avatar_url, status, last_seen}`,
 * with no e-mail and nothing about the password.
 */
export function assertPublicUser(user, expected = {}) {
  assert.ok(user && typeof user === 'object', `not a user: ${JSON.stringify(user)}`);
  assert.ok(Number.isInteger(user.id), `user.id: ${JSON.stringify(user)}`);
  assert.equal(typeof user.username, 'string', `user.username: ${JSON.stringify(user)}`);
  for (const key of ['display_name', 'bio', 'avatar_url', 'status', 'last_seen']) {
    assert.ok(key in user, `user.${key} missing: ${JSON.stringify(user)}`);
  }
  assert.ok(['online', 'offline'].includes(user.status), `user.status: ${JSON.stringify(user)}`);
  if (user.last_seen !== null) assertTimestamp(user.last_seen, 'user.last_seen');
  assert.ok(!('email' in user), `another user's email is exposed: ${JSON.stringify(user)}`);
  const secret = Object.keys(user).find((key) => /pass|hash|secret|token/i.test(key));
  assert.equal(secret, undefined, `user carries a secret field "${secret}": ${JSON.stringify(user)}`);
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(user[key], value, `user.${key}`);
  }
}

/** Emits `event` and asserts a successful ack; resolves to the ack. */
export async function emitOk(socket, event, payload, timeoutMs = 5_000) {
  const ack = await emitAck(socket, event, payload, timeoutMs);
  assert.ok(ack && typeof ack === 'object', `${event}: ack is not an object: ${JSON.stringify(ack)}`);
  assert.equal(ack.success, true, `${event} not acknowledged as success: ${JSON.stringify(ack)}`);
  return ack;
}

/** `GET /api/conversations` as `member`; resolves to the list. */
export async function listConversations(server, member) {
  const res = await server.get('/api/conversations', { token: member.token });
  assert.equal(res.status, 200, `list conversations: HTTP ${res.status} ${res.text}`);
  assert.ok(Array.isArray(res.body?.conversations), `no conversations array in ${res.text}`);
  return res.body.conversations;
}

/** The `unread_count` that `GET /api/conversations` shows `member` for one conversation. */
export async function unreadCount(server, member, conversationId) {
  const conv = (await listConversations(server, member)).find((c) => c.id === conversationId);
  assert.ok(conv, `conversation ${conversationId} is not in the list of user ${member.user.id}`);
  assert.ok(Number.isInteger(conv.unread_count), `unread_count: ${JSON.stringify(conv)}`);
  return conv.unread_count;
}

/**
 * Sends a text from `senderSocket` and waits until every socket of `receivers` has it.
 * The server writes to each socket in order, so once this resolves every event emitted
 * to those sockets before the send has arrived too. Resolves to the message.
 */
export async function barrier(senderSocket, conversationId, receivers, timeoutMs = 5_000) {
  const clientId = newClientId();
  const arrivals = receivers.map((socket) => waitFor(socket, 'message:new', (m) => m?.client_id === clientId, timeoutMs));
  const message = await sendText(senderSocket, conversationId, `barrier ${clientId}`, { client_id: clientId });
  await Promise.all(arrivals);
  return message;
}

/**
 * Resolves once the server handles events on `socket`: it answers an unknown event with
 * `unknown_event` only once the connection's event handlers are in place.
 */
export async function handlersReady(socket, attempts = 20) {
  for (let i = 0; i < attempts; i++) {
    try {
      const ack = await emitAck(socket, 'readiness:probe', {}, 250);
      if (ack?.code === 'unknown_event') return;
    } catch {
      // not answered yet
    }
  }
  throw new Error('the server never answered an event on this socket');
}
