// @-mentions in the message box: the name being typed at the caret, the members it may name, and
// the text once one is picked. The server reads `@username` (3 to 32 username characters after an
// `@` that starts a word) when the message is sent; the client only helps to type it.

import type { User } from '../api/types';

/** The `@name` being typed: where its `@` is and what follows it up to the caret. */
export interface MentionQuery {
  start: number;
  query: string;
}

const NAME_CHAR = /[A-Za-z0-9_]/;

/** The mention being typed when the caret is at `caret`, or null. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  let i = caret;
  while (i > 0 && NAME_CHAR.test(text[i - 1])) i--;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  // An `@` inside a word (an address such as a@b) is no mention.
  if (at > 0 && !/\s|[([{"']/.test(text[at - 1])) return null;
  const query = text.slice(i, caret);
  if (query.length > 32) return null;
  return { start: at, query };
}

/** Members whose username or display name starts with (then contains) `query`, the user left out, at most `limit`. */
export function mentionCandidates(members: readonly User[], query: string, meId: number, limit = 6): User[] {
  const q = query.toLowerCase();
  const others = members.filter((m) => m.id !== meId);
  // The username or the display name: people know each other by either.
  const names = (m: User) => [m.username.toLowerCase(), (m.display_name ?? '').toLowerCase()];
  const starts = others.filter((m) => names(m).some((n) => n.startsWith(q)));
  const contains = others.filter((m) => !starts.includes(m) && names(m).some((n) => n.includes(q)));
  return [...starts, ...contains].slice(0, limit);
}

/** The text with the mention at `query` completed to `@username`, and where the caret goes (after
 * the name and the space that follows it). */
export function completeMention(
  text: string,
  caret: number,
  query: MentionQuery,
  username: string,
): { text: string; caret: number } {
  const after = text.slice(caret);
  // A space after the name, unless punctuation or a space follows already.
  const space = after === '' || /^[A-Za-z0-9_]/.test(after) ? ' ' : '';
  const inserted = `@${username}${space}`;
  const skip = after.startsWith(' ') ? 1 : 0;
  return { text: text.slice(0, query.start) + inserted + after, caret: query.start + inserted.length + skip };
}

/** `content` cut into plain text and `@name` tokens (an `@` that starts a word, then 3 to 32 name
 * characters), in order. */
export function splitMentions(content: string): { text: string; mention: boolean }[] {
  const parts: { text: string; mention: boolean }[] = [];
  const pattern = /(^|[\s([{"'])(@[A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/g;
  let at = 0;
  for (const match of content.matchAll(pattern)) {
    const start = (match.index ?? 0) + match[1].length;
    if (start > at) parts.push({ text: content.slice(at, start), mention: false });
    parts.push({ text: match[2], mention: true });
    at = start + match[2].length;
  }
  if (at < content.length) parts.push({ text: content.slice(at), mention: false });
  return parts;
}
