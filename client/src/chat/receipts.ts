// Delivery and read receipts. A receipt names a message; it covers that message and every message
// of the same conversation with a lower or equal seq. The client keeps, per conversation and
// member, the furthest receipt of each kind, and shows on its own messages one tick (stored), two
// ticks (delivered to another member) or two highlighted ticks (read by another member). Reading
// implies delivery.

import type { Message } from '../api/types';

export interface ReceiptPointer {
  message_id: number;
  /** The seq of `message_id`, when the client holds that message; else resolved later. */
  seq: number | null;
}

/** Per member (user id): the furthest receipt. */
export type MemberPointers = Record<number, ReceiptPointer>;

export type ReceiptState = 'sent' | 'delivered' | 'read';

/** The seq of message `id` among `messages` (any order). */
export function seqOf(id: number, messages: readonly (Message | null | undefined)[]): number | null {
  for (const message of messages) if (message && message.id === id) return message.seq;
  return null;
}

/** Whether `next` moves a member's pointer past `current`: by seq when both are known, else by id. */
export function isAhead(next: ReceiptPointer, current: ReceiptPointer | undefined): boolean {
  if (!current) return true;
  if (next.seq !== null && current.seq !== null) return next.seq > current.seq;
  return next.message_id > current.message_id;
}

/** Records `pointer` for `userId` unless an equal or further one is held; returns `pointers` if unchanged. */
export function advancePointer(
  pointers: MemberPointers | undefined,
  userId: number,
  pointer: ReceiptPointer,
): MemberPointers {
  const current = pointers?.[userId];
  if (current && !isAhead(pointer, current)) {
    // Same message, now with a known seq: keep the better copy.
    if (current.message_id === pointer.message_id && current.seq === null && pointer.seq !== null) {
      return { ...pointers, [userId]: pointer };
    }
    return pointers!;
  }
  return { ...(pointers ?? {}), [userId]: pointer };
}

/**
 * Whether `pointer` covers `message`. Without a known seq for the pointer (its message is not
 * held), message ids stand in: they grow with seq within a conversation.
 */
export function covers(pointer: ReceiptPointer, message: Message, seqById?: ReadonlyMap<number, number>): boolean {
  const seq = pointer.seq ?? seqById?.get(pointer.message_id) ?? null;
  return seq !== null ? message.seq <= seq : message.id <= pointer.message_id;
}

/** What the ticks of one of the user's own messages show. */
export function receiptState(
  message: Message,
  meId: number,
  read: MemberPointers | undefined,
  delivered: MemberPointers | undefined,
  seqById?: ReadonlyMap<number, number>,
): ReceiptState {
  const coveredBySomeoneElse = (pointers: MemberPointers | undefined) =>
    pointers !== undefined &&
    Object.entries(pointers).some(([userId, pointer]) => Number(userId) !== meId && covers(pointer, message, seqById));
  if (coveredBySomeoneElse(read)) return 'read';
  if (coveredBySomeoneElse(delivered)) return 'delivered';
  return 'sent';
}

export function seqIndex(messages: readonly Message[]): Map<number, number> {
  return new Map(messages.map((m) => [m.id, m.seq]));
}

export const RECEIPT_LABEL: Record<ReceiptState, string> = {
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
};

/**
 * The newest message (by seq) that another member sent, among `messages`: the one to acknowledge
 * with a single receipt (it covers the others).
 */
export function newestFromOthers(messages: readonly Message[], meId: number): Message | undefined {
  let newest: Message | undefined;
  for (const message of messages) {
    if (message.sender_id === meId) continue;
    if (!newest || message.seq > newest.seq) newest = message;
  }
  return newest;
}
