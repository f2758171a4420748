// The chat as the user sees it: conversations, their messages, who is typing, what is waiting to
// be sent. It is fed by REST answers and socket events and knows neither React nor socket.io; the
// provider wires the socket's events to the `handle*` methods.
//
// Consistency: messages are kept per conversation sorted by seq and unique by id. Whenever a seq is
// missing (events crossing server instances, a dropped connection) and on every (re)connect, the
// client asks for `after_seq=<highest seq held without a gap>` and merges the answer.

import type {
  Conversation,
  MemberChangeEvent,
  Message,
  MessageDeliveredEvent,
  MessagePage,
  MessageReadEvent,
  TypingEvent,
  User,
  UserOfflineEvent,
  UserOnlineEvent,
} from '../api/types';
import type { ConnectionStatus } from '../socket/connection';
import type { ChatTransport } from '../socket/transport';
import {
  setMemberStatus,
  sortByActivity,
  upsertConversation,
  withMemberJoined,
  withMemberLeft,
} from './conversations';
import { newClientId } from './clientId';
import { hasSeqGap, highestContiguousSeq, mergeMessages, newestMessage } from './messages';
import { Outbox, type OutgoingMessage } from './outbox';
import { advancePointer, newestFromOthers, seqOf, type MemberPointers, type ReceiptPointer } from './receipts';
import { createStore, type Store } from './store';

export const PAGE_SIZE = 50;
const CATCH_UP_PAGE_SIZE = 100;

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface Thread {
  /** Sorted by seq, unique by id. */
  messages: Message[];
  /**
   * The seq just below the oldest message from which the history is known to be complete:
   * 0 once the very first message is loaded.
   */
  floorSeq: number;
  hasOlder: boolean;
  status: LoadStatus;
  loadingOlder: boolean;
  error?: string;
}

export interface Typist {
  user_id: number;
  username: string;
}

export interface ChatState {
  conversations: Conversation[];
  conversationsStatus: LoadStatus;
  conversationsError?: string;
  threads: Record<number, Thread>;
  outgoing: OutgoingMessage[];
  /** Other users typing, per conversation. */
  typing: Record<number, Typist[]>;
  /** Per conversation, how far each member has read (`message:read`). */
  readUpTo: Record<number, MemberPointers>;
  /** Per conversation, how far messages reached each member's devices (`message:delivered`). */
  deliveredUpTo: Record<number, MemberPointers>;
  connection: ConnectionStatus;
  activeConversationId: number | null;
}

export interface ChatApi {
  listConversations(): Promise<Conversation[]>;
  getConversation(id: number): Promise<Conversation>;
  fetchMessagesBefore(id: number, options: { before?: number; limit?: number }): Promise<MessagePage>;
  fetchMessagesAfterSeq(id: number, afterSeq: number, limit?: number): Promise<MessagePage>;
  /** `POST /api/conversations/:id/join`: the room, as a member sees it. */
  joinConversation(id: number): Promise<Conversation>;
  /** `POST /api/conversations/:id/leave`. */
  leaveConversation(id: number): Promise<void>;
  /** `POST /api/conversations/:id/members {user_id}`: the conversation with the user in it. */
  addMember(id: number, userId: number): Promise<Conversation>;
}

export interface ChatClientOptions {
  me: { id: number; username: string };
  api: ChatApi;
  transport: ChatTransport;
  newClientId?: () => string;
  now?: () => Date;
  /** Wait this long before fetching a missing seq: the event may only be late. */
  gapGraceMs?: number;
  /** Forget a typist not heard of for this long (the server's own stop may be lost). */
  typingTimeoutMs?: number;
  describeError?: (error: unknown) => string;
}

export const emptyThread: Thread = {
  messages: [],
  floorSeq: 0,
  hasOlder: false,
  status: 'idle',
  loadingOlder: false,
};

function initialState(): ChatState {
  return {
    conversations: [],
    conversationsStatus: 'idle',
    threads: {},
    outgoing: [],
    typing: {},
    readUpTo: {},
    deliveredUpTo: {},
    connection: 'idle',
    activeConversationId: null,
  };
}

export class ChatClient {
  readonly me: { id: number; username: string };
  private readonly store: Store<ChatState> = createStore(initialState());
  private readonly api: ChatApi;
  private readonly transport: ChatTransport;
  private readonly outbox: Outbox;
  private readonly newClientId: () => string;
  private readonly now: () => Date;
  private readonly gapGraceMs: number;
  private readonly typingTimeoutMs: number;
  private readonly describeError: (error: unknown) => string;

  private visible = true;
  private connectedBefore = false;
  private catchUps = new Map<number, Promise<void>>();
  private catchUpAgain = new Set<number>();
  private gapTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private fetchingConversations = new Map<number, Promise<Conversation | undefined>>();
  private conversationsRequest = 0;
  /** Conversations the user left: their late events are ignored until they are back in. */
  private left = new Set<number>();
  /**
   * Membership changes seen here, with the list request current at the time: a list answer
   * requested before a change does not undo it.
   */
  private membershipChanges = new Map<number, { kind: 'added' | 'left'; request: number }>();
  /** Per conversation, the highest seq acknowledged with `message:delivered`. */
  private deliveredSeq = new Map<number, number>();

  constructor(options: ChatClientOptions) {
    this.me = options.me;
    this.api = options.api;
    this.transport = options.transport;
    this.newClientId = options.newClientId ?? (() => newClientId());
    this.now = options.now ?? (() => new Date());
    this.gapGraceMs = options.gapGraceMs ?? 400;
    this.typingTimeoutMs = options.typingTimeoutMs ?? 7_000;
    this.describeError =
      options.describeError ?? ((e) => (e instanceof Error ? e.message : 'Something went wrong'));
    this.outbox = new Outbox({
      send: (payload) => this.transport.sendMessage(payload),
      isOnline: () => this.transport.isConnected(),
      onStored: (message) => this.ingest(message.conversation_id, [message]),
      onChange: (outgoing) => this.update((s) => ({ ...s, outgoing })),
    });
  }

  // ---- state ----

  getState = (): ChatState => this.store.getState();
  subscribe = (listener: () => void): (() => void) => this.store.subscribe(listener);

  private update(change: (state: ChatState) => ChatState) {
    this.store.setState(change);
  }

  private updateThread(id: number, change: (thread: Thread) => Thread) {
    this.update((s) => {
      const current = s.threads[id] ?? emptyThread;
      const next = change(current);
      return next === current ? s : { ...s, threads: { ...s.threads, [id]: next } };
    });
  }

  private updateConversation(id: number, change: (conversation: Conversation) => Conversation) {
    this.update((s) => {
      const index = s.conversations.findIndex((c) => c.id === id);
      if (index < 0) return s;
      const current = s.conversations[index]!;
      const next = change(current);
      if (next === current) return s;
      const conversations = [...s.conversations];
      conversations[index] = next;
      return { ...s, conversations: sortByActivity(conversations) };
    });
  }

  conversation(id: number): Conversation | undefined {
    return this.getState().conversations.find((c) => c.id === id);
  }

  thread(id: number): Thread {
    return this.getState().threads[id] ?? emptyThread;
  }

  // ---- lifecycle ----

  /** Loads the conversation list. */
  start(): Promise<void> {
    return this.loadConversations();
  }

  /** Cancels timers; the client can be started again. */
  stop(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.typingTimers.clear();
  }

  async loadConversations(): Promise<void> {
    const request = ++this.conversationsRequest;
    this.update((s) => ({
      ...s,
      conversationsStatus: s.conversationsStatus === 'ready' ? 'ready' : 'loading',
    }));
    try {
      const answer = await this.api.listConversations();
      if (request !== this.conversationsRequest) return;
      const changedSince = (id: number, kind: 'added' | 'left') => {
        const change = this.membershipChanges.get(id);
        return change !== undefined && change.kind === kind && change.request >= request;
      };
      const fetched = answer.filter((c) => !changedSince(c.id, 'left'));
      this.update((s) => {
        // Keep a newer last_message known from an event that overtook the answer.
        const known = new Map(s.conversations.map((c) => [c.id, c]));
        const fetchedIds = new Set(fetched.map((c) => c.id));
        const conversations = sortByActivity([
          ...fetched.map((fresh) => {
            const last = known.get(fresh.id)?.last_message;
            return last && (!fresh.last_message || fresh.last_message.seq < last.seq)
              ? { ...fresh, last_message: last }
              : fresh;
          }),
          // Joined or added while the list was on its way.
          ...s.conversations.filter((c) => !fetchedIds.has(c.id) && changedSince(c.id, 'added')),
        ]);
        return { ...s, conversations, conversationsStatus: 'ready', conversationsError: undefined };
      });
      for (const [id, change] of this.membershipChanges) {
        if (change.request < request) this.membershipChanges.delete(id);
      }
      for (const conversation of fetched) {
        this.left.delete(conversation.id);
        // What arrived while this client was away has now reached this device.
        const last = conversation.last_message;
        if (last && conversation.unread_count > 0) this.acknowledgeDelivery(conversation.id, [last]);
      }
      const active = this.getState().activeConversationId;
      if (active !== null) this.markReadIfViewing(active);
    } catch (error) {
      if (request !== this.conversationsRequest) return;
      this.update((s) => ({
        ...s,
        conversationsStatus: s.conversationsStatus === 'ready' ? 'ready' : 'error',
        conversationsError: this.describeError(error),
      }));
    }
  }

  /** Adds a conversation known from elsewhere (e.g. just created) and subscribes to it. */
  addConversation(conversation: Conversation): void {
    this.left.delete(conversation.id);
    this.membershipChanges.set(conversation.id, { kind: 'added', request: this.conversationsRequest });
    const known = this.conversation(conversation.id);
    this.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
    if (!known) this.transport.joinConversation(conversation.id);
  }

  /** Fetches a conversation that is not in the list yet (a link, an event for a new one). */
  private fetchConversation(id: number): Promise<Conversation | undefined> {
    const pending = this.fetchingConversations.get(id);
    if (pending) return pending;
    const request = this.api
      .getConversation(id)
      .then((conversation) => {
        // The server shows it: the user is (again) a member.
        this.left.delete(id);
        this.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
        this.markReadIfViewing(id);
        return conversation;
      })
      .catch(() => undefined)
      .finally(() => this.fetchingConversations.delete(id));
    this.fetchingConversations.set(id, request);
    return request;
  }

  // ---- membership ----

  /** Joins a public room and adds it to the list. */
  async joinRoom(id: number): Promise<Conversation> {
    const conversation = await this.api.joinConversation(id);
    this.addConversation(conversation);
    return conversation;
  }

  /** Leaves a group or room; it disappears from the list with its history. */
  async leaveConversation(id: number): Promise<void> {
    await this.api.leaveConversation(id);
    this.forgetConversation(id);
  }

  /** Adds a user to a group or room (rejects with the server's error, e.g. 409 `already_member`). */
  async addMember(id: number, user: Pick<User, 'id'>): Promise<Conversation> {
    const conversation = await this.api.addMember(id, user.id);
    if (!this.left.has(id)) {
      this.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
    }
    return conversation;
  }

  /** Drops everything held about a conversation the user is no longer in. */
  private forgetConversation(id: number): void {
    this.left.add(id);
    this.membershipChanges.set(id, { kind: 'left', request: this.conversationsRequest });
    this.deliveredSeq.delete(id);
    const timer = this.gapTimers.get(id);
    if (timer) clearTimeout(timer);
    this.gapTimers.delete(id);
    for (const [key, typingTimer] of this.typingTimers) {
      if (key.startsWith(`${id}:`)) {
        clearTimeout(typingTimer);
        this.typingTimers.delete(key);
      }
    }
    for (const item of this.getState().outgoing) {
      if (item.conversation_id === id) this.outbox.discard(item.client_id);
    }
    this.update((s) => {
      const { [id]: _thread, ...threads } = s.threads;
      const { [id]: _typing, ...typing } = s.typing;
      const { [id]: _read, ...readUpTo } = s.readUpTo;
      const { [id]: _delivered, ...deliveredUpTo } = s.deliveredUpTo;
      return {
        ...s,
        conversations: s.conversations.filter((c) => c.id !== id),
        threads,
        typing,
        readUpTo,
        deliveredUpTo,
      };
    });
  }

  /** Whether the user left conversation `id` (and was not added back since). */
  hasLeft(id: number): boolean {
    return this.left.has(id);
  }

  // ---- the open conversation ----

  /** Opens a conversation (or none): loads its history and marks it read. */
  async openConversation(id: number | null): Promise<void> {
    this.update((s) => (s.activeConversationId === id ? s : { ...s, activeConversationId: id }));
    if (id === null) return;
    if (!this.conversation(id)) void this.fetchConversation(id);
    const thread = this.thread(id);
    if (thread.status === 'idle' || thread.status === 'error') await this.loadLatest(id);
    this.markReadIfViewing(id);
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    const active = this.getState().activeConversationId;
    if (visible && active !== null) this.markReadIfViewing(active);
  }

  /** The newest page of history. */
  async loadLatest(id: number): Promise<void> {
    this.updateThread(id, (t) => ({ ...t, status: 'loading', error: undefined }));
    try {
      const page = await this.api.fetchMessagesBefore(id, { limit: PAGE_SIZE });
      const oldest = page.messages.reduce<Message | undefined>(
        (min, m) => (!min || m.seq < min.seq ? m : min),
        undefined,
      );
      this.updateThread(id, (t) => ({
        ...t,
        messages: mergeMessages(t.messages, page.messages),
        floorSeq: page.has_more && oldest ? oldest.seq - 1 : 0,
        hasOlder: page.has_more,
        status: 'ready',
      }));
      this.afterIngest(id, page.messages, false);
      if (hasSeqGap(this.thread(id).messages, this.thread(id).floorSeq)) void this.catchUp(id);
    } catch (error) {
      this.updateThread(id, (t) => ({ ...t, status: 'error', error: this.describeError(error) }));
    }
  }

  /** The page before the oldest message held. */
  async loadOlder(id: number): Promise<void> {
    const thread = this.thread(id);
    const oldest = thread.messages[0];
    if (thread.status !== 'ready' || thread.loadingOlder || !thread.hasOlder || !oldest) return;
    this.updateThread(id, (t) => ({ ...t, loadingOlder: true }));
    try {
      const page = await this.api.fetchMessagesBefore(id, { before: oldest.id, limit: PAGE_SIZE });
      const pageOldest = page.messages.reduce<Message | undefined>(
        (min, m) => (!min || m.seq < min.seq ? m : min),
        undefined,
      );
      this.updateThread(id, (t) => ({
        ...t,
        messages: mergeMessages(t.messages, page.messages),
        floorSeq: page.has_more && pageOldest ? Math.min(t.floorSeq, pageOldest.seq - 1) : 0,
        hasOlder: page.has_more,
        loadingOlder: false,
      }));
    } catch (error) {
      this.updateThread(id, (t) => ({ ...t, loadingOlder: false, error: this.describeError(error) }));
    }
  }

  /**
   * Fetches every message after the highest seq held without a gap. One catch-up per
   * conversation at a time; one asked for meanwhile runs right after.
   */
  catchUp(id: number): Promise<void> {
    const running = this.catchUps.get(id);
    if (running) {
      this.catchUpAgain.add(id);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.catchUpAgain.delete(id);
          await this.catchUpOnce(id);
        } while (this.catchUpAgain.has(id));
      } finally {
        this.catchUps.delete(id);
      }
    })();
    this.catchUps.set(id, run);
    return run;
  }

  private async catchUpOnce(id: number): Promise<void> {
    for (;;) {
      const thread = this.thread(id);
      if (thread.status !== 'ready') return;
      const after = highestContiguousSeq(thread.messages, thread.floorSeq);
      let page: MessagePage;
      try {
        page = await this.api.fetchMessagesAfterSeq(id, after, CATCH_UP_PAGE_SIZE);
      } catch {
        return; // The next reconnect or gap tries again.
      }
      this.ingest(id, page.messages);
      const reached = highestContiguousSeq(this.thread(id).messages, this.thread(id).floorSeq);
      if (!page.has_more || reached <= after) return;
    }
  }

  // ---- sending ----

  /** Queues a text message; it goes out now if connected, else after the reconnect. */
  send(conversationId: number, content: string): OutgoingMessage | null {
    const text = content.trim();
    if (!text) return null;
    return this.outbox.add({
      client_id: this.newClientId(),
      conversation_id: conversationId,
      content: text,
      created_at: this.now().toISOString(),
    });
  }

  /** Sends an uploaded image (its `file_url` from `POST /api/upload`), with an optional caption. */
  sendImage(conversationId: number, fileUrl: string, caption = ''): OutgoingMessage {
    return this.outbox.add({
      client_id: this.newClientId(),
      conversation_id: conversationId,
      content: caption.trim(),
      message_type: 'image',
      file_url: fileUrl,
      created_at: this.now().toISOString(),
    });
  }

  retry(clientId: string): void {
    this.outbox.retry(clientId);
  }

  discard(clientId: string): void {
    this.outbox.discard(clientId);
  }

  startTyping(conversationId: number): void {
    this.transport.startTyping(conversationId);
  }

  stopTyping(conversationId: number): void {
    this.transport.stopTyping(conversationId);
  }

  // ---- incoming ----

  /** Adds messages of one conversation, from whatever source, and updates everything they touch. */
  private ingest(conversationId: number, messages: readonly Message[], live = true): void {
    if (messages.length === 0) return;
    const thread = this.getState().threads[conversationId];
    if (thread && thread.status !== 'idle') {
      this.updateThread(conversationId, (t) => {
        const merged = mergeMessages(t.messages, messages);
        return merged === t.messages ? t : { ...t, messages: merged };
      });
    }
    this.afterIngest(conversationId, messages, live);
  }

  /**
   * Updates the list entry, pending messages and typists after messages arrived. `live`: new
   * messages (events, catch-up) rather than history, so they count as unread.
   */
  private afterIngest(conversationId: number, messages: readonly Message[], live: boolean): void {
    // Own messages confirmed by another path are no longer pending.
    for (const message of messages) {
      if (message.sender_id === this.me.id && message.client_id) this.outbox.resolve(message.client_id);
    }
    const conversation = this.conversation(conversationId);
    if (conversation) {
      const lastSeq = conversation.last_message?.seq ?? 0;
      const newer = messages.filter((m) => m.seq > lastSeq);
      if (newer.length > 0) {
        const latest = newer.reduce((a, b) => (b.seq > a.seq ? b : a));
        // Notices about others count as unread, like on the server; notices about oneself do not.
        const unreadAdded = live ? newer.filter((m) => m.sender_id !== this.me.id).length : 0;
        this.updateConversation(conversationId, (c) => ({
          ...c,
          last_message: latest,
          unread_count: c.unread_count + unreadAdded,
        }));
      }
    }
    if (live) {
      // Whoever just sent has stopped typing.
      for (const userId of new Set(messages.map((m) => m.sender_id))) this.removeTypist(conversationId, userId);
      this.acknowledgeDelivery(conversationId, messages);
    }
    this.markReadIfViewing(conversationId);
  }

  handleMessageNew = (message: Message): void => {
    const conversationId = message.conversation_id;
    if (this.left.has(conversationId)) return;
    if (!this.conversation(conversationId)) {
      void this.fetchConversation(conversationId).then((found) => {
        if (found) this.ingest(conversationId, [message]);
      });
      return;
    }
    this.ingest(conversationId, [message]);
    const thread = this.thread(conversationId);
    if (thread.status === 'ready' && hasSeqGap(thread.messages, thread.floorSeq)) {
      this.scheduleGapCheck(conversationId);
    }
  };

  private scheduleGapCheck(id: number) {
    if (this.gapTimers.has(id)) return;
    this.gapTimers.set(
      id,
      setTimeout(() => {
        this.gapTimers.delete(id);
        const thread = this.thread(id);
        if (hasSeqGap(thread.messages, thread.floorSeq)) void this.catchUp(id);
      }, this.gapGraceMs),
    );
  }

  /** A receipt's message with its seq, when this client holds that message. */
  private receiptPointer(conversationId: number, messageId: number): ReceiptPointer {
    const held = this.thread(conversationId).messages;
    const last = this.conversation(conversationId)?.last_message;
    return { message_id: messageId, seq: seqOf(messageId, last ? [last, ...held] : held) };
  }

  handleMessageRead = (event: MessageReadEvent): void => {
    if (this.left.has(event.conversation_id)) return;
    const pointer = this.receiptPointer(event.conversation_id, event.message_id);
    if (event.user_id === this.me.id) {
      // Read on another device.
      this.updateConversation(event.conversation_id, (c) => {
        const last = c.last_message;
        const coversLast =
          !last || (pointer.seq !== null ? last.seq <= pointer.seq : last.id <= event.message_id);
        return c.unread_count > 0 && coversLast ? { ...c, unread_count: 0 } : c;
      });
      return;
    }
    this.update((s) => {
      const current = s.readUpTo[event.conversation_id];
      const next = advancePointer(current, event.user_id, pointer);
      return next === current ? s : { ...s, readUpTo: { ...s.readUpTo, [event.conversation_id]: next } };
    });
  };

  handleMessageDelivered = (event: MessageDeliveredEvent): void => {
    if (event.user_id === this.me.id || this.left.has(event.conversation_id)) return;
    const pointer = this.receiptPointer(event.conversation_id, event.message_id);
    this.update((s) => {
      const current = s.deliveredUpTo[event.conversation_id];
      const next = advancePointer(current, event.user_id, pointer);
      return next === current ? s : { ...s, deliveredUpTo: { ...s.deliveredUpTo, [event.conversation_id]: next } };
    });
  };

  handleTypingStart = (event: TypingEvent): void => {
    if (event.user_id === this.me.id) return;
    const key = `${event.conversation_id}:${event.user_id}`;
    const existing = this.typingTimers.get(key);
    if (existing) clearTimeout(existing);
    this.typingTimers.set(
      key,
      setTimeout(() => this.removeTypist(event.conversation_id, event.user_id), this.typingTimeoutMs),
    );
    this.update((s) => {
      const list = s.typing[event.conversation_id] ?? [];
      if (list.some((t) => t.user_id === event.user_id)) return s;
      return {
        ...s,
        typing: {
          ...s.typing,
          [event.conversation_id]: [...list, { user_id: event.user_id, username: event.username }],
        },
      };
    });
  };

  handleTypingStop = (event: TypingEvent): void => {
    this.removeTypist(event.conversation_id, event.user_id);
  };

  private removeTypist(conversationId: number, userId: number) {
    const key = `${conversationId}:${userId}`;
    const timer = this.typingTimers.get(key);
    if (timer) clearTimeout(timer);
    this.typingTimers.delete(key);
    this.update((s) => {
      const list = s.typing[conversationId];
      if (!list?.some((t) => t.user_id === userId)) return s;
      return { ...s, typing: { ...s.typing, [conversationId]: list.filter((t) => t.user_id !== userId) } };
    });
  }

  handleUserOnline = (event: UserOnlineEvent): void => {
    this.update((s) => {
      const conversations = setMemberStatus(s.conversations, event.user_id, 'online');
      return conversations === s.conversations ? s : { ...s, conversations };
    });
  };

  handleUserOffline = (event: UserOfflineEvent): void => {
    this.update((s) => {
      const conversations = setMemberStatus(s.conversations, event.user_id, 'offline', event.last_seen);
      return conversations === s.conversations ? s : { ...s, conversations };
    });
    this.update((s) => {
      let changed = false;
      const typing: ChatState['typing'] = {};
      for (const [id, list] of Object.entries(s.typing)) {
        const kept = list.filter((t) => t.user_id !== event.user_id);
        if (kept.length !== list.length) changed = true;
        typing[Number(id)] = kept;
      }
      return changed ? { ...s, typing } : s;
    });
  };

  handleConversationNew = (conversation: Conversation): void => {
    this.addConversation(conversation);
  };

  handleMemberJoined = (event: MemberChangeEvent): void => {
    this.updateConversation(event.conversation_id, (c) => withMemberJoined(c, event.user));
  };

  handleMemberLeft = (event: MemberChangeEvent): void => {
    if (event.user.id === this.me.id) {
      // Left here or on another device (once is enough).
      if (!this.left.has(event.conversation_id)) this.forgetConversation(event.conversation_id);
      return;
    }
    this.updateConversation(event.conversation_id, (c) => withMemberLeft(c, event.user.id));
    this.removeTypist(event.conversation_id, event.user.id);
  };

  // ---- connection ----

  setConnectionStatus(connection: ConnectionStatus): void {
    this.update((s) => (s.connection === connection ? s : { ...s, connection }));
  }

  /**
   * The socket is (again) connected: send what waited, fetch what was missed in every open
   * history, and refresh the list (unread counts, previews) after a reconnect.
   */
  async handleConnected(): Promise<void> {
    const reconnect = this.connectedBefore;
    this.connectedBefore = true;
    const work: Promise<unknown>[] = [this.outbox.flush()];
    if (reconnect) work.push(this.loadConversations());
    for (const [id, thread] of Object.entries(this.getState().threads)) {
      if (thread.status === 'ready') work.push(this.catchUp(Number(id)));
    }
    await Promise.all(work);
  }

  /** The socket dropped: typing notices are stale now. */
  handleDisconnected(): void {
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    this.update((s) => (Object.keys(s.typing).length === 0 ? s : { ...s, typing: {} }));
  }

  // ---- receipts ----

  private isViewing(conversationId: number): boolean {
    return this.visible && this.getState().activeConversationId === conversationId;
  }

  /**
   * Tells the server that messages of others reached this device (`message:delivered`), for
   * conversations not on screen: the one on screen is marked read instead, which implies delivery.
   */
  private acknowledgeDelivery(conversationId: number, messages: readonly Message[]): void {
    if (this.isViewing(conversationId)) return;
    const newest = newestFromOthers(messages, this.me.id);
    if (!newest || (this.deliveredSeq.get(conversationId) ?? 0) >= newest.seq) return;
    this.deliveredSeq.set(conversationId, newest.seq);
    this.transport.markDelivered(conversationId, newest.id);
  }

  /** Tells the server the open conversation was read up to its newest message. */
  private markReadIfViewing(conversationId: number): void {
    if (!this.isViewing(conversationId)) return;
    const conversation = this.conversation(conversationId);
    const thread = this.thread(conversationId);
    if (!conversation || conversation.unread_count === 0 || thread.status !== 'ready') return;
    const newest = newestMessage(thread.messages);
    if (!newest) return;
    this.transport.markRead(conversationId, newest.id);
    this.updateConversation(conversationId, (c) => ({ ...c, unread_count: 0 }));
  }
}
