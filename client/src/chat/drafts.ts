// Unsent message text per conversation: what the user typed stays while they look at other
// conversations and comes back when they return; sending (or signing out) forgets it.

/** The unsent text of every conversation. */
export interface Drafts {
  /** The text left in a conversation's message box, or `''`. */
  get(conversationId: number): string;
  /** Remembers the message box's text as the user types, exactly as typed. */
  save(conversationId: number, text: string): void;
  /** Forgets one conversation's text once its message went out. */
  discard(conversationId: number): void;
  /** Forgets every conversation's text (on sign-out). */
  clear(): void;
}

/** An empty set of drafts. */
export function createDrafts(): Drafts {
  const texts = new Map<number, string>();
  return {
    get: (conversationId) => texts.get(conversationId) ?? '',
    save(conversationId, text) {
      texts.set(conversationId, text);
    },
    discard(conversationId) {
      texts.delete(conversationId);
    },
    clear() {
      texts.clear();
    },
  };
}

/** The signed-in user's drafts, shared by every message box of the application. */
export const drafts: Drafts = createDrafts();

/** Forgets all unsent text (on sign-out). */
export function clearDrafts(): void {
  drafts.clear();
}
