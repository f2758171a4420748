import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Message, MessagePage, SendMessagePayload } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import { ME, conversation, message, messages, settle } from '../test/fixtures';
import { ChatClient, type ChatApi } from './client';
import type { SendOutcome } from './outbox';

/** A server's message history, answering the way the REST API does. */
class FakeApi implements ChatApi {
  conversations: Conversation[] = [conversation()];
  history = new Map<number, Message[]>([[10, []]]);
  calls: string[] = [];

  add(...list: Message[]) {
    for (const m of list) {
      const held = this.history.get(m.conversation_id) ?? [];
      this.history.set(m.conversation_id, [...held, m].sort((a, b) => a.seq - b.seq));
    }
  }

  async listConversations() {
    this.calls.push('list');
    return this.conversations.map((c) => {
      const held = this.history.get(c.id) ?? [];
      return { ...c, last_message: held[held.length - 1] ?? null };
    });
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
    return { messages: page, has_more: older.length > limit } satisfies MessagePage;
  }

  async fetchMessagesAfterSeq(id: number, afterSeq: number, limit = 100) {
    this.calls.push(`after_seq ${id} ${afterSeq}`);
    const newer = (this.history.get(id) ?? []).filter((m) => m.seq > afterSeq);
    return { messages: newer.slice(0, limit), has_more: newer.length > limit } satisfies MessagePage;
  }
}

/** A socket that the test connects and disconnects; sends are stored by the fake server. */
class FakeTransport implements ChatTransport {
  connected = false;
  sent: SendMessagePayload[] = [];
  reads: Array<[number, number]> = [];
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
    });
    this.api.add(stored);
    return { ok: true, message: stored };
  });
  markRead = (conversationId: number, messageId: number) => void this.reads.push([conversationId, messageId]);
  markDelivered = () => {};
  startTyping = () => {};
  stopTyping = () => {};
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
