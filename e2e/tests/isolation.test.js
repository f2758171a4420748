// Events stay inside their conversation. Alice and Bob share X, Bob and Carol share Y (a
// direct conversation and a public group each); Bob is in both. Every kind of event is
// produced in each, and at the end no socket holds an event of a conversation it is not in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, recordEvents, waitFor } from '../lib/server.js';
import { barrier, createDirect, createGroup, emitOk, sendText } from '../lib/chat.js';

const PRESENCE_EVENTS = new Set(['user:online', 'user:offline']);
const CONVERSATION_EVENTS = [
  'message:new',
  'message:read',
  'message:delivered',
  'typing:start',
  'typing:stop',
  'conversation:new',
  'conversation:member_joined',
  'conversation:member_left',
];

/** The conversation an event is about (`conversation:new` carries the conversation itself). */
function conversationOf({ event, args }) {
  const payload = args[0];
  if (event === 'conversation:new') return payload?.id;
  return payload?.conversation_id;
}

describe('events stay in their conversation', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let dave;
  const sockets = {};
  const events = {};
  let x;
  let y;
  let groupX;
  let groupY;

  before(async () => {
    server = await startServer();
    [alice, bob, carol, dave] = await Promise.all([0, 1, 2, 3].map(() => server.register()));
    x = await createDirect(server, alice, bob);
    y = await createDirect(server, bob, carol);
    // Recording starts before the next user connects, so presence events are seen too.
    for (const [name, user] of Object.entries({ alice, bob, carol, dave })) {
      sockets[name] = await server.connect(user.token, { transports: ['websocket'] });
      events[name] = recordEvents(sockets[name]);
    }
  });

  after(async () => {
    await server?.stop();
  });

  /** `from` sends a text into `conversation`; resolves once `to` has it. */
  async function send(from, to, conversation) {
    const content = `${from} -> ${to} in ${conversation.id}`;
    const arrived = waitFor(sockets[to], 'message:new', (m) => m?.content === content);
    const message = await sendText(sockets[from], conversation.id, content);
    await arrived;
    return message;
  }

  /** `by` emits an event about `conversation`; resolves once `to` has the relay. */
  async function relay(event, payload, by, to, conversation) {
    const arrived = waitFor(
      sockets[to],
      event,
      (e) => e?.conversation_id === conversation.id && e?.user_id === by.user.id,
    );
    await emitOk(sockets[nameOf(by)], event, { conversation_id: conversation.id, ...payload });
    await arrived;
  }

  function nameOf(user) {
    return { [alice.user.id]: 'alice', [bob.user.id]: 'bob', [carol.user.id]: 'carol', [dave.user.id]: 'dave' }[user.user.id];
  }

  it('produces every kind of event in both conversations', async () => {
    // conversation:new
    const newX = waitFor(sockets.alice, 'conversation:new', (c) => c?.name === 'group x');
    const newY = waitFor(sockets.carol, 'conversation:new', (c) => c?.name === 'group y');
    groupX = await createGroup(server, alice, [bob], 'group x', { isPublic: true });
    groupY = await createGroup(server, bob, [carol], 'group y', { isPublic: true });
    await Promise.all([newX, newY]);

    for (const [conv, outer, inner] of [
      [x, alice, bob],
      [y, carol, bob],
      [groupX, alice, bob],
      [groupY, carol, bob],
    ]) {
      // message:new both ways
      const fromOuter = await send(nameOf(outer), nameOf(inner), conv);
      const fromInner = await send(nameOf(inner), nameOf(outer), conv);
      // receipts both ways
      await relay('message:delivered', { message_id: fromOuter.id }, inner, nameOf(outer), conv);
      await relay('message:read', { message_id: fromOuter.id }, inner, nameOf(outer), conv);
      await relay('message:delivered', { message_id: fromInner.id }, outer, nameOf(inner), conv);
      await relay('message:read', { message_id: fromInner.id }, outer, nameOf(inner), conv);
      // typing both ways
      for (const [by, to] of [[outer, inner], [inner, outer]]) {
        await relay('typing:start', {}, by, nameOf(to), conv);
        await relay('typing:stop', {}, by, nameOf(to), conv);
      }
    }

    // member_joined / member_left (and their system messages) in both groups
    for (const [group, watcher] of [[groupX, 'alice'], [groupY, 'carol']]) {
      const about = (e) => e?.conversation_id === group.id && e?.user?.id === dave.user.id;
      const joined = waitFor(sockets[watcher], 'conversation:member_joined', about);
      const joinRes = await server.post(`/api/conversations/${group.id}/join`, undefined, { token: dave.token });
      assert.equal(joinRes.status, 200, `join ${group.name}: HTTP ${joinRes.status} ${joinRes.text}`);
      await joined;
      const left = waitFor(sockets[watcher], 'conversation:member_left', about);
      const leaveRes = await server.post(`/api/conversations/${group.id}/leave`, undefined, { token: dave.token });
      assert.equal(leaveRes.status, 204, `leave ${group.name}: HTTP ${leaveRes.status} ${leaveRes.text}`);
      await left;
    }

    // Everything emitted to Alice and Carol before these messages has arrived once they have.
    await barrier(sockets.bob, x.id, [sockets.alice]);
    await barrier(sockets.bob, y.id, [sockets.carol]);
  });

  it('Alice received every kind of event of X, and Carol of Y', () => {
    for (const [name, own] of [['alice', [x.id, groupX.id]], ['carol', [y.id, groupY.id]]]) {
      for (const event of CONVERSATION_EVENTS) {
        const seen = events[name].some((e) => e.event === event && own.includes(conversationOf(e)));
        assert.ok(seen, `${name} never received ${event} of her own conversations`);
      }
    }
  });

  it('Alice never received an event of Y, and Carol never one of X', () => {
    const forbidden = { alice: [y.id, groupY.id], carol: [x.id, groupX.id] };
    for (const [name, ids] of Object.entries(forbidden)) {
      const leaked = events[name].filter((e) => !PRESENCE_EVENTS.has(e.event) && ids.includes(conversationOf(e)));
      assert.deepEqual(leaked, [], `${name} received events of a conversation she is not in`);
      const unnamed = events[name].filter((e) => !PRESENCE_EVENTS.has(e.event) && !Number.isInteger(conversationOf(e)));
      assert.deepEqual(unnamed, [], `${name} received events that name no conversation`);
    }
  });

  it('Bob, in both, received the events of both', () => {
    for (const id of [x.id, y.id, groupX.id, groupY.id]) {
      for (const event of ['message:new', 'message:read', 'message:delivered', 'typing:start', 'typing:stop']) {
        assert.ok(
          events.bob.some((e) => e.event === event && conversationOf(e) === id),
          `bob never received ${event} of conversation ${id}`,
        );
      }
    }
  });

  it('a private conversation answers an outsider exactly like an id that does not exist, on every route and event', async () => {
    const privateGroup = await createGroup(server, alice, [bob], 'private x', { isPublic: false });
    const missing = 2_000_000_000;
    const rest = (id) => [
      ['GET', `/api/conversations/${id}`],
      ['GET', `/api/conversations/${id}/messages`],
      ['GET', `/api/conversations/${id}/messages?after_seq=0`],
      ['POST', `/api/conversations/${id}/messages`, { content: 'let me in' }],
      ['GET', `/api/conversations/${id}/members`],
      ['POST', `/api/conversations/${id}/members`, { user_id: carol.user.id }],
      ['POST', `/api/conversations/${id}/join`],
      ['POST', `/api/conversations/${id}/leave`],
    ];
    const socketEvents = (id) => [
      ['message:send', { conversation_id: id, content: 'let me in' }],
      ['message:read', { conversation_id: id, message_id: 1 }],
      ['message:delivered', { conversation_id: id, message_id: 1 }],
      ['typing:start', { conversation_id: id }],
      ['typing:stop', { conversation_id: id }],
      ['conversation:join', { conversation_id: id }],
    ];
    const strip = (text, id) => text.split(String(id)).join('<id>');
    for (const target of [x, privateGroup]) {
      const requests = rest(target.id);
      const controls = rest(missing);
      for (let i = 0; i < requests.length; i++) {
        const [method, path, body] = requests[i];
        const call = (p) => (method === 'GET' ? server.get(p, { token: carol.token }) : server.post(p, body, { token: carol.token }));
        const real = await call(path);
        const none = await call(controls[i][1]);
        const label = `${method} ${strip(path, target.id)}`;
        assert.equal(real.status, 404, `${label}: HTTP ${real.status} ${real.text}`);
        assert.equal(real.body?.code, 'not_found', `${label}: ${real.text}`);
        assert.deepEqual(
          [real.status, strip(real.text, target.id)],
          [none.status, strip(none.text, missing)],
          `${label} tells an existing private conversation from a missing one`,
        );
      }
      const emits = socketEvents(target.id);
      const controlEmits = socketEvents(missing);
      for (let i = 0; i < emits.length; i++) {
        const [event, payload] = emits[i];
        const real = await sockets.carol.timeout(5_000).emitWithAck(event, payload);
        const none = await sockets.carol.timeout(5_000).emitWithAck(event, controlEmits[i][1]);
        assert.equal(real?.success, false, `${event}: ${JSON.stringify(real)}`);
        assert.equal(real?.code, 'not_found', `${event}: ${JSON.stringify(real)}`);
        assert.deepEqual(real, none, `${event} tells an existing private conversation from a missing one`);
      }
    }
    assert.equal(sockets.carol.connected, true, 'the refused socket was disconnected');
  });

  it('presence does not cross either: Alice hears nothing about Carol, nor Carol about Alice', () => {
    const about = (name, userId) =>
      events[name].filter((e) => PRESENCE_EVENTS.has(e.event) && e.args[0]?.user_id === userId);
    assert.deepEqual(about('alice', carol.user.id), []);
    assert.deepEqual(about('carol', alice.user.id), []);
  });
});
