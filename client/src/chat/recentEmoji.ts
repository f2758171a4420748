// The emoji the user reacted with lately, newest first, offered first in the reaction picker. Kept
// in the browser's storage, so they survive a reload; a storage that refuses (private mode, full)
// only loses the list.

const KEY = 'chat.recentEmoji';
const KEEP = 8;

/** The picker's emoji beyond the recent ones. */
export const PICKER_EMOJI = [
  '👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '🔥',
  '👏', '😍', '🤔', '👀', '✅', '💯', '😅', '🚀',
];

export interface RecentEmoji {
  list(): string[];
  /** Puts `emoji` first. */
  use(emoji: string): void;
}

/** Recent emoji kept in `storage` (the browser's localStorage by default). */
export function createRecentEmoji(storage: Pick<Storage, 'getItem' | 'setItem'> | undefined = globalThis.localStorage): RecentEmoji {
  let held: string[] | null = null;
  const read = (): string[] => {
    if (held) return held;
    try {
      const parsed: unknown = JSON.parse(storage?.getItem(KEY) ?? '[]');
      held = Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string').slice(0, KEEP) : [];
    } catch {
      held = [];
    }
    return held;
  };
  return {
    list: () => [...read()],
    use(emoji) {
      held = [emoji, ...read().filter((e) => e !== emoji)].slice(0, KEEP);
      try {
        storage?.setItem(KEY, JSON.stringify(held));
      } catch {
        // Kept for this page only.
      }
    },
  };
}

/** The picker's rows: the recent emoji, then the rest of the set without them. */
export function pickerEmoji(recent: readonly string[]): { recent: string[]; more: string[] } {
  return { recent: [...recent], more: PICKER_EMOJI.filter((e) => !recent.includes(e)) };
}

export const recentEmoji: RecentEmoji = createRecentEmoji();
