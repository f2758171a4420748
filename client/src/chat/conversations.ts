// Helpers for the conversation list: names, presence, previews and ordering by activity.

import type { Conversation, Message, User, UserStatus } from '../api/types';
import { callMessageText } from '../calls/callText';
import { displayName } from './names';

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
    const peer = directPeer(conversation, meId);
    return (peer ? displayName(peer) : null) ?? conversation.name ?? 'Direct chat';
  }
  return conversation.name?.trim() || otherMembers(conversation, meId).map((m) => displayName(m)).join(', ') || 'Group';
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

/** One page of `GET /api/conversations`; older servers send the whole list without the cursor. */
export interface ConversationListPage {
  conversations: Conversation[];
  has_more?: boolean;
  next_before?: string | null;
}

/** Pages one user may have at most; stops a server that keeps answering the same cursor. */
const MAX_PAGES = 1_000;

/**
 * Reads every page of the conversation list in order and returns the conversations once each
 * (a conversation that moved between two requests is kept where it was first seen).
 */
export async function collectPages(
  fetchPage: (before: string | undefined) => Promise<ConversationListPage>,
): Promise<Conversation[]> {
  const seen = new Set<number>();
  const all: Conversation[] = [];
  let before: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await fetchPage(before);
    for (const conversation of answer.conversations) {
      if (seen.has(conversation.id)) continue;
      seen.add(conversation.id);
      all.push(conversation);
    }
    const next = answer.next_before ?? undefined;
    if (!next || next === before || answer.conversations.length === 0) break;
    before = next;
  }
  return all;
}

/** The real number of members (the embedded list holds at most 50). */
export function memberCount(conversation: Conversation): number {
  return Math.max(conversation.member_count ?? 0, conversation.members.length);
}

/** "1 online": a group's members with a live socket (`online_count`, the user included). */
export function onlineCountLabel(count: number): string {
  return `${count} online`;
}

/** A group's header line: "3 members, 1 online" (the user not counted as online). */
export function memberSummary(conversation: Conversation, meId: number): string {
  const count = memberCount(conversation);
  const online = conversation.members.filter((m) => m.id !== meId && m.status === 'online').length;
  return `${count} member${count === 1 ? '' : 's'}${online > 0 ? `, ${online} online` : ''}`;
}

/** `conversation:member_joined`: adds the user once, counting them once. */
export function withMemberJoined(conversation: Conversation, user: User): Conversation {
  const index = conversation.members.findIndex((m) => m.id === user.id);
  if (index >= 0) {
    // Known already (the add or join answer came first): only refresh the user's details.
    const known = conversation.members[index]!;
    if (known.status === user.status && known.last_seen === user.last_seen && known.username === user.username &&
      (known.display_name ?? null) === (user.display_name ?? null) && known.avatar_url === user.avatar_url) {
      return conversation;
    }
    const members = [...conversation.members];
    members[index] = { ...known, ...user };
    return { ...conversation, members };
  }
  return { ...conversation, members: [...conversation.members, user], member_count: memberCount(conversation) + 1 };
}

/** `conversation:member_left`: removes the user; counts them out once. */
export function withMemberLeft(conversation: Conversation, userId: number): Conversation {
  const listed = conversation.members.some((m) => m.id === userId);
  const count = memberCount(conversation);
  // A member beyond the embedded list (of 50) is only counted.
  if (!listed && count <= conversation.members.length) return conversation;
  return {
    ...conversation,
    members: listed ? conversation.members.filter((m) => m.id !== userId) : conversation.members,
    member_count: Math.max(0, count - 1),
  };
}

export function messagePreview(message: Message | null, meId: number): string {
  if (!message) return 'No messages yet';
  const text = message.deleted_at
    ? 'Message deleted'
    : message.message_type === 'image'
      ? 'Photo'
      : message.message_type === 'audio'
        ? 'Voice message'
        : message.message_type === 'file'
          ? `File: ${message.attachment?.name ?? 'attachment'}`
          : message.content.replace(/\s+/g, ' ').trim();
  if (message.message_type === 'system') return text;
  // How the call went, from the reader's side; not "You:" (the caller is the sender).
  if (message.message_type === 'call' && !message.deleted_at) return message.call ? callMessageText(message.call, meId) : text;
  if (message.sender_id === meId) return `You: ${text}`;
  return text;
}
