// Helpers for the conversation list: names, presence, previews and ordering by activity.

import type { Conversation, Message, User, UserStatus } from '../api/types';

export function otherMembers(conversation: Conversation, meId: number): User[] {
  return conversation.members.filter((m) => m.id !== meId);
}

/** The other user of a direct conversation. */
export function directPeer(conversation: Conversation, meId: number): User | undefined {
  if (conversation.type !== 'direct') return undefined;
  return otherMembers(conversation, meId)[0];
}

export function conversationTitle(conversation: Conversation, meId: number): string {
  if (conversation.type === 'direct') {
    return directPeer(conversation, meId)?.username ?? conversation.name ?? 'Direct chat';
  }
  return conversation.name?.trim() || otherMembers(conversation, meId).map((m) => m.username).join(', ') || 'Group';
}

/** When the conversation last saw activity, in milliseconds since the epoch. */
export function activityTime(conversation: Conversation): number {
  const at = Date.parse(conversation.last_message?.created_at ?? conversation.created_at);
  return Number.isNaN(at) ? 0 : at;
}

/** Newest activity first; ties broken by id, newest first. */
export function sortByActivity(conversations: readonly Conversation[]): Conversation[] {
  return [...conversations].sort((a, b) => activityTime(b) - activityTime(a) || b.id - a.id);
}

/** Inserts or replaces a conversation, keeping fields the new copy leaves out. */
export function upsertConversation(
  conversations: readonly Conversation[],
  incoming: Conversation,
): Conversation[] {
  const existing = conversations.find((c) => c.id === incoming.id);
  const merged: Conversation = existing
    ? {
        ...existing,
        ...incoming,
        members: incoming.members.length > 0 ? incoming.members : existing.members,
        last_message: newer(existing.last_message, incoming.last_message),
      }
    : incoming;
  return sortByActivity([...conversations.filter((c) => c.id !== incoming.id), merged]);
}

function newer(a: Message | null, b: Message | null): Message | null {
  if (!a) return b;
  if (!b) return a;
  return b.seq >= a.seq ? b : a;
}

export function setMemberStatus(
  conversations: readonly Conversation[],
  userId: number,
  status: UserStatus,
  lastSeen?: string,
): Conversation[] {
  let changed = false;
  const next = conversations.map((conversation) => {
    if (!conversation.members.some((m) => m.id === userId)) return conversation;
    changed = true;
    return {
      ...conversation,
      members: conversation.members.map((m) =>
        m.id === userId ? { ...m, status, last_seen: lastSeen ?? m.last_seen } : m,
      ),
    };
  });
  return changed ? next : (conversations as Conversation[]);
}

export function messagePreview(message: Message | null, meId: number): string {
  if (!message) return 'No messages yet';
  const text =
    message.message_type === 'image' ? 'Photo' : message.content.replace(/\s+/g, ' ').trim();
  if (message.message_type === 'system') return text;
  if (message.sender_id === meId) return `You: ${text}`;
  return text;
}
