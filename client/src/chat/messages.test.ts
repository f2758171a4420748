import { describe, expect, it } from 'vitest';
import { message, messages } from '../test/fixtures';
import { hasSeqGap, highestContiguousSeq, mergeMessages, missingSeqs, tombstone } from './messages';

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

describe('changed messages', () => {
  it('an edit with a higher revision replaces the copy held; an older one does not', () => {
    const held = [message(1, { rev: 1 }), message(2, { rev: 2 })];
    const edited = message(1, { rev: 5, content: 'fixed', edited_at: '2030-01-01T12:01:00.000Z' });
    const merged = mergeMessages(held, [edited]);
    expect(merged.map((m) => m.content)).toEqual(['fixed', 'message 2']);
    expect(mergeMessages(merged, [message(1, { rev: 1 })])).toBe(merged);
  });

  it('a deletion turns the copy held into a tombstone, unless it holds a later state', () => {
    const held = message(3, { rev: 3, file_url: '/uploads/a.png', message_type: 'image' });
    const event = { conversation_id: 10, message_id: held.id, seq: 3, rev: 7, deleted_at: '2030-01-01T12:02:00.000Z' };
    const dead = tombstone(held, event);
    expect(dead).toMatchObject({ content: '', file_url: null, deleted_at: event.deleted_at, rev: 7, seq: 3 });
    expect(tombstone(dead, { ...event, rev: 6 })).toBe(dead);
  });

  it('a reply seen for the first time counts on the parent held; seeing it again or with a fresh parent does not', () => {
    const parent = message(1, { rev: 1, reply_count: 0 });
    const quote = { id: parent.id, seq: 1, sender_id: parent.sender_id, username: 'alice', content: 'message 1', message_type: 'text' as const, deleted: false };
    const reply = message(2, { rev: 2, reply_to: quote });
    let held = mergeMessages([parent], [reply]);
    expect(held[0].reply_count).toBe(1);
    held = mergeMessages(held, [reply]);
    expect(held[0].reply_count).toBe(1);
    // A page that holds the parent as read after the reply already counts it.
    const fresh = mergeMessages([], [{ ...parent, reply_count: 1 }, reply]);
    expect(fresh[0].reply_count).toBe(1);
    // The same revision of the parent read later carries the later count.
    const later = mergeMessages([parent], [{ ...parent, reply_count: 3 }]);
    expect(later[0].reply_count).toBe(3);
  });
});
