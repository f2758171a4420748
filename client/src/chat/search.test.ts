import { describe, expect, it } from 'vitest';
import { message } from '../test/fixtures';
import { groupByConversation, highlightParts, searchable } from './search';

describe('search results', () => {
  it('cuts a snippet into plain and highlighted parts by character offsets', () => {
    expect(highlightParts('lunch at noon today', [[9, 13]])).toEqual([
      { text: 'lunch at ', mark: false },
      { text: 'noon', mark: true },
      { text: ' today', mark: false },
    ]);
    // Offsets count characters, not UTF-16 units: the emoji is one.
    expect(highlightParts('🎉 café crème', [[2, 6], [7, 12]])).toEqual([
      { text: '🎉 ', mark: false },
      { text: 'café', mark: true },
      { text: ' ', mark: false },
      { text: 'crème', mark: true },
    ]);
  });

  it('ignores offsets out of range, reversed or overlapping', () => {
    expect(highlightParts('abc def', [[4, 99], [-1, 2], [2, 1], [5, 6]])).toEqual([
      { text: 'abc ', mark: false },
      { text: 'def', mark: true },
    ]);
    expect(highlightParts('<b>x</b>', [])).toEqual([{ text: '<b>x</b>', mark: false }]);
  });

  it('groups results by conversation in the order of their best result', () => {
    const r = (id: number, conversation: number) => ({
      message: message(id, { conversation_id: conversation }),
      snippet: '',
      highlights: [] as [number, number][],
    });
    const groups = groupByConversation([r(1, 20), r(2, 10), r(3, 20)]);
    expect(groups.map((g) => [g.conversationId, g.results.map((x) => x.message.seq)])).toEqual([
      [20, [1, 3]],
      [10, [2]],
    ]);
  });

  it('needs a letter or a digit to search', () => {
    expect(searchable('  ?!  ')).toBe(false);
    expect(searchable('é')).toBe(true);
    expect(searchable('42')).toBe(true);
  });
});
