import { describe, expect, it } from 'vitest';
import type { User } from '../api/types';
import { completeMention, mentionAt, mentionCandidates, splitMentions } from './mentions';

const user = (id: number, username: string): User => ({ id, username, avatar_url: null, status: 'online', last_seen: null });

describe('mentions in the message box', () => {
  it('finds the name being typed after an @ that starts a word', () => {
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('(@al', 4)).toEqual({ start: 1, query: 'al' });
  });

  it('ignores addresses, finished names and text without @', () => {
    expect(mentionAt('mail a@bo', 9)).toBeNull();
    expect(mentionAt('hi @bob and', 11)).toBeNull();
    expect(mentionAt('hello', 5)).toBeNull();
  });

  it('offers members whose name starts with the query first, never the user', () => {
    const members = [user(1, 'me'), user(2, 'robert'), user(3, 'bob'), user(4, 'alice')];
    expect(mentionCandidates(members, 'b', 1).map((m) => m.username)).toEqual(['bob', 'robert']);
    expect(mentionCandidates(members, '', 1).map((m) => m.username)).toEqual(['robert', 'bob', 'alice']);
    expect(mentionCandidates(members, 'me', 1)).toEqual([]);
  });

  it('completes the name and puts the caret after it', () => {
    const text = 'hi @bo, see';
    const query = mentionAt(text, 6);
    expect(query).not.toBeNull();
    const done = completeMention(text, 6, query!, 'bob');
    expect(done.text).toBe('hi @bob, see');
    expect(done.caret).toBe(7);
    expect(completeMention('hi @b there', 5, { start: 3, query: 'b' }, 'bob')).toEqual({ text: 'hi @bob there', caret: 8 });
    expect(completeMention('@a', 2, { start: 0, query: 'a' }, 'alice')).toEqual({ text: '@alice ', caret: 7 });
  });
});

describe('mentions in a message', () => {
  it('marks @names that start a word, not addresses or short ones', () => {
    expect(splitMentions('hi @bob, mail a@bob.com or @al (@carol)')).toEqual([
      { text: 'hi ', mention: false },
      { text: '@bob', mention: true },
      { text: ', mail a@bob.com or @al (', mention: false },
      { text: '@carol', mention: true },
      { text: ')', mention: false },
    ]);
    expect(splitMentions('@alice')).toEqual([{ text: '@alice', mention: true }]);
    expect(splitMentions('no names')).toEqual([{ text: 'no names', mention: false }]);
  });
});

describe('mention candidates by display name', () => {
  it('matches the display name as well as the username', () => {
    const members = [
      { id: 1, username: 'me', avatar_url: null, status: 'online' as const, last_seen: null },
      { id: 2, username: 'rb42', display_name: 'Robert', avatar_url: null, status: 'online' as const, last_seen: null },
      { id: 3, username: 'rob', avatar_url: null, status: 'online' as const, last_seen: null },
    ];
    expect(mentionCandidates(members, 'rob', 1).map((m) => m.id)).toEqual([2, 3]);
    expect(mentionCandidates(members, 'bert', 1).map((m) => m.id)).toEqual([2]);
  });
});
