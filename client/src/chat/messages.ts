// Ordering and merging of a conversation's messages. Messages are numbered by `seq` (1, 2, 3, ...
// without gaps); events can arrive late or twice, so the client keeps them sorted by seq, unique by
// id, and notices when a seq is missing so it can fetch what lies in between.

import type { Message, MessageDeletedEvent, MessageReactionEvent, ReactionOutcome } from '../api/types';

export function compareMessages(a: Message, b: Message): number {
  return a.seq - b.seq || a.id - b.id;
}

/** Whether `incoming` is a later state of the same message than `held` (a higher `rev`). */
export function isNewerRevision(held: Message, incoming: Message): boolean {
  return (incoming.rev ?? 0) > (held.rev ?? 0);
}

/**
 * Adds `incoming` to `existing` (both in any order), keeping one copy per id, sorted by seq; of
 * two copies of a message the one with the higher `rev` (a later edit or the deletion) wins.
 * Returns `existing` itself when nothing changed, so callers can skip an update.
 */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const byId = new Map<number, Message>();
  for (const message of existing) byId.set(message.id, message);
  let changed = false;
  const arrived = new Set<number>();
  const newReplies: number[] = [];
  for (const message of incoming) {
    arrived.add(message.id);
    const held = byId.get(message.id);
    if (!held || isNewerRevision(held, message)) {
      if (!held && message.reply_to) newReplies.push(message.reply_to.id);
      byId.set(message.id, message);
      changed = true;
    } else if ((message.reply_count ?? 0) > (held.reply_count ?? 0)) {
      // Same state, read later: replies do not change the parent's revision.
      byId.set(message.id, { ...held, reply_count: message.reply_count });
      changed = true;
    }
  }
  // A parent held from before counts a reply it has not seen yet (a copy that came with this
  // merge already counts it).
  for (const parentId of newReplies) {
    const parent = byId.get(parentId);
    if (parent && !arrived.has(parentId)) {
      byId.set(parentId, { ...parent, reply_count: (parent.reply_count ?? 0) + 1 });
      changed = true;
    }
  }
  if (!changed) return existing as Message[];
  return [...byId.values()].sort(compareMessages);
}

/** The tombstone `message:deleted` makes of a held message (unless it holds a later state). */
export function tombstone(held: Message, event: MessageDeletedEvent): Message {
  if ((held.rev ?? 0) >= event.rev) return held;
  return { ...held, content: '', file_url: null, attachment: null, deleted_at: event.deleted_at, rev: event.rev };
}

/**
 * The highest seq reachable from `floorSeq` without a gap: the seq up to which the client holds
 * every message. `floorSeq` is the seq just below the oldest message known to be contiguous
 * (0 when the history was loaded from the very start).
 */
export function highestContiguousSeq(sorted: readonly Message[], floorSeq: number): number {
  let top = floorSeq;
  for (const message of sorted) {
    if (message.seq <= top) continue;
    if (message.seq === top + 1) top = message.seq;
    else break;
  }
  return top;
}

/** Whether some message is held beyond a missing seq. */
export function hasSeqGap(sorted: readonly Message[], floorSeq: number): boolean {
  const last = sorted[sorted.length - 1];
  return last !== undefined && last.seq > highestContiguousSeq(sorted, floorSeq);
}

/** The seqs missing between `floorSeq` and the newest message held. */
export function missingSeqs(sorted: readonly Message[], floorSeq: number): number[] {
  const held = new Set(sorted.map((m) => m.seq));
  const last = sorted[sorted.length - 1];
  const missing: number[] = [];
  if (!last) return missing;
  for (let seq = floorSeq + 1; seq < last.seq; seq++) if (!held.has(seq)) missing.push(seq);
  return missing;
}

export function newestMessage(sorted: readonly Message[]): Message | undefined {
  return sorted[sorted.length - 1];
}

/** A held message with the reaction change of `message:reaction` (unless it holds a later state). */
export function withReaction(held: Message, event: MessageReactionEvent, meId: number): Message {
  if ((held.rev ?? 0) >= event.rev) return held;
  const reactions = (held.reactions ?? []).map((r) => (r.emoji === event.emoji ? { ...r, count: event.count } : r));
  if (!reactions.some((r) => r.emoji === event.emoji) && event.count > 0) reactions.push({ emoji: event.emoji, count: event.count });
  const mine = held.my_reactions ?? [];
  const my_reactions =
    event.user_id !== meId
      ? held.my_reactions
      : event.action === 'add'
        ? [...mine.filter((e) => e !== event.emoji), event.emoji]
        : mine.filter((e) => e !== event.emoji);
  return { ...held, rev: event.rev, reactions: reactions.filter((r) => r.count > 0), my_reactions };
}

/** A held message with the state a reaction ack reports (unless it holds a later state). */
export function withReactionOutcome(held: Message, outcome: ReactionOutcome): Message {
  if ((held.rev ?? 0) > outcome.rev) return held;
  return { ...held, rev: outcome.rev, reactions: outcome.reactions, my_reactions: outcome.my_reactions };
}
