// Reactions, driven by the real socket.io-client: `reaction:add` / `reaction:remove` and their REST
// twins are acked with the message's counts and the caller's own reactions, and every other socket
// of the conversation (the reactor's other tabs included) hears `message:reaction` once, with the
// new count and the conversation's next revision; an outsider hears nothing. A reaction that is
// there already (or one removed that is not) changes nothing and takes no revision. Hostile input
// is refused with the documented codes and leaves the socket usable. Twenty members reacting at the
// same moment end with exact counts on every client, each change heard once.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { emitAck, expectNoEvent, startServer, waitFor } from '../lib/server.js';
import {
  allMessages,
  assertAckError,
  assertApiError,
  createDirect,
  createGroup,
  emitOk,
  historyPage,
  newClientId,
  sendText,
} from '../lib/chat.js';

const THUMBS = '👍';
const PARTY = '🎉';
const ROCKET = '🚀';
const HEART = '\u2764\uFE0F'; // ❤️, fully qualified
const HEART_MINIMAL = '\u2764'; // ❤ without the variation selector
const REACTION_FIELDS = ['conversation_id', 'message_id', 'rev', 'user_id', 'emoji', 'action', 'count'];

/** The documented fields of a `message:reaction` payload. */
const reactionEvent = (e) => Object.fromEntries(REACTION_FIELDS.map((k) => [k, e?.[k]]));

/** Count of `emoji` in a `reactions` list (0 when absent). */
const countOf = (reactions, emoji) => reactions.find((r) => r.emoji === emoji)?.count ?? 0;

/**
 * Collects the `event` payloads matching `predicate` that `socket` receives from now on;
 * `until(n)` resolves once `n` have arrived (rejects after `timeoutMs`).
 */
function collect(socket, event, predicate = () => true) {
  const seen = [];
  const waiters = new Set();
  const handler = (payload) => {
    let ok;
    try {
      ok = predicate(payload);
    } catch {
      ok = false;
    }
    if (!ok) return;
    seen.push(payload);
    for (const w of [...waiters]) w();
  };
  socket.on(event, handler);
  return {
    seen,
    stop: () => socket.off(event, handler),
    until(n, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (seen.length < n) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(seen);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${n} "${event}" (got ${seen.length}): ${JSON.stringify(seen)}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}

describe('reactions', { timeout: 120_000 }, () => {
  let server;
  let alice;
  let bob;
  let carol;
  let eve;
  let group;
  let aliceSocket;
  let aliceTab;
  let bobSocket;
  let carolSocket;
  let eveSocket;

  before(async () => {
    server = await startServer();
    [alice, bob, carol, eve] = await Promise.all([0, 1, 2, 3].map(() => server.register()));
    // Alice, Bob and Carol share a group; Eve shares only a direct conversation with Alice.
    group = await createGroup(server, alice, [bob, carol], 'reactions');
    await createDirect(server, alice, eve);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    aliceTab = await server.connect(alice.token, { transports: ['polling'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
    carolSocket = await server.connect(carol.token, { transports: ['websocket'] });
    eveSocket = await server.connect(eve.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
  });

  /** The conversation's `last_rev`, as a member reads it with history. */
  async function lastRev(member, conversationId) {
    const res = await historyPage(server, member.token, conversationId, { limit: 1 });
    assert.equal(res.status, 200, res.text);
    assert.ok(Number.isInteger(res.body.last_rev), `last_rev missing: ${res.text}`);
    return res.body.last_rev;
  }

  /** One message as `member` reads it in history. */
  async function stored(member, conversationId, messageId) {
    const message = (await allMessages(server, member.token, conversationId)).find((m) => m.id === messageId);
    assert.ok(message, `message ${messageId} is not in the history of conversation ${conversationId}`);
    return message;
  }

  /**
   * A message sent over REST reaches every socket of every member (the sender's included), so once
   * it has arrived everywhere every event emitted to those sockets earlier has arrived as well.
   */
  async function settle(sender, conversationId, sockets) {
    const clientId = newClientId();
    const arrivals = sockets.map((s) => waitFor(s, 'message:new', (m) => m?.client_id === clientId, 15_000));
    const res = await server.post(`/api/conversations/${conversationId}/messages`, { content: `settle ${clientId}`, client_id: clientId }, { token: sender.token });
    assert.equal(res.status, 201, res.text);
    await Promise.all(arrivals);
    return res.body;
  }

  const reactionPath = (messageId, emoji) => `/api/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;

  it("reaction:add is acked with the counts and the reactor's own reactions; every other socket of the conversation hears message:reaction once with the next revision, an outsider nothing", async () => {
    const message = await sendText(bobSocket, group.id, 'react to this');
    const rev0 = await lastRev(bob, group.id);
    const aboutIt = (e) => e?.message_id === message.id;
    const others = [aliceTab, bobSocket, carolSocket];
    const heard = others.map((s) => collect(s, 'message:reaction', aboutIt));
    const sender = collect(aliceSocket, 'message:reaction', aboutIt);
    const outsider = collect(eveSocket, 'message:reaction');

    const ack = await emitOk(aliceSocket, 'reaction:add', { message_id: message.id, emoji: THUMBS });
    assert.equal(ack.message_id, message.id);
    assert.equal(ack.rev, rev0 + 1, 'the reaction takes the conversation\'s next revision');
    assert.deepEqual(ack.reactions, [{ emoji: THUMBS, count: 1 }]);
    assert.deepEqual(ack.my_reactions, [THUMBS]);
    const first = {
      conversation_id: group.id,
      message_id: message.id,
      rev: rev0 + 1,
      user_id: alice.user.id,
      emoji: THUMBS,
      action: 'add',
      count: 1,
    };
    for (const h of heard) assert.deepEqual(reactionEvent((await h.until(1))[0]), first);

    // Bob reacts with the same emoji: the count is 2 everywhere, and his ack names his own.
    const bobs = await emitOk(bobSocket, 'reaction:add', { message_id: message.id, emoji: THUMBS });
    assert.equal(bobs.rev, rev0 + 2);
    assert.deepEqual(bobs.reactions, [{ emoji: THUMBS, count: 2 }]);
    assert.deepEqual(bobs.my_reactions, [THUMBS]);
    const second = { ...first, rev: rev0 + 2, user_id: bob.user.id, count: 2 };
    await Promise.all([sender.until(1), heard[0].until(2), heard[2].until(2)]);

    // Once a later message reached everyone, nothing more is on the way.
    await settle(alice, group.id, [aliceSocket, aliceTab, bobSocket, carolSocket]);
    await settle(alice, (await createDirect(server, alice, eve)).id, [eveSocket]);
    assert.deepEqual(heard[0].seen.map(reactionEvent), [first, second], "alice's other tab");
    assert.deepEqual(heard[1].seen.map(reactionEvent), [first], "bob's socket hears alice's reaction, not his own");
    assert.deepEqual(heard[2].seen.map(reactionEvent), [first, second], "carol's socket");
    assert.deepEqual(sender.seen.map(reactionEvent), [second], "the reacting socket hears only bob's reaction");
    assert.deepEqual(outsider.seen, [], 'an outsider heard a reaction');
    for (const h of [...heard, sender, outsider]) h.stop();

    // History shows the counts, the revision, and each reader's own reactions.
    const forBob = await stored(bob, group.id, message.id);
    assert.equal(forBob.rev, rev0 + 2);
    assert.equal(forBob.seq, message.seq);
    assert.deepEqual(forBob.reactions, [{ emoji: THUMBS, count: 2 }]);
    assert.deepEqual(forBob.my_reactions, [THUMBS]);
    const forCarol = await stored(carol, group.id, message.id);
    assert.deepEqual(forCarol.reactions, [{ emoji: THUMBS, count: 2 }]);
    assert.deepEqual(forCarol.my_reactions, []);
    const changes = await historyPage(server, carol.token, group.id, { after_rev: rev0 });
    assert.equal(changes.status, 200, changes.text);
    assert.ok(changes.body.messages.some((m) => m.id === message.id && m.rev === rev0 + 2), 'after_rev returns the reacted message');
  });

  it('a reaction the user has already is not added twice, removing one the user lacks changes nothing, and reaction:remove lowers the count', async () => {
    const message = await sendText(carolSocket, group.id, 'we shipped');
    const aboutIt = (e) => e?.message_id === message.id;
    const firstHeard = [aliceTab, bobSocket, carolSocket].map((s) => waitFor(s, 'message:reaction', aboutIt, 10_000));
    const first = await emitOk(aliceSocket, 'reaction:add', { message_id: message.id, emoji: PARTY });
    assert.deepEqual(first.reactions, [{ emoji: PARTY, count: 1 }]);
    await Promise.all(firstHeard);

    // Again from the same socket, from her other tab, and over REST; Bob removes one he never added.
    const quiet = [aliceSocket, aliceTab, bobSocket, carolSocket].map((s) => expectNoEvent(s, 'message:reaction', 1_000, aboutIt));
    const again = await emitOk(aliceSocket, 'reaction:add', { message_id: message.id, emoji: PARTY });
    const fromTab = await emitOk(aliceTab, 'reaction:add', { message_id: message.id, emoji: PARTY });
    const overRest = await server.api('PUT', reactionPath(message.id, PARTY), { token: alice.token });
    assert.equal(overRest.status, 200, overRest.text);
    for (const answer of [again, fromTab, overRest.body]) {
      assert.equal(answer.message_id, message.id);
      assert.equal(answer.rev, first.rev, 'a repeated reaction took a revision');
      assert.deepEqual(answer.reactions, [{ emoji: PARTY, count: 1 }]);
      assert.deepEqual(answer.my_reactions, [PARTY]);
    }
    const notThere = await emitOk(bobSocket, 'reaction:remove', { message_id: message.id, emoji: PARTY });
    assert.equal(notThere.rev, first.rev, 'removing a reaction one does not have took a revision');
    assert.deepEqual(notThere.reactions, [{ emoji: PARTY, count: 1 }]);
    assert.deepEqual(notThere.my_reactions, []);
    const notThereRest = await server.api('DELETE', reactionPath(message.id, ROCKET), { token: bob.token });
    assert.equal(notThereRest.status, 200, notThereRest.text);
    assert.equal(notThereRest.body.rev, first.rev);
    assert.deepEqual(notThereRest.body.reactions, [{ emoji: PARTY, count: 1 }]);
    await Promise.all(quiet);
    const unchanged = await historyPage(server, bob.token, group.id, { after_rev: first.rev });
    assert.equal(unchanged.status, 200, unchanged.text);
    assert.equal(unchanged.body.last_rev, first.rev, 'the conversation moved on without a change');
    assert.deepEqual(unchanged.body.messages, []);

    // "❤" and "❤️" are one reaction.
    const heartHeard = waitFor(carolSocket, 'message:reaction', (e) => aboutIt(e) && e.user_id === alice.user.id, 10_000);
    const minimal = await emitOk(aliceSocket, 'reaction:add', { message_id: message.id, emoji: HEART_MINIMAL });
    assert.equal(minimal.rev, first.rev + 1);
    const heartEvent = await heartHeard;
    assert.ok([HEART, HEART_MINIMAL].includes(heartEvent.emoji), `heart reaction heard as ${JSON.stringify(heartEvent)}`);
    assert.equal(heartEvent.count, 1);
    const qualified = await emitOk(bobSocket, 'reaction:add', { message_id: message.id, emoji: HEART });
    assert.equal(qualified.rev, first.rev + 2);
    const hearts = qualified.reactions.filter((r) => [HEART, HEART_MINIMAL].includes(r.emoji));
    assert.deepEqual(hearts.map((r) => r.count), [2], `"❤" and "❤️" are not one reaction: ${JSON.stringify(qualified.reactions)}`);
    const sameHeart = await emitOk(aliceSocket, 'reaction:add', { message_id: message.id, emoji: HEART });
    assert.equal(sameHeart.rev, qualified.rev, 'the fully qualified heart counted as another reaction of alice');

    // Bob adds the party popper too (2), then takes it back (1): everyone else hears the removal.
    const added = await emitOk(bobSocket, 'reaction:add', { message_id: message.id, emoji: PARTY });
    assert.equal(countOf(added.reactions, PARTY), 2);
    const removals = [aliceSocket, aliceTab, carolSocket].map((s) =>
      waitFor(s, 'message:reaction', (e) => aboutIt(e) && e.action === 'remove', 10_000));
    const quietBob = expectNoEvent(bobSocket, 'message:reaction', 1_000, (e) => aboutIt(e) && e.action === 'remove');
    const removed = await emitOk(bobSocket, 'reaction:remove', { message_id: message.id, emoji: PARTY });
    assert.equal(removed.rev, added.rev + 1);
    assert.equal(countOf(removed.reactions, PARTY), 1);
    assert.ok(!removed.my_reactions.includes(PARTY), `bob still has the reaction he removed: ${JSON.stringify(removed)}`);
    assert.equal(removed.my_reactions.length, 1, `bob's own reactions: ${JSON.stringify(removed.my_reactions)}`);
    for (const e of await Promise.all(removals)) {
      assert.deepEqual(reactionEvent(e), {
        conversation_id: group.id,
        message_id: message.id,
        rev: removed.rev,
        user_id: bob.user.id,
        emoji: PARTY,
        action: 'remove',
        count: 1,
      });
    }
    await quietBob;

    // Alice removes hers: nobody reacts with it any more.
    const gone = waitFor(bobSocket, 'message:reaction', (e) => aboutIt(e) && e.action === 'remove' && e.user_id === alice.user.id, 10_000);
    const last = await emitOk(aliceSocket, 'reaction:remove', { message_id: message.id, emoji: PARTY });
    assert.equal(countOf(last.reactions, PARTY), 0);
    assert.ok(!last.my_reactions.includes(PARTY));
    assert.equal((await gone).count, 0);
    const inHistory = await stored(carol, group.id, message.id);
    assert.equal(inHistory.rev, last.rev);
    assert.equal(countOf(inHistory.reactions, PARTY), 0);
    assert.equal(inHistory.reactions.filter((r) => [HEART, HEART_MINIMAL].includes(r.emoji)).map((r) => r.count).join(), '2');
  });

  it('PUT and DELETE /api/messages/:id/reactions/:emoji change the reaction and reach every socket of every member', async () => {
    const message = await sendText(aliceSocket, group.id, 'launch over REST');
    const everyone = [aliceSocket, aliceTab, bobSocket, carolSocket];
    const aboutIt = (e) => e?.message_id === message.id;
    const outsider = expectNoEvent(eveSocket, 'message:reaction', 1_000);
    const adds = everyone.map((s) => collect(s, 'message:reaction', (e) => aboutIt(e) && e.emoji === ROCKET && e.action === 'add'));

    const put = await server.api('PUT', reactionPath(message.id, ROCKET), { token: carol.token });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.message_id, message.id);
    assert.deepEqual(put.body.reactions, [{ emoji: ROCKET, count: 1 }]);
    assert.deepEqual(put.body.my_reactions, [ROCKET]);
    const added = {
      conversation_id: group.id,
      message_id: message.id,
      rev: put.body.rev,
      user_id: carol.user.id,
      emoji: ROCKET,
      action: 'add',
      count: 1,
    };
    for (const c of adds) assert.deepEqual(reactionEvent((await c.until(1))[0]), added, "carol's own socket hears her REST reaction too");

    // Skin tones, ZWJ sequences and flags are one emoji each.
    for (const emoji of ['👍🏽', '👨‍👩‍👧', '🇫🇷', '🏳️‍🌈']) {
      const res = await server.api('PUT', reactionPath(message.id, emoji), { token: bob.token });
      assert.equal(res.status, 200, `${emoji}: ${res.text}`);
      assert.equal(countOf(res.body.reactions, emoji), 1, `${emoji}: ${res.text}`);
      assert.ok(res.body.my_reactions.includes(emoji), `${emoji}: ${res.text}`);
    }

    const removes = everyone.map((s) => collect(s, 'message:reaction', (e) => aboutIt(e) && e.emoji === ROCKET && e.action === 'remove'));
    const del = await server.api('DELETE', reactionPath(message.id, ROCKET), { token: carol.token });
    assert.equal(del.status, 200, del.text);
    assert.equal(countOf(del.body.reactions, ROCKET), 0);
    assert.deepEqual(del.body.my_reactions, []);
    assert.equal(del.body.reactions.filter((r) => r.count > 0).length, 4, `the other reactions stay: ${del.text}`);
    for (const c of removes) {
      assert.deepEqual(reactionEvent((await c.until(1))[0]), { ...added, rev: del.body.rev, action: 'remove', count: 0 });
    }
    const again = await server.api('DELETE', reactionPath(message.id, ROCKET), { token: carol.token });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.rev, del.body.rev);

    // An outsider reaches neither the message nor its conversation.
    assertApiError(await server.api('PUT', reactionPath(message.id, ROCKET), { token: eve.token }), 404, 'not_found');
    assertApiError(await server.api('DELETE', reactionPath(message.id, '👍🏽'), { token: eve.token }), 404, 'not_found');

    await settle(alice, group.id, everyone);
    await outsider;
    for (const c of [...adds, ...removes]) {
      assert.equal(c.seen.length, 1, `a socket heard one change ${c.seen.length} times`);
      c.stop();
    }
    const inHistory = await stored(alice, group.id, message.id);
    assert.equal(inHistory.rev, del.body.rev);
    assert.deepEqual(inHistory.reactions, del.body.reactions);
  });

  it('hostile reactions are refused with the documented codes, change nothing, and the socket stays usable', async () => {
    const message = await sendText(bobSocket, group.id, 'poke me');
    const bobsEvents = collect(bobSocket, 'message:reaction');
    const rev0 = await lastRev(alice, group.id);

    const refused = [
      // [payload, codes, field named in details]
      [{ message_id: message.id, emoji: 'abc' }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: `${THUMBS}${THUMBS}` }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: '' }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: ' ' }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: THUMBS.repeat(40) }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: 'x'.repeat(20_000) }, 'validation_failed', 'emoji'],
      [{ message_id: message.id, emoji: '<script>alert(1)</script>' }, 'validation_failed', 'emoji'],
      // A real emoji sequence, but over the 32 bytes one reaction may take.
      [{ message_id: message.id, emoji: '🧑🏻‍❤️‍💋‍🧑🏼' }, 'validation_failed', 'emoji'],
      [{ message_id: 0, emoji: THUMBS }, 'validation_failed', 'message_id'],
      [{ message_id: -1, emoji: THUMBS }, 'validation_failed', 'message_id'],
      [{ message_id: 'x', emoji: THUMBS }, 'invalid_payload'],
      [{ message_id: String(message.id), emoji: THUMBS }, 'invalid_payload'],
      [{ message_id: message.id + 0.5, emoji: THUMBS }, 'invalid_payload'],
      [{ message_id: 2 ** 64, emoji: THUMBS }, 'invalid_payload'],
      [{ emoji: THUMBS }, ['invalid_payload', 'validation_failed']],
      [{ message_id: message.id }, ['invalid_payload', 'validation_failed']],
      [{ message_id: message.id, emoji: 128077 }, 'invalid_payload'],
      [{ message_id: message.id, emoji: [THUMBS] }, 'invalid_payload'],
      ['👍', 'invalid_payload'],
      [null, 'invalid_payload'],
      [[message.id, THUMBS], 'invalid_payload'],
      [{ message_id: 987_654_321, emoji: THUMBS }, 'not_found'],
    ];
    for (const event of ['reaction:add', 'reaction:remove']) {
      for (const [payload, code, field] of refused) {
        const ack = await emitAck(aliceSocket, event, payload);
        const label = `${event} ${JSON.stringify(payload).slice(0, 80)}`;
        assertAckError(ack, code);
        if (field) {
          assert.ok(Array.isArray(ack.details?.[field]), `${label}: details do not name ${field}: ${JSON.stringify(ack)}`);
        }
      }
    }

    // An outsider, over the socket and over REST.
    assertAckError(await emitAck(eveSocket, 'reaction:add', { message_id: message.id, emoji: THUMBS }), 'not_found');
    assertAckError(await emitAck(eveSocket, 'reaction:remove', { message_id: message.id, emoji: THUMBS }), 'not_found');
    // The same refusals over REST.
    assertApiError(await server.api('PUT', reactionPath(message.id, 'abc'), { token: alice.token }), 400, 'validation_failed');
    const twice = await server.api('PUT', reactionPath(message.id, `${THUMBS}${THUMBS}`), { token: alice.token });
    assertApiError(twice, 400, 'validation_failed');
    assert.ok(Array.isArray(twice.body.details?.emoji), `details do not name emoji: ${twice.text}`);
    assertApiError(await server.api('PUT', reactionPath(message.id, 'y'.repeat(2_000)), { token: alice.token }), 400, 'validation_failed');
    const zero = await server.api('PUT', reactionPath(0, THUMBS), { token: alice.token });
    assertApiError(zero, 400, 'validation_failed');
    assert.ok(Array.isArray(zero.body.details?.id), `details do not name id: ${zero.text}`);
    assertApiError(await server.api('PUT', reactionPath(-1, THUMBS), { token: alice.token }), 400, 'validation_failed');
    assertApiError(await server.api('PUT', reactionPath('x', THUMBS), { token: alice.token }), 400, 'invalid_parameter');
    assertApiError(await server.api('DELETE', reactionPath(987_654_321, THUMBS), { token: alice.token }), 404, 'not_found');

    // Nothing changed.
    assert.equal(await lastRev(alice, group.id), rev0, 'a refused reaction took a revision');
    assert.deepEqual((await stored(alice, group.id, message.id)).reactions, []);

    // A deleted message takes no reaction.
    const doomed = await sendText(aliceSocket, group.id, 'soon gone');
    await emitOk(aliceSocket, 'message:delete', { message_id: doomed.id });
    const afterDelete = await lastRev(alice, group.id);
    assertAckError(await emitAck(bobSocket, 'reaction:add', { message_id: doomed.id, emoji: THUMBS }), 'unprocessable');
    assertApiError(await server.api('PUT', reactionPath(doomed.id, THUMBS), { token: bob.token }), 422, 'unprocessable');
    assert.equal(await lastRev(alice, group.id), afterDelete);
    assert.deepEqual((await stored(bob, group.id, doomed.id)).reactions, []);

    // 50 different emoji on one message, then a 51st is refused.
    const target = await sendText(carolSocket, group.id, 'fifty reactions, no more');
    const emoji = Array.from({ length: 51 }, (_, i) => String.fromCodePoint(0x1f600 + i)); // 😀 .. 😲
    for (const e of emoji.slice(0, 50)) {
      const ack = await emitOk(aliceSocket, 'reaction:add', { message_id: target.id, emoji: e });
      assert.equal(countOf(ack.reactions, e), 1, `${e}: ${JSON.stringify(ack)}`);
    }
    const full = await lastRev(alice, group.id);
    const quietOverflow = expectNoEvent(bobSocket, 'message:reaction', 1_000, (e) => e?.emoji === emoji[50]);
    assertAckError(await emitAck(aliceSocket, 'reaction:add', { message_id: target.id, emoji: emoji[50] }), 'unprocessable');
    assertAckError(await emitAck(bobSocket, 'reaction:add', { message_id: target.id, emoji: emoji[50] }), 'unprocessable');
    assertApiError(await server.api('PUT', reactionPath(target.id, emoji[50]), { token: carol.token }), 422, 'unprocessable');
    await quietOverflow;
    assert.equal(await lastRev(alice, group.id), full, 'a refused 51st emoji took a revision');
    const fifty = await stored(alice, group.id, target.id);
    assert.deepEqual(fifty.reactions, emoji.slice(0, 50).map((e) => ({ emoji: e, count: 1 })), 'reactions in order of first use');
    assert.equal(fifty.rev, full);
    // One of the fifty is still open to everyone; once one emoji is gone, another one fits.
    const joined = await emitOk(bobSocket, 'reaction:add', { message_id: target.id, emoji: emoji[7] });
    assert.equal(countOf(joined.reactions, emoji[7]), 2);
    await emitOk(aliceSocket, 'reaction:remove', { message_id: target.id, emoji: emoji[0] });
    const fits = await emitOk(aliceSocket, 'reaction:add', { message_id: target.id, emoji: emoji[50] });
    assert.equal(countOf(fits.reactions, emoji[50]), 1);
    assert.equal(fits.reactions.filter((r) => r.count > 0).length, 50);

    // Bob heard exactly the changes that happened, and everybody is still connected and can send.
    await settle(carol, group.id, [aliceSocket, aliceTab, bobSocket, carolSocket]);
    const heard = bobsEvents.seen;
    bobsEvents.stop();
    assert.equal(heard.filter((e) => e.message_id === message.id).length, 0, 'a refused reaction was broadcast');
    assert.equal(heard.filter((e) => e.message_id === doomed.id).length, 0, 'a reaction to a deleted message was broadcast');
    assert.deepEqual(
      heard.filter((e) => e.message_id === target.id).map((e) => `${e.user_id}:${e.action}:${e.emoji}`),
      [
        ...emoji.slice(0, 50).map((e) => `${alice.user.id}:add:${e}`),
        `${alice.user.id}:remove:${emoji[0]}`,
        `${alice.user.id}:add:${emoji[50]}`,
      ],
    );
    for (const socket of [aliceSocket, bobSocket, eveSocket]) assert.equal(socket.connected, true, 'a socket was disconnected');
    const followUp = await sendText(aliceSocket, group.id, 'still here');
    assert.equal(followUp.conversation_id, group.id);
    await emitOk(eveSocket, 'typing:start', { conversation_id: (await createDirect(server, alice, eve)).id });
  });

  it('20 members react at the same moment: every client ends with the exact counts and hears each change exactly once', async () => {
    const USERS = 20;
    const users = await Promise.all(Array.from({ length: USERS }, () => server.register()));
    const crowd = await createGroup(server, users[0], users.slice(1), 'crowd');
    const sockets = await Promise.all(users.map((u) => server.connect(u.token, { transports: ['websocket'] })));
    const message = await sendText(sockets[0], crowd.id, 'react, everyone');
    const rev0 = await lastRev(users[0], crowd.id);
    // Everyone thumbs up; every third member also sends a heart.
    const hearts = users.map((_, i) => i % 3 === 1);
    const HEARTS = hearts.filter(Boolean).length;
    const CHANGES = USERS + HEARTS;
    const heard = sockets.map((s) => collect(s, 'message:reaction', (e) => e?.message_id === message.id));

    const acks = await Promise.all(
      sockets.flatMap((s, i) => [
        emitOk(s, 'reaction:add', { message_id: message.id, emoji: THUMBS }, 20_000).then((ack) => ({ i, emoji: THUMBS, ack })),
        ...(hearts[i] ? [emitOk(s, 'reaction:add', { message_id: message.id, emoji: HEART }, 20_000).then((ack) => ({ i, emoji: HEART, ack }))] : []),
      ]),
    );
    // Each change took one revision of its own, right after the message's.
    const revs = acks.map((a) => a.ack.rev).sort((x, y) => x - y);
    assert.deepEqual(revs, Array.from({ length: CHANGES }, (_, k) => rev0 + 1 + k), 'revisions are not contiguous and distinct');
    // In revision order, each emoji's count went up by one each time.
    const byRev = [...acks].sort((x, y) => x.ack.rev - y.ack.rev);
    for (const [emoji, total] of [[THUMBS, USERS], [HEART, HEARTS]]) {
      const counts = byRev.filter((a) => a.emoji === emoji).map((a) => countOf(a.ack.reactions, emoji));
      assert.deepEqual(counts, Array.from({ length: total }, (_, k) => k + 1), `${emoji} counts in revision order`);
    }

    // Every socket hears every change but its own.
    await Promise.all(heard.map((h, i) => h.until(CHANGES - 1 - (hearts[i] ? 1 : 0), 20_000)));
    const settled = await settle(users[0], crowd.id, sockets);
    assert.equal(settled.rev, rev0 + CHANGES + 1, 'the next message takes the revision after the reactions');
    const final = new Map([[THUMBS, USERS], [HEART, HEARTS]]);
    const ackOf = new Map(acks.map((a) => [`${a.i}:${a.emoji}`, a.ack]));
    for (const [i, h] of heard.entries()) {
      h.stop();
      const events = h.seen;
      const perChange = new Map();
      for (const e of events) {
        assert.equal(e.conversation_id, crowd.id);
        assert.equal(e.action, 'add');
        const key = `${e.user_id}:${e.emoji}`;
        perChange.set(key, (perChange.get(key) ?? 0) + 1);
        // The event carries the revision and count its reactor was answered with.
        const reactor = users.findIndex((u) => u.user.id === e.user_id);
        const ack = ackOf.get(`${reactor}:${e.emoji}`);
        assert.ok(ack, `user ${i} heard a change nobody made: ${JSON.stringify(e)}`);
        assert.equal(e.rev, ack.rev);
        assert.equal(e.count, countOf(ack.reactions, e.emoji));
      }
      const expected = acks.filter((a) => a.i !== i).map((a) => `${users[a.i].user.id}:${a.emoji}`).sort();
      assert.deepEqual([...perChange.keys()].sort(), expected, `user ${i} did not hear each other member's change`);
      assert.ok([...perChange.values()].every((n) => n === 1), `user ${i} heard a change more than once: ${JSON.stringify([...perChange])}`);
      // What this client saw last (its own answers included) shows the final counts.
      for (const [emoji, total] of final) {
        const views = events.filter((e) => e.emoji === emoji).map((e) => [e.rev, e.count]);
        for (const a of acks.filter((x) => x.i === i)) views.push([a.ack.rev, countOf(a.ack.reactions, emoji)]);
        views.sort((x, y) => x[0] - y[0]);
        assert.equal(views.at(-1)[1], total, `user ${i} was left with ${views.at(-1)[1]} × ${emoji}`);
      }
    }

    // History agrees, for every member, with their own reactions (the order of the emoji is the
    // subject of the next test).
    const bySymbol = (x, y) => (x.emoji < y.emoji ? -1 : x.emoji > y.emoji ? 1 : 0);
    for (const [i, user] of users.entries()) {
      const m = await stored(user, crowd.id, message.id);
      assert.deepEqual([...m.reactions].sort(bySymbol), [...final].map(([emoji, count]) => ({ emoji, count })).sort(bySymbol), `user ${i}: counts in history`);
      assert.equal(m.rev, rev0 + CHANGES);
      assert.deepEqual([...m.my_reactions].sort(), (hearts[i] ? [THUMBS, HEART] : [THUMBS]).sort(), `user ${i}'s own reactions`);
    }
    assert.equal(await lastRev(users[5], crowd.id), settled.rev);
    for (const s of sockets) s.disconnect();
  });

  it('reactions keep the order in which they first appeared, also when members add new emoji at the same moment', async () => {
    const EMOJI = ['🍕', '🍔', '🌮', '🍣', '🥗', '🍜'];
    const users = await Promise.all(EMOJI.map(() => server.register()));
    const poll = await createGroup(server, users[0], users.slice(1), 'lunch poll');
    const sockets = await Promise.all(users.map((u) => server.connect(u.token, { transports: ['websocket'] })));
    const options = [];
    for (let n = 0; n < 8; n++) options.push(await sendText(sockets[0], poll.id, `option ${n}`));
    // Each member votes on every option with their own emoji, all at once.
    const votes = await Promise.all(
      options.flatMap((m) => sockets.map((s, i) =>
        emitOk(s, 'reaction:add', { message_id: m.id, emoji: EMOJI[i] }, 20_000).then((ack) => ({ m, emoji: EMOJI[i], ack })))),
    );
    for (const m of options) {
      // In revision order, the emoji as they appeared on the message.
      const changes = votes.filter((v) => v.m === m).sort((x, y) => x.ack.rev - y.ack.rev);
      const appeared = changes.map((v) => v.emoji);
      changes.forEach((v, k) => {
        assert.deepEqual(
          v.ack.reactions.map((r) => r.emoji),
          appeared.slice(0, k + 1),
          `option ${m.seq}: the answer at revision ${v.ack.rev} lists the emoji out of the order they appeared (${appeared.join(' ')})`,
        );
      });
      const inHistory = await stored(users[1], poll.id, m.id);
      assert.deepEqual(inHistory.reactions.map((r) => r.emoji), appeared, `option ${m.seq}: history lists the emoji out of the order they appeared`);
      assert.ok(inHistory.reactions.every((r) => r.count === 1));
    }
    for (const s of sockets) s.disconnect();
  });
});
