import { describe, expect, it } from 'vitest';
import { ME, message } from '../test/fixtures';
import { advancePointer, covers, isAhead, newestFromOthers, receiptState, seqIndex, seqOf } from './receipts';

const BOB = 2;
const CAROL = 3;

describe('receipts', () => {
  it('covers every message up to the receipt by seq', () => {
    const pointer = { message_id: message(3).id, seq: 3 };
    expect(covers(pointer, message(2))).toBe(true);
    expect(covers(pointer, message(3))).toBe(true);
    expect(covers(pointer, message(4))).toBe(false);
  });

  it('orders by seq, not by id, when the seq is known', () => {
    // Ids need not follow seq: message seq 5 got a lower id than seq 4.
    const early = message(4, { id: 900 });
    const late = message(5, { id: 800 });
    const pointer = { message_id: late.id, seq: null };
    const index = seqIndex([early, late]);
    expect(covers(pointer, early, index)).toBe(true);
    expect(covers({ message_id: early.id, seq: 4 }, late)).toBe(false);
  });

  it('falls back to ids for a receipt about a message not held', () => {
    const pointer = { message_id: message(3).id, seq: null };
    expect(covers(pointer, message(2))).toBe(true);
    expect(covers(pointer, message(4))).toBe(false);
  });

  it('keeps the furthest pointer per member', () => {
    let pointers = advancePointer(undefined, BOB, { message_id: 10, seq: 2 });
    pointers = advancePointer(pointers, BOB, { message_id: 12, seq: 4 });
    const same = advancePointer(pointers, BOB, { message_id: 11, seq: 3 });
    expect(same).toBe(pointers);
    expect(pointers[BOB]).toEqual({ message_id: 12, seq: 4 });
    expect(isAhead({ message_id: 5, seq: null }, { message_id: 4, seq: 9 })).toBe(true);
    // A seq learned later for the same message replaces the unresolved copy.
    const unresolved = advancePointer(undefined, CAROL, { message_id: 20, seq: null });
    expect(advancePointer(unresolved, CAROL, { message_id: 20, seq: 7 })[CAROL]).toEqual({ message_id: 20, seq: 7 });
  });

  it('shows one tick when stored, two when delivered, highlighted when read by another member', () => {
    const own = message(3, { sender_id: ME.id });
    expect(receiptState(own, ME.id, undefined, undefined)).toBe('sent');
    // The user's own receipts (other devices) do not count.
    expect(receiptState(own, ME.id, { [ME.id]: { message_id: own.id, seq: 3 } }, undefined)).toBe('sent');
    expect(receiptState(own, ME.id, undefined, { [BOB]: { message_id: message(2).id, seq: 2 } })).toBe('sent');
    expect(receiptState(own, ME.id, undefined, { [BOB]: { message_id: message(3).id, seq: 3 } })).toBe('delivered');
    const read = { [CAROL]: { message_id: message(5).id, seq: 5 } };
    expect(receiptState(own, ME.id, read, undefined)).toBe('read');
    // Reading implies delivery; a later delivery does not hide a read.
    expect(receiptState(own, ME.id, read, { [BOB]: { message_id: message(9).id, seq: 9 } })).toBe('read');
  });

  it('finds the seq of a message and the newest message from others', () => {
    const list = [message(1), message(2, { sender_id: ME.id }), message(3), message(4, { sender_id: ME.id })];
    expect(seqOf(list[2]!.id, list)).toBe(3);
    expect(seqOf(1, [null, undefined])).toBeNull();
    expect(newestFromOthers(list, ME.id)?.seq).toBe(3);
    expect(newestFromOthers([list[1]!], ME.id)).toBeUndefined();
  });
});
