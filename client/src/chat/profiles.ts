// `user:updated`: a user changed their display name, bio or avatar. Every copy of them the
// client holds (members, message senders, quotes, the blocked list) takes the new profile
// fields; presence stays as it was (the event shows it only to some receivers).

import type { Conversation, Message, User } from '../api/types';
import type { ChatState, ChatStateStore } from './chatState';

/** The profile fields of a user: what `user:updated` changes. */
type Profile = Pick<User, 'id' | 'username' | 'display_name' | 'bio' | 'avatar_url'>;

function sameProfile(a: Profile, b: Profile): boolean {
  return (
    a.username === b.username &&
    (a.display_name ?? null) === (b.display_name ?? null) &&
    (a.bio ?? null) === (b.bio ?? null) &&
    a.avatar_url === b.avatar_url
  );
}

function withUser(user: User, profile: Profile): User {
  if (user.id !== profile.id || sameProfile(user, profile)) return user;
  return {
    ...user,
    username: profile.username,
    display_name: profile.display_name ?? null,
    bio: profile.bio ?? null,
    avatar_url: profile.avatar_url,
  };
}

function withSender(message: Message, profile: Profile): Message {
  let next = message;
  if (message.sender_id === profile.id) {
    const sender = message.sender;
    if (
      sender.username !== profile.username ||
      (sender.display_name ?? null) !== (profile.display_name ?? null) ||
      sender.avatar_url !== profile.avatar_url
    ) {
      next = {
        ...next,
        sender: { ...sender, username: profile.username, display_name: profile.display_name ?? null, avatar_url: profile.avatar_url },
      };
    }
  }
  const quote = message.reply_to;
  if (quote && quote.sender_id === profile.id && (quote.display_name ?? null) !== (profile.display_name ?? null)) {
    next = { ...next, reply_to: { ...quote, username: profile.username, display_name: profile.display_name ?? null } };
  }
  return next;
}

function mapChanged<T>(items: readonly T[], change: (item: T) => T): T[] | null {
  let changed = false;
  const next = items.map((item) => {
    const updated = change(item);
    if (updated !== item) changed = true;
    return updated;
  });
  return changed ? next : null;
}

function withConversation(conversation: Conversation, profile: Profile): Conversation {
  const members = mapChanged(conversation.members, (m) => withUser(m, profile));
  const last = conversation.last_message ? withSender(conversation.last_message, profile) : null;
  if (!members && last === conversation.last_message) return conversation;
  return { ...conversation, members: members ?? conversation.members, last_message: last };
}

/** The state with every held copy of `profile.id` showing the new profile. */
export function withProfile(state: ChatState, profile: Profile): ChatState {
  const conversations = mapChanged(state.conversations, (c) => withConversation(c, profile));
  let threads = state.threads;
  for (const [id, thread] of Object.entries(state.threads)) {
    const messages = mapChanged(thread.messages, (m) => withSender(m, profile));
    if (messages) threads = { ...threads, [id]: { ...thread, messages } };
  }
  const blocked = mapChanged(state.blocks.users, (u) => withUser(u, profile));
  if (!conversations && threads === state.threads && !blocked) return state;
  return {
    ...state,
    conversations: conversations ?? state.conversations,
    threads,
    blocks: blocked ? { ...state.blocks, users: blocked } : state.blocks,
  };
}

/** Applies every `user:updated` to the state, then tells the listeners. */
export class ProfileUpdates {
  private readonly state: ChatStateStore;
  private readonly listeners = new Set<(user: User) => void>();

  constructor(state: ChatStateStore) {
    this.state = state;
  }

  handle(user: User): void {
    this.state.update((s) => withProfile(s, user));
    for (const listener of this.listeners) listener(user);
  }

  /** Calls `listener` with every `user:updated` until the returned function is called. */
  subscribe(listener: (user: User) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
