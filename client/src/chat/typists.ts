// Who else is typing, per conversation: added on `typing:start`, removed on `typing:stop`, on
// their message, when they leave or go offline, and after a silence (the stop may be lost).

import type { TypingEvent } from '../api/types';
import type { ChatState, ChatStateStore } from './chatState';

export class Typists {
  private readonly state: ChatStateStore;
  private readonly me: { id: number };
  /** Forget a typist not heard of for this long. */
  private readonly timeoutMs: number;
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(state: ChatStateStore, me: { id: number }, timeoutMs: number) {
    this.state = state;
    this.me = me;
    this.timeoutMs = timeoutMs;
  }

  /** Someone started (or goes on) typing. */
  start(event: TypingEvent): void {
    if (event.user_id === this.me.id) return;
    const key = timerKey(event.conversation_id, event.user_id);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    this.timers.set(
      key,
      setTimeout(() => this.remove(event.conversation_id, event.user_id), this.timeoutMs),
    );
    this.state.update((s) => {
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
  }

  /** Someone is no longer typing in one conversation. */
  remove(conversationId: number, userId: number): void {
    const key = timerKey(conversationId, userId);
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
    this.state.update((s) => {
      const list = s.typing[conversationId];
      if (!list?.some((t) => t.user_id === userId)) return s;
      return { ...s, typing: { ...s.typing, [conversationId]: list.filter((t) => t.user_id !== userId) } };
    });
  }

  /** Someone went offline: they type nowhere. */
  removeEverywhere(userId: number): void {
    this.state.update((s) => {
      let changed = false;
      const typing: ChatState['typing'] = {};
      for (const [id, list] of Object.entries(s.typing)) {
        const kept = list.filter((t) => t.user_id !== userId);
        if (kept.length !== list.length) changed = true;
        typing[Number(id)] = kept;
      }
      return changed ? { ...s, typing } : s;
    });
  }

  /** Stops the timers of a conversation the user left (its state goes with the conversation). */
  forgetConversation(conversationId: number): void {
    const prefix = `${conversationId}:`;
    for (const [key, timer] of this.timers) {
      if (key.startsWith(prefix)) {
        clearTimeout(timer);
        this.timers.delete(key);
      }
    }
  }

  /** The socket dropped: every typing notice is stale. */
  clear(): void {
    this.stopTimers();
    this.state.update((s) => (Object.keys(s.typing).length === 0 ? s : { ...s, typing: {} }));
  }

  stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

function timerKey(conversationId: number, userId: number): string {
  return `${conversationId}:${userId}`;
}
