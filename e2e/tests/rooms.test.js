// Groups and public rooms: creation, the room list, joining (HTTP and Socket.IO), leaving,
// adding members, and the system messages and events each of these produces.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, emitAck, expectNoEvent, waitFor } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  assertMessageShape,
  assertPublicUser,
  createDirect,
  createGroup,
  emitOk,
  historyPage,
  listConversations,
  newClientId,
  sendText,
} from '../lib/chat.js';

/** Asserts a conversation as the API returns it. */
function assertConversation(conv, { id, name, memberIds = [], notMemberIds = [] } = {}) {
  assert.ok(conv && typeof conv === 'object', `not a conversation: ${JSON.stringify(conv)}`);
  for (const key of ['id', 'type', 'name', 'created_by', 'created_at', 'members', 'last_message', 'unread_count']) {
    assert.ok(key in conv, `conversation.${key} missing: ${JSON.stringify(conv)}`);
  }
  if (id !== undefined) assert.equal(conv.id, id, `conversation id: ${JSON.stringify(conv)}`);
  assert.equal(conv.type, 'group', `conversation type: ${JSON.stringify(conv)}`);
  if (name !== undefined) assert.equal(conv.name, name, `conversation name: ${JSON.stringify(conv)}`);
  assert.ok(Array.isArray(conv.members), `conversation.members: ${JSON.stringify(conv)}`);
  const ids = conv.members.map((m) => m.id);
  for (const memberId of memberIds) assert.ok(ids.includes(memberId), `user ${memberId} missing from members ${ids}`);
  for (const memberId of notMemberIds) assert.ok(!ids.includes(memberId), `user ${memberId} still in members ${ids}`);
  conv.members.forEach((m) => assertPublicUser(m));
}

describe('groups and public rooms', { timeout: 120_000 }, () => {
  let server;
  let owner;
  let member;
  let joiner;
  let socketJoiner;
  let added;
  let stranger;
  const sockets = {};
  let room;
  const roomName = `lobby ${newClientId().slice(0, 8)}`;
  // System messages seen by the owner's socket, in arrival order.
  const systemMessages = [];

  before(async () => {
    server = await startServer();
    [owner, member, joiner, socketJoiner, added, stranger] = await Promise.all(
      Array.from({ length: 6 }, () => server.register()),
    );
    for (const [name, user] of Object.entries({ owner, member, joiner, socketJoiner, added, stranger })) {
      sockets[name] = await server.connect(user.token, { transports: ['websocket'] });
    }
    sockets.owner.on('message:new', (m) => {
      if (m?.message_type === 'system') systemMessages.push(m);
    });
  });

  after(async () => {
    await server?.stop();
  });

  /** Waits for `event` about `user` in the room on each of `socketNames`. */
  function memberEvent(event, user, socketNames) {
    return socketNames.map((name) =>
      waitFor(sockets[name], event, (e) => e?.conversation_id === room.id && e?.user?.id === user.user.id),
    );
  }

  /** Waits for a system message of the room on each of `socketNames`. */
  function systemMessage(socketNames) {
    return socketNames.map((name) =>
      waitFor(sockets[name], 'message:new', (m) => m?.conversation_id === room.id && m?.message_type === 'system'),
    );
  }

  /** `from` sends into the room; asserts who gets it and who does not. */
  async function deliveredTo(from, receivers, nonReceivers) {
    const clientId = newClientId();
    const match = (m) => m?.client_id === clientId;
    const arrivals = receivers.map((name) => waitFor(sockets[name], 'message:new', match));
    const quiet = nonReceivers.map((name) => expectNoEvent(sockets[name], 'message:new', 1_000, match));
    const stored = await sendText(sockets[from], room.id, `to the room ${clientId}`, { client_id: clientId });
    for (const received of await Promise.all(arrivals)) assert.equal(received.id, stored.id);
    await Promise.all(quiet);
  }

  async function roomList(user) {
    const res = await server.get('/api/rooms', { token: user.token });
    assert.equal(res.status, 200, `GET /api/rooms: HTTP ${res.status} ${res.text}`);
    assert.ok(Array.isArray(res.body?.rooms), `no rooms array in ${res.text}`);
    return res.body.rooms;
  }

  async function roomSeenBy(user) {
    const found = (await roomList(user)).find((r) => r.id === room.id);
    assert.ok(found, `the room is not in GET /api/rooms for user ${user.user.id}`);
    assert.ok(Number.isInteger(found.member_count), `member_count: ${JSON.stringify(found)}`);
    assert.equal(typeof found.is_member, 'boolean', `is_member: ${JSON.stringify(found)}`);
    assert.equal(found.name, roomName);
    return found;
  }

  it('creating a public group answers 201 and announces conversation:new to its members only', async () => {
    const isRoom = (c) => c?.name === roomName;
    const onOwner = waitFor(sockets.owner, 'conversation:new', isRoom);
    const onMember = waitFor(sockets.member, 'conversation:new', isRoom);
    const quiet = expectNoEvent(sockets.joiner, 'conversation:new', 1_000, isRoom);

    const res = await server.post(
      '/api/conversations',
      { type: 'group', name: roomName, member_ids: [member.user.id], is_public: true },
      { token: owner.token },
    );
    assert.equal(res.status, 201, `create room: HTTP ${res.status} ${res.text}`);
    room = res.body;
    const memberIds = [owner.user.id, member.user.id];
    assertConversation(room, { name: roomName, memberIds });
    assertConversation(await onOwner, { id: room.id, name: roomName, memberIds });
    assertConversation(await onMember, { id: room.id, name: roomName, memberIds });
    await quiet;
  });

  it('GET /api/rooms lists it with member_count and is_member', async () => {
    const outside = await roomSeenBy(joiner);
    assert.equal(outside.member_count, 2);
    assert.equal(outside.is_member, false);
    const inside = await roomSeenBy(owner);
    assert.equal(inside.member_count, 2);
    assert.equal(inside.is_member, true);
  });

  it('joining over HTTP: 200 with the conversation; members get member_joined and a system message', async () => {
    const joined = memberEvent('conversation:member_joined', joiner, ['owner', 'member']);
    const notices = systemMessage(['owner', 'member']);

    const res = await server.post(`/api/conversations/${room.id}/join`, undefined, { token: joiner.token });
    assert.equal(res.status, 200, `join: HTTP ${res.status} ${res.text}`);
    assertConversation(res.body, { id: room.id, name: roomName, memberIds: [owner.user.id, member.user.id, joiner.user.id] });

    for (const event of await Promise.all(joined)) {
      assert.equal(event.conversation_id, room.id);
      assertPublicUser(event.user, { id: joiner.user.id, username: joiner.user.username });
    }
    const [atOwner, atMember] = await Promise.all(notices);
    assertMessageShape(atOwner, { conversation_id: room.id, message_type: 'system' });
    assert.equal(atMember.id, atOwner.id);

    const listed = await roomSeenBy(joiner);
    assert.equal(listed.is_member, true);
    assert.equal(listed.member_count, 3);
  });

  it('the joiner, connected before joining, receives what is sent in the room from now on', async () => {
    await deliveredTo('owner', ['member', 'joiner'], ['stranger']);
    await deliveredTo('joiner', ['owner', 'member'], []);
  });

  it('conversation:join by a member subscribes the socket again: acked, nothing announced', async () => {
    const quiet = ['owner', 'joiner'].map((name) =>
      expectNoEvent(sockets[name], 'conversation:member_joined', 1_000, (e) => e?.conversation_id === room.id),
    );
    const ack = await emitOk(sockets.member, 'conversation:join', { conversation_id: room.id });
    assert.equal(ack.conversation_id, room.id, `ack: ${JSON.stringify(ack)}`);
    await Promise.all(quiet);
  });

  it('joining over Socket.IO: conversation:join is acked with success; members get member_joined and a system message', async () => {
    const joined = memberEvent('conversation:member_joined', socketJoiner, ['owner', 'member', 'joiner']);
    const notices = systemMessage(['owner', 'member', 'joiner']);

    const ack = await emitOk(sockets.socketJoiner, 'conversation:join', { conversation_id: room.id });
    assert.equal(ack.conversation_id, room.id, `ack: ${JSON.stringify(ack)}`);

    for (const event of await Promise.all(joined)) {
      assertPublicUser(event.user, { id: socketJoiner.user.id, username: socketJoiner.user.username });
    }
    for (const notice of await Promise.all(notices)) {
      assertMessageShape(notice, { conversation_id: room.id, message_type: 'system' });
    }
    await deliveredTo('member', ['owner', 'joiner', 'socketJoiner'], []);
    const mine = (await listConversations(server, socketJoiner)).find((c) => c.id === room.id);
    assert.ok(mine, 'the room is not in the conversations of the user who joined over Socket.IO');
  });

  it('leaving: 204; members get member_left and a system message; the leaver receives nothing more', async () => {
    const left = memberEvent('conversation:member_left', joiner, ['owner', 'member']);
    const notices = systemMessage(['owner', 'member']);

    const res = await server.post(`/api/conversations/${room.id}/leave`, undefined, { token: joiner.token });
    assert.equal(res.status, 204, `leave: HTTP ${res.status} ${res.text}`);

    for (const event of await Promise.all(left)) {
      assert.equal(event.conversation_id, room.id);
      assertPublicUser(event.user, { id: joiner.user.id, username: joiner.user.username });
    }
    for (const notice of await Promise.all(notices)) {
      assertMessageShape(notice, { conversation_id: room.id, message_type: 'system' });
    }

    await deliveredTo('owner', ['member'], ['joiner']);
    assertApiError(await historyPage(server, joiner.token, room.id), 403, 'not_a_member');
    const ack = await emitAck(sockets.joiner, 'message:send', { conversation_id: room.id, content: 'still here?' });
    assertAckError(ack, 'not_a_member');

    const listed = await roomSeenBy(joiner);
    assert.equal(listed.is_member, false);
    const shown = await server.get(`/api/conversations/${room.id}`, { token: owner.token });
    assertConversation(shown.body, { id: room.id, memberIds: [owner.user.id], notMemberIds: [joiner.user.id] });
  });

  it('a direct conversation cannot be left: 422', async () => {
    const direct = await createDirect(server, owner, stranger);
    const res = await server.post(`/api/conversations/${direct.id}/leave`, undefined, { token: owner.token });
    assert.equal(res.status, 422, `leave direct: HTTP ${res.status} ${res.text}`);
    assert.equal(typeof res.body?.code, 'string', `error code missing: ${res.text}`);
    assert.equal(typeof res.body?.error, 'string', `error sentence missing: ${res.text}`);
    const still = await server.get(`/api/conversations/${direct.id}`, { token: owner.token });
    assert.equal(still.status, 200, 'the direct conversation was left anyway');
  });

  it('a private group is not listed and cannot be joined: 404 not_found over HTTP and Socket.IO, as if it did not exist', async () => {
    const privateGroup = await createGroup(server, owner, [member], 'private group', { isPublic: false });
    assert.ok(!(await roomList(stranger)).some((r) => r.id === privateGroup.id), 'a private group is listed in /api/rooms');

    const quiet = ['owner', 'member'].map((name) =>
      expectNoEvent(sockets[name], 'conversation:member_joined', 1_000, (e) => e?.conversation_id === privateGroup.id),
    );
    const res = await server.post(`/api/conversations/${privateGroup.id}/join`, undefined, { token: stranger.token });
    assertApiError(res, 404, 'not_found');
    const ack = await emitAck(sockets.stranger, 'conversation:join', { conversation_id: privateGroup.id });
    assertAckError(ack, 'not_found');
    await Promise.all(quiet);

    const noEcho = expectNoEvent(sockets.stranger, 'message:new', 1_000, (m) => m?.conversation_id === privateGroup.id);
    await sendText(sockets.owner, privateGroup.id, 'members only');
    await noEcho;
  });

  it('a member adds a user: 201, the added user gets conversation:new and then the messages; repeated: 409 already_member', async () => {
    const announced = waitFor(sockets.added, 'conversation:new', (c) => c?.id === room.id);
    const res = await server.post(`/api/conversations/${room.id}/members`, { user_id: added.user.id }, { token: member.token });
    assert.equal(res.status, 201, `add member: HTTP ${res.status} ${res.text}`);
    assertConversation(res.body, { id: room.id, memberIds: [added.user.id] });
    assertConversation(await announced, { id: room.id, name: roomName, memberIds: [added.user.id] });

    await deliveredTo('owner', ['added', 'member'], []);

    const again = await server.post(`/api/conversations/${room.id}/members`, { user_id: added.user.id }, { token: owner.token });
    assertApiError(again, 409, 'already_member');
  });

  it('a non-member cannot add anyone: 403', async () => {
    const res = await server.post(`/api/conversations/${room.id}/members`, { user_id: stranger.user.id }, { token: stranger.token });
    assertApiError(res, 403, 'not_a_member');
  });

  it('the history contains the system messages of the joins and the leave', async () => {
    const history = await allMessages(server, owner.token, room.id);
    const system = history.filter((m) => m.message_type === 'system');
    // joined over HTTP, joined over Socket.IO, left, added.
    assert.ok(system.length >= 3, `system messages in history: ${JSON.stringify(system)}`);
    for (const m of system) assertMessageShape(m, { conversation_id: room.id });
    const byId = new Map(history.map((m) => [m.id, m]));
    for (const live of systemMessages) {
      const stored = byId.get(live.id);
      assert.ok(stored, `system message ${live.id} delivered live is missing from the history`);
      assert.equal(stored.content, live.content);
      assert.equal(stored.seq, live.seq);
      assert.equal(stored.message_type, 'system');
    }
    assert.ok(systemMessages.length >= 3, `system messages delivered live: ${systemMessages.length}`);
  });
});
