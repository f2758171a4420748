import { describe, expect, it } from 'vitest';
import { message, messages } from '../test/fixtures';
import { hasSeqGap, highestContiguousSeq, mergeMessages, missingSeqs } from './messages';

describe('merging messages', () => {
  it('keeps one copy per id, sorted by seq', () => {
    const held = messages(1, 3);
    const merged = mergeMessages(held, [message(5), message(2), message(4), message(5)]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(merged.map((m) => m.id)).size).toBe(merged.length);
  });

  it('orders events that arrived out of order', () => {
    let held = mergeMessages([], [message(3)]);
    held = mergeMessages(held, [message(1)]);
    held = mergeMessages(held, [message(2)]);
    expect(held.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('returns the same array when nothing is new', () => {
    const held = messages(1, 3);
    expect(mergeMessages(held, [])).toBe(held);
    expect(mergeMessages(held, [message(2), message(3)])).toBe(held);
  });

  it('merges a catch-up page overlapping live events without duplicates', () => {
    const live = [...messages(1, 4), message(7)];
    const catchUp = messages(5, 8);
    const merged = mergeMessages(live, catchUp);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});

describe('seq gaps', () => {
  it('finds the highest seq held without a gap', () => {
    expect(highestContiguousSeq([], 0)).toBe(0);
    expect(highestContiguousSeq(messages(1, 5), 0)).toBe(5);
    expect(highestContiguousSeq([...messages(1, 3), message(5), message(6)], 0)).toBe(3);
  });

  it('counts from the floor when older history is not loaded', () => {
    expect(highestContiguousSeq(messages(51, 100), 50)).toBe(100);
    expect(highestContiguousSeq([...messages(51, 60), message(62)], 50)).toBe(60);
  });

  it('sees a gap before the first message when history starts at the beginning', () => {
    // An empty conversation was loaded, then message 3 arrived: 1 and 2 are missing.
    expect(highestContiguousSeq([message(3)], 0)).toBe(0);
    expect(hasSeqGap([message(3)], 0)).toBe(true);
    expect(missingSeqs([message(3)], 0)).toEqual([1, 2]);
  });

  it('reports gaps only when a later message is held', () => {
    expect(hasSeqGap(messages(1, 5), 0)).toBe(false);
    expect(hasSeqGap([], 0)).toBe(false);
    const held = [...messages(1, 2), message(4), message(7)];
    expect(hasSeqGap(held, 0)).toBe(true);
    expect(missingSeqs(held, 0)).toEqual([3, 5, 6]);
  });
});
