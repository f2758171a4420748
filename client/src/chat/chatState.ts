// The chat state as the user sees it (conversations, their messages, who is typing, what is
// waiting to be sent, whom the user blocked) and the store holding it, with the updates every
// part of the client shares.

import type { Conversation, Message, User } from '../api/types';
import type { ConnectionStatus } from '../socket/connection';
import { sortByActivity } from './conversations';
import type { OutgoingMessage } from './outbox';
import type { MemberPointers } from './receipts';
import { createStore, type Store } from './store';

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
  /**
   * The revision up to which every change (edit, delete) of the messages held is applied: the
   * conversation's `last_rev` when the newest page was read, then what `after_rev` catch-ups
   * reached. 0 when the server tells none.
   */
  knownRev: number;
  status: LoadStatus;
  loadingOlder: boolean;
  error?: string;
}

/** The users the signed-in user blocked (see `blocks.ts`). */
export interface BlockState {
  /** The latest block first. */
  users: User[];
  status: LoadStatus;
  error?: string;
}

export const noBlocks: BlockState = { users: [], status: 'idle' };

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
  blocks: BlockState;
  /** Per group, its members online (`conversation:online_count`, or the last REST answer). */
  onlineCounts: Record<number, number>;
}

export const emptyThread: Thread = {
  messages: [],
  floorSeq: 0,
  hasOlder: false,
  knownRev: 0,
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
    blocks: noBlocks,
    onlineCounts: {},
  };
}

/** The chat state with its listeners; every change goes through `update` and its narrower forms. */
export class ChatStateStore {
  private readonly store: Store<ChatState> = createStore(initialState());

  getState = (): ChatState => this.store.getState();
  subscribe = (listener: () => void): (() => void) => this.store.subscribe(listener);

  update(change: (state: ChatState) => ChatState): void {
    this.store.setState(change);
  }

  updateThread(id: number, change: (thread: Thread) => Thread): void {
    this.update((s) => {
      const current = s.threads[id] ?? emptyThread;
      const next = change(current);
      return next === current ? s : { ...s, threads: { ...s.threads, [id]: next } };
    });
  }

  /** Changes a listed conversation and keeps the list sorted by activity. */
  updateConversation(id: number, change: (conversation: Conversation) => Conversation): void {
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

  /** Applies `change` to message `id` in its thread and as the list's last message. */
  updateMessage(conversationId: number, id: number, change: (held: Message) => Message): void {
    this.updateThread(conversationId, (t) => {
      const messages = t.messages.map((m) => (m.id === id ? change(m) : m));
      return messages.some((m, i) => m !== t.messages[i]) ? { ...t, messages } : t;
    });
    this.replaceLastMessage(conversationId, id, change);
  }

  /** Applies `change` to the conversation's `last_message` when it is message `id`. */
  replaceLastMessage(conversationId: number, id: number, change: (held: Message) => Message): void {
    const last = this.conversation(conversationId)?.last_message;
    if (!last || last.id !== id) return;
    const next = change(last);
    if (next !== last) this.updateConversation(conversationId, (c) => ({ ...c, last_message: next }));
  }

  conversation(id: number): Conversation | undefined {
    return this.getState().conversations.find((c) => c.id === id);
  }

  thread(id: number): Thread {
    return this.getState().threads[id] ?? emptyThread;
  }
}
