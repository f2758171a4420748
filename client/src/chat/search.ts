// Message search results as the client shows them: grouped by conversation (in the order of their
// best result) and each snippet cut into plain and highlighted parts. The server sends plain text
// and offsets, never markup, so nothing it returns is ever rendered as HTML.

import type { Message } from '../api/types';

export interface SearchResult {
  message: Message;
  /** Plain text around the match. */
  snippet: string;
  /** `[start, end)` offsets into `snippet`, in characters (Unicode scalar values). */
  highlights: [number, number][];
}

export interface SearchPage {
  results: SearchResult[];
  has_more: boolean;
}

/** The snippet as parts to show, the highlighted ones marked; bad offsets are ignored. */
export function highlightParts(snippet: string, highlights: readonly [number, number][]): { text: string; mark: boolean }[] {
  const chars = Array.from(snippet);
  const ranges = highlights
    .filter(([start, end]) => Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start)
    .map(([start, end]) => [start, Math.min(end, chars.length)] as const)
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  const parts: { text: string; mark: boolean }[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) parts.push({ text: chars.slice(at, from).join(''), mark: false });
    parts.push({ text: chars.slice(from, end).join(''), mark: true });
    at = end;
  }
  if (at < chars.length) parts.push({ text: chars.slice(at).join(''), mark: false });
  return parts;
}

/** Results grouped by conversation, groups in the order of their first (best) result. */
export function groupByConversation(results: readonly SearchResult[]): { conversationId: number; results: SearchResult[] }[] {
  const groups = new Map<number, SearchResult[]>();
  for (const result of results) {
    const id = result.message.conversation_id;
    const group = groups.get(id);
    if (group) group.push(result);
    else groups.set(id, [result]);
  }
  return [...groups].map(([conversationId, list]) => ({ conversationId, results: list }));
}

/** Whether a query has something to search for (the server refuses punctuation only). */
export function searchable(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}
