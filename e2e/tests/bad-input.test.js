// Hostile and malformed input over Socket.IO and HTTP. After every case the socket is still
// connected (a valid send succeeds), nothing was stored, and the error code says what went wrong.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, expectNoEvent, sleep, waitFor, uniqueUsername, DEFAULT_PASSWORD } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  createDirect,
  historyPage,
  newClientId,
  sendText,
} from '../lib/chat.js';

const MISSING_FIELD = ['validation_failed', 'invalid_payload'];
const MISSING_FIELD_HTTP = ['validation_failed', 'invalid_body'];
// A conversation that does not exist may be reported as missing or, without revealing
// whether it exists, as one the caller is not a member of.
const NO_SUCH_CONVERSATION = ['not_found', 'not_a_member'];

describe('bad input', { timeout: 150_000 }, () => {
  let server;
  let alice;
  let bob;
  let conversation;
  let socket;
  let bobSocket;
  let storedCount;

  before(async () => {
    server = await startServer();
    alice = await server.register();
    bob = await server.register();
    conversation = await createDirect(server, alice, bob);
    socket = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    storedCount = (await allMessages(server, alice.token, conversation.id)).length;
  });

  after(async () => {
    await server?.stop();
  });

  const ctx = () => ({ conversation, alice, bob });

  /** Nothing was stored by the bad input, and the socket still works. */
  async function assertStillHealthy({ stored = 0 } = {}) {
    const messages = await allMessages(server, alice.token, conversation.id);
    assert.equal(messages.length, storedCount + stored, 'the stored message count changed');
    storedCount = messages.length;
    assert.equal(socket.connected, true, 'the socket was disconnected');
    const followUp = await sendText(socket, conversation.id, `still here ${newClientId()}`);
    assert.equal(followUp.conversation_id, conversation.id);
    storedCount += 1;
    assert.equal((await allMessages(server, alice.token, conversation.id)).length, storedCount);
  }

  describe('over Socket.IO, refused with an error ack', () => {
    const cases = [
      { name: 'a number instead of an object', payload: () => 42, code: 'invalid_payload' },
      { name: 'a string instead of an object', payload: () => 'hello', code: 'invalid_payload' },
      { name: 'an array instead of an object', payload: ({ conversation: c }) => [c.id, 'hi'], code: 'invalid_payload' },
      { name: 'null', payload: () => null, code: 'invalid_payload' },
      { name: 'a binary attachment (Buffer) as the payload', payload: () => Buffer.from('{"content":"hi"}'), code: 'invalid_payload' },
      {
        name: 'a binary attachment as the content',
        payload: ({ conversation: c }) => ({ conversation_id: c.id, content: Buffer.from('hi') }),
        code: 'invalid_payload',
      },
      { name: 'an empty object', payload: () => ({}), code: MISSING_FIELD },
      { name: 'a missing content', payload: ({ conversation: c }) => ({ conversation_id: c.id }), code: MISSING_FIELD },
      { name: 'a missing conversation_id', payload: () => ({ content: 'orphan' }), code: MISSING_FIELD },
      { name: 'content as a number', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 12345 }), code: 'invalid_payload' },
      { name: 'content as an object', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: { text: 'hi' } }), code: 'invalid_payload' },
      { name: 'content as a boolean', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: true }), code: 'invalid_payload' },
      { name: 'a 5000-character content', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'x'.repeat(5000) }), code: 'validation_failed' },
      { name: 'a 4001-character content', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'y'.repeat(4001) }), code: 'validation_failed' },
      { name: 'an empty content', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: '' }), code: 'validation_failed' },
      { name: 'a whitespace-only content', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: ' \n\t  \r\n ' }), code: 'validation_failed' },
      {
        name: 'message_type "system"',
        payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'I am the system', message_type: 'system' }),
        code: ['validation_failed', 'invalid_payload'],
      },
      {
        name: 'an unknown message_type',
        payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'hi', message_type: 'video' }),
        code: ['validation_failed', 'invalid_payload'],
      },
      { name: 'client_id as a number', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'hi', client_id: 7 }), code: 'invalid_payload' },
      { name: 'file_url as an object', payload: ({ conversation: c }) => ({ conversation_id: c.id, content: 'hi', file_url: { a: 1 } }), code: 'invalid_payload' },
      { name: 'conversation_id as a string', payload: ({ conversation: c }) => ({ conversation_id: String(c.id), content: 'hi' }), code: 'invalid_payload' },
      { name: 'conversation_id as a float', payload: ({ conversation: c }) => ({ conversation_id: c.id + 0.5, content: 'hi' }), code: 'invalid_payload' },
      { name: 'conversation_id null', payload: () => ({ conversation_id: null, content: 'hi' }), code: MISSING_FIELD },
      { name: 'a negative conversation_id', payload: () => ({ conversation_id: -1, content: 'hi' }), code: ['not_found', 'not_a_member', 'validation_failed'] },
      { name: 'a zero conversation_id', payload: () => ({ conversation_id: 0, content: 'hi' }), code: ['not_found', 'not_a_member', 'validation_failed'] },
      { name: 'a conversation_id beyond 64 bits', payload: () => ({ conversation_id: 2 ** 64, content: 'hi' }), code: 'invalid_payload' },
      { name: 'a conversation_id of 1e300', payload: () => ({ conversation_id: 1e300, content: 'hi' }), code: 'invalid_payload' },
      { name: 'a nonexistent conversation (largest safe integer)', payload: () => ({ conversation_id: Number.MAX_SAFE_INTEGER, content: 'hi' }), code: NO_SUCH_CONVERSATION },
      { name: 'a nonexistent conversation', payload: () => ({ conversation_id: 987654321, content: 'hi' }), code: NO_SUCH_CONVERSATION },
      { name: 'an unknown event', event: 'message:explode', payload: ({ conversation: c }) => ({ conversation_id: c.id }), code: 'unknown_event' },
      { name: 'an unknown event without a payload', event: 'nonsense', payload: undefined, code: 'unknown_event' },
      { name: 'message:read with a string message_id', event: 'message:read', payload: ({ conversation: c }) => ({ conversation_id: c.id, message_id: 'latest' }), code: 'invalid_payload' },
      { name: 'message:read with a number payload', event: 'message:read', payload: () => 1, code: 'invalid_payload' },
      { name: 'message:delivered with a missing message_id', event: 'message:delivered', payload: ({ conversation: c }) => ({ conversation_id: c.id }), code: MISSING_FIELD },
      { name: 'typing:start with an array', event: 'typing:start', payload: () => [1, 2, 3], code: 'invalid_payload' },
      { name: 'typing:start in a nonexistent conversation', event: 'typing:start', payload: () => ({ conversation_id: 987654321 }), code: NO_SUCH_CONVERSATION },
      { name: 'conversation:join of a nonexistent conversation', event: 'conversation:join', payload: () => ({ conversation_id: 987654321 }), code: NO_SUCH_CONVERSATION },
      { name: 'conversation:join with a string id', event: 'conversation:join', payload: () => ({ conversation_id: 'general' }), code: 'invalid_payload' },
    ];

    for (const testCase of cases) {
      it(testCase.name, async () => {
        const event = testCase.event ?? 'message:send';
        const payload = typeof testCase.payload === 'function' ? testCase.payload(ctx()) : testCase.payload;
        const quiet = expectNoEvent(bobSocket, 'message:new', 300);
        const ack = await emitAck(socket, event, payload);
        assertAckError(ack, testCase.code);
        await quiet;
        await assertStillHealthy();
      });
    }

    it('bad payloads sent without an ack callback are dropped quietly', async () => {
      socket.emit('message:send', 42);
      socket.emit('message:send', { conversation_id: conversation.id, content: '   ' });
      socket.emit('message:send', Buffer.from([1, 2, 3]));
      socket.emit('message:send', { conversation_id: 987654321, content: 'nowhere' });
      socket.emit('no-such-event', { a: 1 });
      await sleep(500);
      await assertStillHealthy();
    });
  });

  describe('over Socket.IO, stored verbatim', () => {
    const verbatim = [
      { name: 'a SQL injection attempt', content: "'; DROP TABLE messages; --" },
      { name: 'a SQL tautology', content: `" OR 1=1 -- ' OR '1'='1` },
      { name: 'a stacked SQL statement', content: "Robert'); DELETE FROM users; SELECT ('" },
      { name: 'HTML and script tags', content: '<script>alert("x")</script><b>bold</b> &amp;' },
      { name: 'unicode, emoji and a NUL-free control mix', content: 'héllo 世界 👋🏽 \u200b tab\there' },
      { name: 'percent and backslash sequences', content: '%s %d %n \\x00 \\u0000 ${jndi:ldap://x}' },
      { name: 'exactly 4000 characters', content: 'z'.repeat(4000) },
    ];

    for (const { name, content } of verbatim) {
      it(name, async () => {
        const incoming = waitFor(bobSocket, 'message:new', (m) => m?.content === content);
        const stored = await sendText(socket, conversation.id, content);
        assert.equal(stored.content, content);
        assert.equal((await incoming).id, stored.id);
        const history = await allMessages(server, bob.token, conversation.id);
        assert.equal(history.find((m) => m.id === stored.id)?.content, content);
        await assertStillHealthy({ stored: 1 });
      });
    }

    it('unknown extra fields are ignored', async () => {
      const stored = await sendText(socket, conversation.id, 'with extras', { extra: { nested: [1, 2] }, sender_id: bob.user.id });
      assert.equal(stored.sender_id, alice.user.id, 'the client chose the sender');
      await assertStillHealthy({ stored: 1 });
    });

    it('the database survived: users can still log in and search', async () => {
      const login = await server.post('/api/auth/login', { username: bob.user.username, password: DEFAULT_PASSWORD });
      assert.equal(login.status, 200, login.text);
      const search = await server.get(`/api/users/search?query=${encodeURIComponent("' OR '1'='1")}`, { token: alice.token });
      assert.equal(search.status, 200, search.text);
      assert.deepEqual(search.body.users, []);
      const own = await server.get(`/api/users/search?query=${encodeURIComponent(bob.user.username)}`, { token: alice.token });
      assert.equal(own.status, 200, own.text);
      assert.deepEqual(own.body.users.map((u) => u.id), [bob.user.id]);
      assert.ok(!('email' in own.body.users[0]), "another user's email was sent");
    });
  });

  describe('over HTTP', () => {
    const register = (body, opts = {}) => server.api('POST', '/api/auth/register', { body, ...opts });
    const fresh = () => uniqueUsername('bad');
    const validRegistration = () => {
      const username = fresh();
      return { username, email: `${username}@example.com`, password: DEFAULT_PASSWORD };
    };
    const postMessage = (body, opts = {}) =>
      server.api('POST', `/api/conversations/${conversation.id}/messages`, { token: alice.token, body, ...opts });
    const history = (query) => historyPage(server, alice.token, conversation.id, query);

    const cases = [
      {
        name: 'register with a non-JSON body',
        request: () => server.api('POST', '/api/auth/register', { raw: '{"username": "abc", oops', headers: { 'content-type': 'application/json' } }),
        status: 400,
        code: 'invalid_body',
      },
      {
        name: 'register with a JSON body sent as text/plain',
        request: () => server.api('POST', '/api/auth/register', { raw: JSON.stringify(validRegistration()), headers: { 'content-type': 'text/plain' } }),
        status: [400, 415],
        code: ['invalid_body', 'unsupported_media_type'],
      },
      {
        name: 'register with a form-encoded body',
        request: () => {
          const r = validRegistration();
          return server.api('POST', '/api/auth/register', {
            raw: new URLSearchParams(r).toString(),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          });
        },
        status: [400, 415],
        code: ['invalid_body', 'unsupported_media_type'],
      },
      { name: 'register with a JSON array', request: () => register([validRegistration()]), status: 400, code: 'invalid_body' },
      { name: 'register with JSON null', request: () => register(null), status: 400, code: 'invalid_body' },
      { name: 'register with a numeric username', request: () => register({ ...validRegistration(), username: 12345 }), status: 400, code: 'invalid_body' },
      { name: 'register with a password array', request: () => register({ ...validRegistration(), password: ['a', 'b'] }), status: 400, code: 'invalid_body' },
      {
        name: 'register without a password',
        request: () => {
          const { password, ...rest } = validRegistration();
          return register(rest);
        },
        status: 400,
        code: MISSING_FIELD_HTTP,
      },
      { name: 'register with an empty object', request: () => register({}), status: 400, code: MISSING_FIELD_HTTP },
      { name: 'register with a 10,000-character username', request: () => register({ ...validRegistration(), username: 'a'.repeat(10_000) }), status: 400, code: 'validation_failed', field: 'username' },
      { name: 'register with a 33-character username', request: () => register({ ...validRegistration(), username: 'b'.repeat(33) }), status: 400, code: 'validation_failed', field: 'username' },
      { name: 'register with a 2-character username', request: () => register({ ...validRegistration(), username: 'ab' }), status: 400, code: 'validation_failed', field: 'username' },
      { name: 'register with spaces and symbols in the username', request: () => register({ ...validRegistration(), username: "bob'; --" }), status: 400, code: 'validation_failed', field: 'username' },
      { name: 'register with an invalid email', request: () => register({ ...validRegistration(), email: 'not-an-email' }), status: 400, code: 'validation_failed', field: 'email' },
      { name: 'register with a 7-character password', request: () => register({ ...validRegistration(), password: 'short12' }), status: 400, code: 'validation_failed', field: 'password' },
      {
        name: 'register with several invalid fields reports each',
        request: () => register({ username: 'x', email: 'nope', password: '1' }),
        status: 400,
        code: 'validation_failed',
        field: ['username', 'email', 'password'],
      },
      {
        name: 'login without a password',
        request: () => server.post('/api/auth/login', { username: alice.user.username }),
        status: 400,
        code: MISSING_FIELD_HTTP,
      },
      {
        name: 'login with a numeric password',
        request: () => server.post('/api/auth/login', { username: alice.user.username, password: 12345678 }),
        status: 400,
        code: 'invalid_body',
      },
      {
        // Over the 64 KiB JSON limit, yet small enough that the client has sent
        // it all before the server answers (a server refusing a huge body
        // early may close the connection while the client is still writing).
        name: 'a 256 KB JSON body',
        request: () => register({ ...validRegistration(), padding: 'p'.repeat(256 * 1024) }),
        status: 413,
        code: 'payload_too_large',
      },
      { name: 'history with limit=0', request: () => history({ limit: 0 }), status: 400, code: 'validation_failed' },
      { name: 'history with limit=1000', request: () => history({ limit: 1000 }), status: 400, code: 'validation_failed' },
      { name: 'history with limit=101', request: () => history({ limit: 101 }), status: 400, code: 'validation_failed' },
      { name: 'history with limit=-5', request: () => history({ limit: -5 }), status: 400, code: ['validation_failed', 'invalid_parameter'] },
      { name: 'history with limit=abc', request: () => history({ limit: 'abc' }), status: 400, code: ['validation_failed', 'invalid_parameter'] },
      { name: 'history with before and after_seq together', request: () => history({ before: 10, after_seq: 0 }), status: 400, code: 'validation_failed' },
      {
        name: 'history of a nonexistent conversation',
        request: () => historyPage(server, alice.token, 987654321, {}),
        status: [403, 404],
        code: NO_SUCH_CONVERSATION,
      },
      { name: 'history with a non-numeric conversation id', request: () => server.get('/api/conversations/abc/messages', { token: alice.token }), status: [400, 404], code: ['invalid_parameter', 'not_found'] },
      { name: 'REST send with a 5000-character content', request: () => postMessage({ content: 'x'.repeat(5000) }), status: 400, code: 'validation_failed', field: 'content' },
      { name: 'REST send with a whitespace-only content', request: () => postMessage({ content: '   \n ' }), status: 400, code: 'validation_failed', field: 'content' },
      { name: 'REST send with message_type "system"', request: () => postMessage({ content: 'official', message_type: 'system' }), status: 400, code: ['validation_failed', 'invalid_body'] },
      { name: 'REST send with a numeric content', request: () => postMessage({ content: 42 }), status: 400, code: 'invalid_body' },
      { name: 'REST send with a non-JSON body', request: () => postMessage(undefined, { raw: 'content=hi', headers: { 'content-type': 'application/json' } }), status: 400, code: 'invalid_body' },
      {
        name: 'REST send into a nonexistent conversation',
        request: () => server.post('/api/conversations/987654321/messages', { content: 'hi' }, { token: alice.token }),
        status: [403, 404],
        code: NO_SUCH_CONVERSATION,
      },
      {
        name: 'start a conversation with a string user_id',
        request: () => server.post('/api/conversations', { user_id: String(bob.user.id) }, { token: alice.token }),
        status: 400,
        code: 'invalid_body',
      },
      {
        name: 'start a conversation with a nonexistent user',
        request: () => server.post('/api/conversations', { user_id: 987654321 }, { token: alice.token }),
        status: 404,
        code: 'not_found',
      },
      {
        name: 'create a group with member_ids as a string',
        request: () => server.post('/api/conversations', { type: 'group', name: 'g', member_ids: '1,2' }, { token: alice.token }),
        status: 400,
        code: 'invalid_body',
      },
    ];

    for (const testCase of cases) {
      it(testCase.name, async () => {
        const res = await testCase.request();
        assertApiError(res, testCase.status, testCase.code);
        if (testCase.field) {
          const fields = Array.isArray(testCase.field) ? testCase.field : [testCase.field];
          assert.ok(res.body.details && typeof res.body.details === 'object', `no details in ${res.text}`);
          for (const field of fields) {
            assert.ok(field in res.body.details, `details do not name "${field}": ${res.text}`);
          }
        }
        await assertStillHealthy();
      });
    }

    it('a rejected registration created no user', async () => {
      const username = fresh();
      const bad = await register({ username, email: `${username}@example.com`, password: 'short' });
      assertApiError(bad, 400, 'validation_failed');
      const good = await register({ username, email: `${username}@example.com`, password: DEFAULT_PASSWORD });
      assert.equal(good.status, 201, good.text);
    });

    it('a valid REST send after all that is stored and delivered', async () => {
      const clientId = newClientId();
      const incoming = waitFor(bobSocket, 'message:new', (m) => m?.client_id === clientId);
      const res = await postMessage({ content: '  over rest  ', client_id: clientId });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.content, 'over rest');
      assert.equal((await incoming).id, res.body.id);
      await assertStillHealthy({ stored: 1 });
    });
  });
});
