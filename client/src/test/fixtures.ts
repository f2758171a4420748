// Builders for wire objects used by the unit tests.

import type { Conversation, Message, User } from '../api/types';

export const ME = { id: 1, username: 'alice' };
export const BOB: User = { id: 2, username: 'bob', avatar_url: null, status: 'online', last_seen: null };
export const ALICE: User = { ...ME, avatar_url: null, status: 'online', last_seen: null };

export function message(seq: number, overrides: Partial<Message> = {}): Message {
  const conversation_id = overrides.conversation_id ?? 10;
  const sender_id = overrides.sender_id ?? BOB.id;
  return {
    id: conversation_id * 1000 + seq,
    conversation_id,
    seq,
    sender_id,
    sender: { id: sender_id, username: sender_id === ME.id ? ME.username : 'bob', avatar_url: null },
    content: `message ${seq}`,
    message_type: 'text',
    file_url: null,
    client_id: null,
    created_at: new Date(Date.UTC(2030, 0, 1, 12, 0, seq)).toISOString(),
    ...overrides,
  };
}

export function messages(from: number, to: number, overrides: Partial<Message> = {}): Message[] {
  const list: Message[] = [];
  for (let seq = from; seq <= to; seq++) list.push(message(seq, overrides));
  return list;
}

export function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 10,
    type: 'direct',
    name: null,
    created_by: ME.id,
    created_at: '2030-01-01T00:00:00Z',
    members: [ALICE, BOB],
    last_message: null,
    unread_count: 0,
    ...overrides,
  };
}

/** Lets pending promise callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** An unsigned JWT carrying `claims` (the client reads claims, it never checks signatures). */
export function jwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  return `${encode({ typ: 'JWT', alg: 'HS256' })}.${encode(claims)}.signature`;
}
