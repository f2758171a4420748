import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message, MessagePage, ReactionOutcome, SendMessagePayload, User } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import { ALICE, BOB, ME, conversation, message, messages, settle } from '../test/fixtures';
import { ChatClient, type ChatApi } from './client';
import { quoteOf } from './sending';
import type { MuteSettings } from './mute';
import type { SendOutcome } from './outbox';

/** A server's message history, answering the way the REST API does. */
class FakeApi implements ChatApi {
  conversations: Conversation[] = [conversation()];
  history = new Map<number, Message[]>([[10, []]]);
  calls: string[] = [];

  add(...list: Message[]) {
    for (const m of list) {
      const held = (this.history.get(m.conversation_id) ?? []).filter((h) => h.id !== m.id);
      this.history.set(m.conversation_id, [...held, m].sort((a, b) => a.seq - b.seq));
    }
  }

  /** The highest revision stored, when the messages carry revisions. */
  lastRev(id: number): number | undefined {
    const revs = (this.history.get(id) ?? []).map((m) => m.rev ?? 0);
    return revs.some((r) => r > 0) ? Math.max(...revs) : undefined;
  }

  async listConversations(): Promise<Conversation[]> {
    this.calls.push('list');
    return this.conversations.map((c) => {
      const held = this.history.get(c.id) ?? [];
      return { ...c, last_message: held[held.length - 1] ?? null };
    });
  }

  async updateConversationSettings(id: number, settings: MuteSettings) {
    this.calls.push(`settings ${id} ${JSON.stringify(settings)}`);
    const found = this.conversations.find((c) => c.id === id);
    if (!found) throw new Error('not found');
    // Like the server: mentions stay muted only with a mute, and left out means not.
    found.muted_until = settings.muted_until;
    found.mute_mentions = settings.muted_until !== null && settings.mute_mentions === true;
    return { ...found };
  }

  async getConversation(id: number) {
    this.calls.push(`get ${id}`);
    const found = this.conversations.find((c) => c.id === id);
    if (!found) throw new Error('not found');
    return found;
  }

  async fetchMessagesBefore(id: number, { before, limit = 50 }: { before?: number; limit?: number }) {
    this.calls.push(before === undefined ? `latest ${id}` : `before ${id} ${before}`);
    const held = this.history.get(id) ?? [];
    const older = before === undefined ? held : held.filter((m) => m.id < before);
    const page = older.slice(-limit).reverse();
    return { messages: page, has_more: older.length > limit, last_rev: this.lastRev(id) } satisfies MessagePage;
  }

  async fetchMessagesAfterRev(id: number, afterRev: number, limit = 100) {
    this.calls.push(`after_rev ${id} ${afterRev}`);
    const changed = (this.history.get(id) ?? []).filter((m) => (m.rev ?? 0) > afterRev).sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0));
    return { messages: changed.slice(0, limit), has_more: changed.length > limit, last_rev: this.lastRev(id) } satisfies MessagePage;
  }

  async fetchMessagesAfterSeq(id: number, afterSeq: number, limit = 100) {
    this.calls.push(`after_seq ${id} ${afterSeq}`);
    const newer = (this.history.get(id) ?? []).filter((m) => m.seq > afterSeq);
    return { messages: newer.slice(0, limit), has_more: newer.length > limit } satisfies MessagePage;
  }

  /** Public rooms the user may join, by id. */
  rooms = new Map<number, Conversation>();
  users = new Map<number, User>([[BOB.id, BOB]]);

  async joinConversation(id: number) {
    this.calls.push(`join ${id}`);
    const room = this.rooms.get(id);
    if (!room) throw Object.assign(new Error('not a member'), { code: 'not_a_member' });
    const joined = { ...room, members: [...room.members, ALICE], member_count: room.members.length + 1 };
    this.conversations.push(joined);
    return joined;
  }

  async leaveConversation(id: number) {
    this.calls.push(`leave ${id}`);
    const found = this.conversations.find((c) => c.id === id);
    if (!found) throw new Error('not a member');
    if (found.type === 'direct') throw new Error('a direct conversation cannot be left');
    this.conversations = this.conversations.filter((c) => c.id !== id);
  }

  /** The users blocked, the latest first. */
  blocked: User[] = [];

  async listBlockedUsers() {
    this.calls.push('blocks');
    return [...this.blocked];
  }

  async blockUser(id: number) {
    this.calls.push(`block ${id}`);
    const user = this.users.get(id);
    if (!user) throw new Error('user not found');
    if (!this.blocked.some((u) => u.id === id)) this.blocked.unshift(user);
  }

  async unblockUser(id: number) {
    this.calls.push(`unblock ${id}`);
    this.blocked = this.blocked.filter((u) => u.id !== id);
  }

  async addMember(id: number, userId: number) {
    this.calls.push(`add ${id} ${userId}`);
    const index = this.conversations.findIndex((c) => c.id === id);
    const user = this.users.get(userId);
    if (index < 0 || !user) throw new Error('not found');
    const current = this.conversations[index]!;
    if (current.members.some((m) => m.id === userId)) {
      throw Object.assign(new Error('the user is already a member'), { code: 'already_member' });
    }
    const updated = { ...current, members: [...current.members, user], member_count: current.members.length + 1 };
    this.conversations[index] = updated;
    return updated;
  }
}

/** A socket that the test connects and disconnects; sends are stored by the fake server. */
class FakeTransport implements ChatTransport {
  connected = false;
  sent: SendMessagePayload[] = [];
  reads: Array<[number, number]> = [];
  deliveries: Array<[number, number]> = [];
  joined: number[] = [];
  private readonly api: FakeApi;

  constructor(api: FakeApi) {
    this.api = api;
  }

  isConnected = () => this.connected;
  sendMessage = vi.fn(async (payload: SendMessagePayload): Promise<SendOutcome> => {
    if (!this.connected) return { ok: false, error: 'Not connected', code: 'disconnected', transient: true };
    this.sent.push(payload);
    const held = this.api.history.get(payload.conversation_id) ?? [];
    const existing = held.find((m) => m.client_id === payload.client_id);
    if (existing) return { ok: true, message: existing };
    const stored = message(held.length + 1, {
      conversation_id: payload.conversation_id,
      sender_id: ME.id,
      content: payload.content,
      client_id: payload.client_id ?? null,
      reply_to: payload.reply_to ? { ...quoteOf(held.find((m) => m.id === payload.reply_to)!) } : null,
    });
    this.api.add(stored);
    return { ok: true, message: stored };
  });
  markRead = (conversationId: number, messageId: number) => void this.reads.push([conversationId, messageId]);
  markDelivered = (conversationId: number, messageId: number) => void this.deliveries.push([conversationId, messageId]);
  startTyping = () => {};
  stopTyping = () => {};
  changes: Array<[number, string | null]> = [];
  change = async (messageId: number, content: string | null) => {
    this.changes.push([messageId, content]);
    const held = [...this.api.history.values()].flat().find((m) => m.id === messageId);
    if (!held) return { error: 'not found' };
    const rev = (held.rev ?? 0) + 10;
    return {
      message:
        content === null
          ? { ...held, rev, content: '', deleted_at: '2030-01-01T14:00:00.000Z' }
          : { ...held, rev, content, edited_at: '2030-01-01T14:00:00.000Z' },
    };
  };
  reactions: Array<[number, string, boolean]> = [];
  react = async (messageId: number, emoji: string, add: boolean): Promise<ReactionOutcome | null> => {
    this.reactions.push([messageId, emoji, add]);
    return { message_id: messageId, rev: 100 + this.reactions.length, reactions: add ? [{ emoji, count: 1 }] : [], my_reactions: add ? [emoji] : [] };
  };
  joinConversation = (id: number) => void this.joined.push(id);
}

function setup() {
  const api = new FakeApi();
  const transport = new FakeTransport(api);
  let n = 0;
  const client = new ChatClient({
    me: ME,
    api,
    transport,
    newClientId: () => `client-${++n}`,
    gapGraceMs: 100,
  });
  return { api, transport, client };
}

async function connect(t: ReturnType<typeof setup>) {
  t.transport.connected = true;
  await t.client.handleConnected();
}

function seqs(client: ChatClient, id = 10) {
  return client.thread(id).messages.map((m) => m.seq);
}

describe('chat client', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a group's online count is read on opening and follows conversation:online_count", async () => {
    const t = setup();
    t.api.conversations = [conversation({ type: 'group', name: 'team', online_count: 2 })];
    await t.client.start();
    await t.client.openConversation(10);
    await settle();
    expect(t.client.getState().onlineCounts[10]).toBe(2);
    t.client.handleOnlineCount({ conversation_id: 10, online_count: 5 });
    expect(t.client.getState().onlineCounts[10]).toBe(5);
    const before = t.client.getState();
    t.client.handleOnlineCount({ conversation_id: 10, online_count: 5 });
    expect(t.client.getState()).toBe(before);
  });

  it('loads the newest page, then older pages by message id', async () => {
    const t = setup();
    t.api.add(...messages(1, 120));
    await t.client.start();
    await t.client.openConversation(10);
    expect(seqs(t.client)).toEqual(messages(71, 120).map((m) => m.seq));
    expect(t.client.thread(10)).toMatchObject({ hasOlder: true, floorSeq: 70 });

    await t.client.loadOlder(10);
    expect(t.api.calls).toContain(`before 10 ${message(71).id}`);
    await t.client.loadOlder(10);
    expect(seqs(t.client)).toEqual(messages(1, 120).map((m) => m.seq));
    expect(t.client.thread(10)).toMatchObject({ hasOlder: false, floorSeq: 0 });
  });

  it('opens an old message from a search: reads the page around it, then fills the gap up to the newest', async () => {
    const t = setup();
    t.api.add(...messages(1, 300));
    await t.client.start();
    await t.client.openConversation(10);
    expect(seqs(t.client)[0]).toBe(251);

    await t.client.loadAround(10, 40);
    expect(t.api.calls).toContain('after_seq 10 30');
    await settle();
    // Everything from the page around seq 40 up to the newest, without a gap or a duplicate.
    expect(seqs(t.client)).toEqual(messages(31, 300).map((m) => m.seq));
    expect(t.client.thread(10)).toMatchObject({ hasOlder: true, floorSeq: 30 });
    await t.client.loadOlder(10);
    expect(seqs(t.client)[0]).toBe(1);

    // A message already held is not read again.
    const calls = t.api.calls.length;
    await t.client.loadAround(10, 200);
    expect(t.api.calls.length).toBe(calls);
  });

  it('catches up after a reconnect from the highest seq held, without duplicates', async () => {
    const t = setup();
    t.api.add(...messages(1, 5));
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    expect(seqs(t.client)).toEqual([1, 2, 3, 4, 5]);

    // Offline: 6..9 are written; only 8 reaches this client, as a late event on reconnect.
    t.client.handleDisconnected();
    t.transport.connected = false;
    t.api.add(...messages(6, 9));
    t.client.handleMessageNew(message(8));
    t.api.calls = [];
    await connect(t);

    expect(t.api.calls).toContain('after_seq 10 5');
    expect(seqs(t.client)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const ids = t.client.thread(10).messages.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);

    // A late duplicate event changes nothing.
    const before = t.client.thread(10).messages;
    t.client.handleMessageNew(message(9));
    expect(t.client.thread(10).messages).toBe(before);
  });

  it('applies edits and deletions heard live, in the thread and the list, and ignores stale ones', async () => {
    const t = setup();
    t.api.add(...messages(1, 3, { rev: undefined }).map((m) => ({ ...m, rev: m.seq })));
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);

    const edited = { ...message(3), rev: 4, content: 'fixed', edited_at: '2030-01-01T12:05:00.000Z' };
    t.client.handleMessageUpdated(edited);
    expect(t.client.thread(10).messages.map((m) => m.content)).toEqual(['message 1', 'message 2', 'fixed']);
    expect(t.client.conversation(10)?.last_message?.content).toBe('fixed');
    // A late, older copy changes nothing.
    const before = t.client.thread(10).messages;
    t.client.handleMessageUpdated({ ...message(3), rev: 3 });
    expect(t.client.thread(10).messages).toBe(before);

    t.client.handleMessageDeleted({ conversation_id: 10, message_id: message(2).id, seq: 2, rev: 5, deleted_at: '2030-01-01T12:06:00.000Z' });
    const deleted = t.client.thread(10).messages[1];
    expect(deleted).toMatchObject({ content: '', deleted_at: '2030-01-01T12:06:00.000Z', rev: 5 });
  });

  it("reactions: live events and the user's own toggles update the counts, in revision order", async () => {
    const t = setup();
    t.api.add({ ...message(1), rev: 1 });
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    const id = message(1).id;

    t.client.handleMessageReaction({ conversation_id: 10, message_id: id, rev: 2, user_id: BOB.id, emoji: '👍', action: 'add', count: 1 });
    expect(t.client.thread(10).messages[0].reactions).toEqual([{ emoji: '👍', count: 1 }]);
    // An older event changes nothing.
    t.client.handleMessageReaction({ conversation_id: 10, message_id: id, rev: 2, user_id: BOB.id, emoji: '❤️', action: 'add', count: 1 });
    expect(t.client.thread(10).messages[0].reactions).toEqual([{ emoji: '👍', count: 1 }]);

    await t.client.toggleReaction(10, id, '🎉');
    expect(t.transport.reactions).toEqual([[id, '🎉', true]]);
    expect(t.client.thread(10).messages[0].my_reactions).toEqual(['🎉']);
    await t.client.toggleReaction(10, id, '🎉');
    expect(t.transport.reactions.at(-1)).toEqual([id, '🎉', false]);
    expect(t.client.thread(10).messages[0].my_reactions).toEqual([]);
  });

  it("edits and deletes one of the user's messages and shows the answer", async () => {
    const t = setup();
    t.api.add({ ...message(1, { sender_id: ME.id }), rev: 1 }, { ...message(2, { sender_id: ME.id }), rev: 2 });
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    expect(await t.client.changeMessage(10, message(1).id, 'fixed')).toBeNull();
    expect(await t.client.changeMessage(10, message(2).id, null)).toBeNull();
    expect(t.transport.changes).toEqual([
      [message(1).id, 'fixed'],
      [message(2).id, null],
    ]);
    const [first, second] = t.client.thread(10).messages;
    expect(first).toMatchObject({ content: 'fixed', edited_at: '2030-01-01T14:00:00.000Z' });
    expect(second).toMatchObject({ content: '', deleted_at: '2030-01-01T14:00:00.000Z' });
    expect(await t.client.changeMessage(10, 999_999, 'x')).toBe('not found');
  });

  it('catches up on the edits and deletes it missed while away with after_rev', async () => {
    const t = setup();
    t.api.add(...messages(1, 4).map((m) => ({ ...m, rev: m.seq })));
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    expect(t.client.thread(10).knownRev).toBe(4);

    // Offline: message 2 is edited, 3 deleted, 5 sent; no event reaches this client.
    t.client.handleDisconnected();
    t.transport.connected = false;
    t.api.add({ ...message(2), rev: 5, content: 'edited while away', edited_at: '2030-01-01T13:00:00.000Z' });
    t.api.add({ ...message(3), rev: 6, content: '', deleted_at: '2030-01-01T13:01:00.000Z' });
    t.api.add({ ...message(5), rev: 7 });
    t.api.calls = [];
    await connect(t);

    expect(t.api.calls).toContain('after_rev 10 4');
    expect(t.client.thread(10).messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'message 1'],
      [2, 'edited while away'],
      [3, ''],
      [4, 'message 4'],
      [5, 'message 5'],
    ]);
    expect(t.client.thread(10).messages[2].deleted_at).toBe('2030-01-01T13:01:00.000Z');
    expect(t.client.thread(10).knownRev).toBe(7);
  });

  it('fetches a missing seq once a gap outlives the grace period', async () => {
    const t = setup();
    t.api.add(...messages(1, 3));
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    t.api.add(...messages(4, 6));
    t.api.calls = [];

    t.client.handleMessageNew(message(6));
    expect(seqs(t.client)).toEqual([1, 2, 3, 6]);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.api.calls).toEqual(['after_seq 10 3']);
    expect(seqs(t.client)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('does not fetch when the late event arrives within the grace period', async () => {
    const t = setup();
    t.api.add(...messages(1, 3));
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    t.api.add(...messages(4, 5));
    t.api.calls = [];

    t.client.handleMessageNew(message(5));
    t.client.handleMessageNew(message(4));
    await vi.advanceTimersByTimeAsync(100);
    expect(t.api.calls).toEqual([]);
    expect(seqs(t.client)).toEqual([1, 2, 3, 4, 5]);
  });

  it('queues messages written offline and sends them after the reconnect', async () => {
    const t = setup();
    await t.client.start();
    await t.client.openConversation(10);

    t.client.send(10, 'first');
    t.client.send(10, '  second  ');
    expect(t.client.send(10, '   ')).toBeNull();
    expect(t.client.getState().outgoing.map((o) => [o.content, o.status])).toEqual([
      ['first', 'queued'],
      ['second', 'queued'],
    ]);
    expect(t.transport.sendMessage).not.toHaveBeenCalled();

    await connect(t);
    expect(t.transport.sent.map((p) => [p.content, p.client_id])).toEqual([
      ['first', 'client-1'],
      ['second', 'client-2'],
    ]);
    expect(t.client.getState().outgoing).toEqual([]);
    expect(t.client.thread(10).messages.map((m) => [m.seq, m.content, m.client_id])).toEqual([
      [1, 'first', 'client-1'],
      [2, 'second', 'client-2'],
    ]);
    expect(t.client.conversation(10)?.last_message?.content).toBe('second');
  });

  it('sends an uploaded image as an image message with its file_url', async () => {
    const t = setup();
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);
    const fileUrl = `/uploads/${'ab'.repeat(32)}.png`;

    t.client.sendImage(10, fileUrl);
    await settle();
    expect(t.transport.sent).toEqual([
      { conversation_id: 10, content: '', message_type: 'image', file_url: fileUrl, client_id: 'client-1' },
    ]);
    expect(t.client.getState().outgoing).toEqual([]);
  });

  it('sends a reply with the id of the message it answers, quoted while pending; the parent counts it', async () => {
    const t = setup();
    const parent = message(1, { sender_id: BOB.id, content: 'lunch at noon?', reply_count: 0 });
    t.api.add(parent);
    await t.client.start();
    await t.client.openConversation(10);

    const pending = t.client.send(10, 'make it 12:30', t.client.thread(10).messages[0]);
    expect(pending?.reply_to).toMatchObject({ id: parent.id, username: BOB.username, content: 'lunch at noon?' });
    await connect(t);
    await settle();
    expect(t.transport.sent).toEqual([
      { conversation_id: 10, content: 'make it 12:30', message_type: 'text', client_id: 'client-1', reply_to: parent.id },
    ]);
    const [held, reply] = t.client.thread(10).messages;
    expect(reply.reply_to?.id).toBe(parent.id);
    expect(held.reply_count).toBe(1);
  });

  it('drops a pending message whose stored copy came back through the catch-up', async () => {
    const t = setup();
    await t.client.start();
    await t.client.openConversation(10);
    t.client.send(10, 'hello');
    // The server stored it before the connection dropped, but the answer was lost.
    t.api.add(message(1, { sender_id: ME.id, content: 'hello', client_id: 'client-1' }));
    t.client.handleMessageNew(message(1, { sender_id: ME.id, content: 'hello', client_id: 'client-1' }));
    expect(t.client.getState().outgoing).toEqual([]);
    await connect(t);
    expect(t.transport.sent).toEqual([]);
    expect(seqs(t.client)).toEqual([1]);
  });

  it('counts unread messages of other conversations and marks the open one read', async () => {
    const t = setup();
    t.api.conversations.push(conversation({ id: 11 }));
    t.api.history.set(11, []);
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);

    const incoming = messages(1, 2, { conversation_id: 11 });
    t.api.add(...incoming);
    for (const m of incoming) t.client.handleMessageNew(m);
    expect(t.client.conversation(11)?.unread_count).toBe(2);
    expect(t.client.getState().conversations[0]?.id).toBe(11);

    t.client.handleMessageNew(message(1));
    expect(t.client.conversation(10)?.unread_count).toBe(0);
    expect(t.transport.reads).toEqual([[10, message(1).id]]);

    await t.client.openConversation(11);
    expect(t.client.conversation(11)?.unread_count).toBe(0);
    expect(t.transport.reads.at(-1)).toEqual([11, message(2, { conversation_id: 11 }).id]);
  });

  it('counts unread mentions of the user, and clears them on reading', async () => {
    const t = setup();
    t.api.conversations.push(conversation({ id: 11 }));
    t.api.history.set(11, []);
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);

    const incoming = [
      message(1, { conversation_id: 11, mentions: [ME.id] }),
      message(2, { conversation_id: 11, mentions: [] }),
      message(3, { conversation_id: 11, mentions: [ME.id, 99] }),
    ];
    t.api.add(...incoming);
    for (const m of incoming) t.client.handleMessageNew(m);
    expect(t.client.conversation(11)?.mention_count).toBe(2);

    await t.client.openConversation(11);
    expect(t.client.conversation(11)?.mention_count).toBe(0);
  });

  it('does not mark read while the page is hidden', async () => {
    const t = setup();
    await t.client.start();
    await t.client.openConversation(10);
    t.client.setVisible(false);
    t.client.handleMessageNew(message(1));
    expect(t.client.conversation(10)?.unread_count).toBe(1);
    expect(t.transport.reads).toEqual([]);
    t.client.setVisible(true);
    expect(t.transport.reads).toEqual([[10, message(1).id]]);
  });

  it('shows who is typing until they stop, send, or go quiet', async () => {
    const t = setup();
    await t.client.start();
    const bob = { conversation_id: 10, user_id: 2, username: 'bob' };
    t.client.handleTypingStart(bob);
    t.client.handleTypingStart({ conversation_id: 10, user_id: ME.id, username: ME.username });
    expect(t.client.getState().typing[10]).toEqual([{ user_id: 2, username: 'bob' }]);
    t.client.handleTypingStop(bob);
    expect(t.client.getState().typing[10]).toEqual([]);

    t.client.handleTypingStart(bob);
    t.client.handleMessageNew(message(1));
    expect(t.client.getState().typing[10]).toEqual([]);

    t.client.handleTypingStart(bob);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(t.client.getState().typing[10]).toEqual([]);
  });

  it('updates presence and adds new conversations', async () => {
    const t = setup();
    await t.client.start();
    t.client.handleUserOffline({ user_id: 2, username: 'bob', last_seen: '2030-01-02T00:00:00Z' });
    expect(t.client.conversation(10)?.members.find((m) => m.id === 2)).toMatchObject({
      status: 'offline',
      last_seen: '2030-01-02T00:00:00Z',
    });
    t.client.handleUserOnline({ user_id: 2, username: 'bob' });
    expect(t.client.conversation(10)?.members.find((m) => m.id === 2)?.status).toBe('online');

    t.client.handleConversationNew(conversation({ id: 12, type: 'group', name: 'Team' }));
    expect(t.client.conversation(12)?.name).toBe('Team');
    expect(t.transport.joined).toEqual([12]);
  });

  it('fetches an unknown conversation when a message for it arrives', async () => {
    const t = setup();
    t.api.conversations.push(conversation({ id: 13 }));
    await t.client.start();
    t.api.conversations.splice(0);
    t.api.conversations.push(conversation({ id: 14 }));
    t.client.handleMessageNew(message(1, { conversation_id: 14 }));
    await settle();
    expect(t.api.calls).toContain('get 14');
    expect(t.client.conversation(14)?.last_message?.seq).toBe(1);
    expect(t.client.conversation(14)?.unread_count).toBe(1);
  });
});

describe('chat client: receipts', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('acknowledges delivery of messages for conversations not on screen, once per seq', async () => {
    const t = setup();
    t.api.conversations.push(conversation({ id: 11 }));
    t.api.history.set(11, []);
    await t.client.start();
    await t.client.openConversation(10);
    await connect(t);

    // On screen: read, not delivered.
    t.client.handleMessageNew(message(1));
    expect(t.transport.deliveries).toEqual([]);
    expect(t.transport.reads).toEqual([[10, message(1).id]]);

    // Another conversation: delivered, for the newest message only, and never twice.
    const m1 = message(1, { conversation_id: 11 });
    const m2 = message(2, { conversation_id: 11 });
    t.client.handleMessageNew(m1);
    t.client.handleMessageNew(m2);
    t.client.handleMessageNew(m1);
    expect(t.transport.deliveries).toEqual([
      [11, m1.id],
      [11, m2.id],
    ]);
    // Own messages (from another device) are not acknowledged.
    t.client.handleMessageNew(message(3, { conversation_id: 11, sender_id: ME.id }));
    expect(t.transport.deliveries).toHaveLength(2);
  });

  it('acknowledges delivery while the page is hidden, and for a conversation it had to fetch', async () => {
    const t = setup();
    await t.client.start();
    await t.client.openConversation(10);
    t.client.setVisible(false);
    t.client.handleMessageNew(message(1));
    expect(t.transport.deliveries).toEqual([[10, message(1).id]]);

    t.api.conversations.push(conversation({ id: 15 }));
    t.client.handleMessageNew(message(1, { conversation_id: 15 }));
    await settle();
    expect(t.transport.deliveries.at(-1)).toEqual([15, message(1, { conversation_id: 15 }).id]);
  });

  it('acknowledges delivery of unread messages found when the list loads', async () => {
    const t = setup();
    t.api.conversations = [conversation({ id: 10, unread_count: 2 }), conversation({ id: 11, unread_count: 0 })];
    t.api.add(...messages(1, 2), ...messages(1, 1, { conversation_id: 11 }));
    await t.client.start();
    expect(t.transport.deliveries).toEqual([[10, message(2).id]]);
    await t.client.loadConversations();
    expect(t.transport.deliveries).toHaveLength(1);
  });

  it('keeps the furthest read and delivery of each other member, by seq', async () => {
    const t = setup();
    t.api.add(...messages(1, 3, { sender_id: ME.id }));
    await t.client.start();
    await t.client.openConversation(10);
    t.client.handleMessageDelivered({ conversation_id: 10, message_id: message(3).id, seq: 3, user_id: 2, delivered_at: 'x' });
    t.client.handleMessageRead({ conversation_id: 10, message_id: message(2).id, seq: 2, user_id: 2, read_at: 'x' });
    t.client.handleMessageRead({ conversation_id: 10, message_id: message(1).id, seq: 1, user_id: 2, read_at: 'x' });
    // The user's own receipts (another device) are not receipts of others.
    t.client.handleMessageDelivered({ conversation_id: 10, message_id: message(3).id, seq: 3, user_id: ME.id, delivered_at: 'x' });
    const state = t.client.getState();
    expect(state.deliveredUpTo[10]).toEqual({ 2: { message_id: message(3).id, seq: 3 } });
    expect(state.readUpTo[10]).toEqual({ 2: { message_id: message(2).id, seq: 2 } });
  });

  it('clears the unread count when the user read the conversation on another device', async () => {
    const t = setup();
    t.api.conversations = [conversation({ unread_count: 2 })];
    t.api.add(...messages(1, 2));
    await t.client.start();
    t.client.handleMessageRead({ conversation_id: 10, message_id: message(1).id, seq: 1, user_id: ME.id, read_at: 'x' });
    expect(t.client.conversation(10)?.unread_count).toBe(2);
    t.client.handleMessageRead({ conversation_id: 10, message_id: message(2).id, seq: 2, user_id: ME.id, read_at: 'x' });
    expect(t.client.conversation(10)?.unread_count).toBe(0);
  });
});

describe('chat client: groups and rooms', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const CAROL: User = { id: 3, username: 'carol', avatar_url: null, status: 'offline', last_seen: null };
  const group = (overrides: Partial<Conversation> = {}) =>
    conversation({ id: 20, type: 'group', name: 'Team', members: [ALICE, BOB], member_count: 2, ...overrides });

  it('counts system notices about others as unread, but not notices about oneself', async () => {
    const t = setup();
    t.api.conversations = [group()];
    await t.client.start();
    t.client.handleMessageNew(message(1, { conversation_id: 20, sender_id: 3, message_type: 'system', content: 'carol joined' }));
    expect(t.client.conversation(20)?.unread_count).toBe(1);
    t.client.handleMessageNew(message(2, { conversation_id: 20, sender_id: ME.id, message_type: 'system', content: 'alice was added' }));
    expect(t.client.conversation(20)?.unread_count).toBe(1);
    expect(t.client.conversation(20)?.last_message?.content).toBe('alice was added');
  });

  it('updates members and their count live as they join and leave', async () => {
    const t = setup();
    t.api.conversations = [group()];
    await t.client.start();
    const joined = { conversation_id: 20, user: CAROL };
    t.client.handleMemberJoined(joined);
    t.client.handleMemberJoined(joined);
    expect(t.client.conversation(20)?.members.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(t.client.conversation(20)?.member_count).toBe(3);

    t.client.handleTypingStart({ conversation_id: 20, user_id: 3, username: 'carol' });
    t.client.handleMemberLeft(joined);
    t.client.handleMemberLeft(joined);
    expect(t.client.conversation(20)?.members.map((m) => m.id)).toEqual([1, 2]);
    expect(t.client.conversation(20)?.member_count).toBe(2);
    expect(t.client.getState().typing[20]).toEqual([]);
  });

  it('joins a public room: it is added to the list and subscribed', async () => {
    const t = setup();
    t.api.rooms.set(30, conversation({ id: 30, type: 'group', name: 'Lobby', is_public: true, members: [BOB], member_count: 1 }));
    await t.client.start();
    const room = await t.client.joinRoom(30);
    expect(room.member_count).toBe(2);
    expect(t.client.conversation(30)?.name).toBe('Lobby');
    expect(t.transport.joined).toContain(30);
    await expect(t.client.joinRoom(31)).rejects.toMatchObject({ code: 'not_a_member' });
  });

  it('leaves a group: it goes from the list with its history, and its late events are ignored', async () => {
    const t = setup();
    t.api.conversations = [conversation(), group()];
    t.api.history.set(20, messages(1, 2, { conversation_id: 20 }));
    await t.client.start();
    await t.client.openConversation(20);
    expect(t.client.thread(20).messages).toHaveLength(2);
    t.client.handleMessageRead({ conversation_id: 20, message_id: message(1, { conversation_id: 20 }).id, seq: 1, user_id: 2, read_at: 'x' });

    await t.client.leaveConversation(20);
    expect(t.api.calls).toContain('leave 20');
    expect(t.client.conversation(20)).toBeUndefined();
    expect(t.client.getState().threads[20]).toBeUndefined();
    expect(t.client.getState().readUpTo[20]).toBeUndefined();
    expect(t.client.hasLeft(20)).toBe(true);

    // The "alice left" notice and the member_left event still arrive: nothing comes back.
    t.api.calls = [];
    t.client.handleMessageNew(message(3, { conversation_id: 20, sender_id: ME.id, message_type: 'system', content: 'alice left' }));
    t.client.handleMemberLeft({ conversation_id: 20, user: ALICE });
    await settle();
    expect(t.client.conversation(20)).toBeUndefined();
    expect(t.api.calls).toEqual([]);

    // Added back later: conversation:new brings it back.
    t.client.handleConversationNew(group());
    expect(t.client.conversation(20)).toBeDefined();
    expect(t.client.hasLeft(20)).toBe(false);
    await expect(t.client.leaveConversation(10)).rejects.toThrow(/cannot be left/);
  });

  it('forgets a conversation left on another device', async () => {
    const t = setup();
    t.api.conversations = [group()];
    await t.client.start();
    await t.client.openConversation(20);
    t.client.send(20, 'waiting for the connection');
    t.client.handleMemberLeft({ conversation_id: 20, user: ALICE });
    expect(t.client.conversation(20)).toBeUndefined();
    expect(t.client.getState().outgoing).toEqual([]);
  });

  it('mutes a group with or without its mentions, keeping what the server answers; unmuting clears both', async () => {
    const t = setup();
    t.api.conversations = [group()];
    await t.client.start();
    const until = '2030-06-15T19:00:00.000Z';

    await t.client.setMuted(20, { muted_until: until, mute_mentions: true });
    expect(t.client.conversation(20)).toMatchObject({ muted_until: until, mute_mentions: true });

    await t.client.setMuted(20, { muted_until: null });
    expect(t.client.conversation(20)).toMatchObject({ muted_until: null, mute_mentions: false });

    await t.client.setMuted(20, { muted_until: until, mute_mentions: false });
    expect(t.client.conversation(20)).toMatchObject({ muted_until: until, mute_mentions: false });
    expect(t.api.calls.filter((c) => c.startsWith('settings'))).toEqual([
      `settings 20 {"muted_until":"${until}","mute_mentions":true}`,
      'settings 20 {"muted_until":null}',
      `settings 20 {"muted_until":"${until}","mute_mentions":false}`,
    ]);
  });

  it('adds a member; "already a member" comes back as the server error', async () => {
    const t = setup();
    t.api.conversations = [group()];
    t.api.users.set(CAROL.id, CAROL);
    await t.client.start();
    const updated = await t.client.addMember(20, CAROL);
    expect(updated.member_count).toBe(3);
    expect(t.client.conversation(20)?.members.map((m) => m.id)).toEqual([1, 2, 3]);
    // The member_joined event that follows does not count her twice.
    t.client.handleMemberJoined({ conversation_id: 20, user: CAROL });
    expect(t.client.conversation(20)?.member_count).toBe(3);
    await expect(t.client.addMember(20, CAROL)).rejects.toMatchObject({ code: 'already_member' });
  });
});

describe('chat client: membership and list reloads', () => {
  it('a list answer requested before a join or leave does not undo it', async () => {
    const t = setup();
    t.api.conversations = [conversation(), conversation({ id: 20, type: 'group', name: 'Team' })];
    await t.client.start();

    // A reload is under way (e.g. after a reconnect) with the old membership...
    let answer!: (list: Conversation[]) => void;
    const stale = [conversation(), conversation({ id: 20, type: 'group', name: 'Team' })];
    t.api.listConversations = () => new Promise((resolve) => (answer = resolve));
    const reload = t.client.loadConversations();
    // ...while the user leaves one group and is added to another.
    await t.client.leaveConversation(20);
    t.client.handleConversationNew(conversation({ id: 21, type: 'group', name: 'New' }));
    answer(stale);
    await reload;
    expect(t.client.getState().conversations.map((c) => c.id).sort()).toEqual([10, 21]);

    // A later answer is the truth again: added back to 20 elsewhere, out of 21.
    t.api.listConversations = async () => [conversation(), conversation({ id: 20, type: 'group', name: 'Team' })];
    await t.client.loadConversations();
    expect(t.client.getState().conversations.map((c) => c.id).sort()).toEqual([10, 20]);
    expect(t.client.hasLeft(20)).toBe(false);
  });

  it('reads the blocked users at start and keeps them with blocks made here and on other devices', async () => {
    const t = setup();
    const carol: User = { id: 3, username: 'carol', avatar_url: null, status: 'offline', last_seen: null };
    t.api.users.set(carol.id, carol);
    t.api.blocked = [carol];
    await t.client.start();
    expect(t.client.getState().blocks).toEqual({ users: [carol], status: 'ready' });

    await t.client.blockUser(BOB);
    expect(t.api.calls).toContain(`block ${BOB.id}`);
    expect(t.client.getState().blocks.users.map((u) => u.id)).toEqual([BOB.id, carol.id]);
    // The server tells every device, this one too: nothing to read again.
    t.api.calls = [];
    t.client.handleUserBlocked({ user_id: BOB.id });
    await settle();
    expect(t.api.calls).toEqual([]);

    await t.client.unblockUser(BOB.id);
    expect(t.client.getState().blocks.users.map((u) => u.id)).toEqual([carol.id]);

    // Another device unblocks Carol and blocks Bob: the list follows.
    t.client.handleUserUnblocked({ user_id: carol.id });
    expect(t.client.getState().blocks.users).toEqual([]);
    t.api.blocked = [BOB];
    t.client.handleUserBlocked({ user_id: BOB.id });
    await settle();
    expect(t.client.getState().blocks.users.map((u) => u.id)).toEqual([BOB.id]);
  });

  it('reads the blocked users again after a reconnect (changes made while away come with no event)', async () => {
    const t = setup();
    await t.client.start();
    await connect(t);
    t.client.handleDisconnected();
    t.transport.connected = false;
    t.api.blocked = [BOB];
    await connect(t);
    expect(t.client.getState().blocks.users.map((u) => u.id)).toEqual([BOB.id]);
  });

  it('keeps the list as it was when blocking fails', async () => {
    const t = setup();
    await t.client.start();
    await expect(t.client.blockUser({ ...BOB, id: 99 })).rejects.toThrow('user not found');
    expect(t.client.getState().blocks.users).toEqual([]);
  });
});

describe('chat client: profiles', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('user:updated renames the member, the messages they sent and quotes of them, and keeps presence', async () => {
    const t = setup();
    const quoted = message(1);
    t.api.add(quoted, message(2, { reply_to: quoteOf(quoted) }), message(3, { sender_id: ME.id }));
    await t.client.start();
    await t.client.openConversation(10);
    const heard: User[] = [];
    const stop = t.client.onProfileUpdated((u) => heard.push(u));
    const update: User = { ...BOB, display_name: 'Robert', bio: 'hi', avatar_url: '/uploads/x.png', status: 'offline' };
    t.client.handleUserUpdated(update);
    stop();
    const held = t.client.conversation(10)!.members.find((m) => m.id === BOB.id)!;
    expect(held).toMatchObject({ display_name: 'Robert', bio: 'hi', avatar_url: '/uploads/x.png', status: 'online' });
    const thread = t.client.thread(10).messages;
    expect(thread.filter((m) => m.sender_id === BOB.id).map((m) => m.sender.display_name)).toEqual(['Robert', 'Robert']);
    expect(thread[1]!.reply_to?.display_name).toBe('Robert');
    expect(thread[2]!.sender.display_name ?? null).toBeNull();
    expect(t.client.conversation(10)!.last_message?.sender_id).toBe(ME.id);
    expect(heard).toEqual([update]);

    // The same profile again changes no state object.
    const before = t.client.getState();
    t.client.handleUserUpdated(update);
    expect(t.client.getState()).toBe(before);
  });
});
