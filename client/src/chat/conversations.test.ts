import { describe, expect, it } from 'vitest';
import type { User } from '../api/types';
import { ALICE, BOB, ME, conversation, message } from '../test/fixtures';
import { collectPages, memberCount, memberSummary, messagePreview, withMemberJoined, withMemberLeft } from './conversations';

const CAROL: User = { id: 3, username: 'carol', avatar_url: null, status: 'online', last_seen: null };

describe('group members', () => {
  const group = conversation({ id: 20, type: 'group', name: 'Team', members: [ALICE, BOB], member_count: 2 });

  it('summarises the member count and who else is online', () => {
    expect(memberSummary(group, ME.id)).toBe('2 members, 1 online');
    expect(memberSummary({ ...group, members: [ALICE], member_count: 1 }, ME.id)).toBe('1 member');
    // The embedded list holds at most 50: the count is the real number.
    expect(memberCount({ ...group, member_count: 120 })).toBe(120);
    expect(memberCount({ ...group, member_count: undefined })).toBe(2);
  });

  it('adds a joining member once', () => {
    const joined = withMemberJoined(group, CAROL);
    expect(joined.members.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(joined.member_count).toBe(3);
    expect(withMemberJoined(joined, CAROL)).toBe(joined);
    // A known member's details are refreshed without counting them again.
    const refreshed = withMemberJoined(joined, { ...CAROL, status: 'offline' });
    expect(refreshed.member_count).toBe(3);
    expect(refreshed.members[2]?.status).toBe('offline');
  });

  it('removes a leaving member once, also one beyond the embedded list', () => {
    const left = withMemberLeft(group, BOB.id);
    expect(left.members.map((m) => m.id)).toEqual([1]);
    expect(left.member_count).toBe(1);
    expect(withMemberLeft(left, BOB.id)).toBe(left);
    const big = { ...group, member_count: 60 };
    expect(withMemberLeft(big, 77).member_count).toBe(59);
  });
});

describe('the conversation list in pages', () => {
  const list = [30, 29, 28, 27, 26].map((id) => conversation({ id, type: 'group', name: `g${id}` }));

  it('follows next_before until the last page and keeps the order', async () => {
    const asked: (string | undefined)[] = [];
    const pages: Record<string, { ids: number[]; next: string | null }> = {
      first: { ids: [30, 29], next: 'c29' },
      c29: { ids: [28, 27], next: 'c27' },
      c27: { ids: [26], next: null },
    };
    const all = await collectPages(async (before) => {
      asked.push(before);
      const page = pages[before ?? 'first']!;
      return {
        conversations: list.filter((c) => page.ids.includes(c.id)),
        has_more: page.next !== null,
        next_before: page.next,
      };
    });
    expect(asked).toEqual([undefined, 'c29', 'c27']);
    expect(all.map((c) => c.id)).toEqual([30, 29, 28, 27, 26]);
  });

  it('keeps a conversation that moved between two pages once', async () => {
    let call = 0;
    const all = await collectPages(async () => {
      call += 1;
      // A new message moved 28 to the top between the two requests.
      return call === 1
        ? { conversations: [list[0]!, list[1]!], has_more: true, next_before: 'c29' }
        : { conversations: [list[2]!, list[0]!, list[3]!], has_more: false, next_before: null };
    });
    expect(all.map((c) => c.id)).toEqual([30, 29, 28, 27]);
  });

  it('reads an answer without a cursor (an older server) as the whole list', async () => {
    let calls = 0;
    const all = await collectPages(async () => {
      calls += 1;
      return { conversations: list };
    });
    expect(calls).toBe(1);
    expect(all).toHaveLength(5);
  });

  it('stops when the server repeats a cursor', async () => {
    let calls = 0;
    await collectPages(async () => {
      calls += 1;
      return { conversations: [list[calls % 5]!], has_more: true, next_before: 'same' };
    });
    expect(calls).toBe(2);
  });
});

describe('the list preview of the last message', () => {
  it('says who wrote it, "Photo" for images and "Message deleted" for a deleted one', () => {
    expect(messagePreview(message(1, { sender_id: ME.id, content: 'hi  there' }), ME.id)).toBe('You: hi there');
    expect(messagePreview(message(1, { sender_id: BOB.id, message_type: 'image', content: '' }), ME.id)).toBe('Photo');
    expect(messagePreview(message(1, { sender_id: ME.id, content: '', deleted_at: '2030-01-01T12:00:00.000Z' }), ME.id)).toBe(
      'You: Message deleted',
    );
    expect(messagePreview(null, ME.id)).toBe('No messages yet');
    expect(messagePreview(message(1, { sender_id: BOB.id, message_type: 'audio', content: '' }), ME.id)).toBe('Voice message');
    const pdf = { url: '/uploads/a.bin', kind: 'file' as const, mime: 'application/pdf', size: 10, name: 'report.pdf' };
    expect(messagePreview(message(1, { sender_id: ME.id, message_type: 'file', attachment: pdf }), ME.id)).toBe(
      'You: File: report.pdf',
    );
  });

  it('previews a call message from the reader\'s side, without "You:"', () => {
    const call = { call_id: 'c'.repeat(32), media: 'video' as const, reason: 'missed' as const, duration_ms: 0, caller_id: BOB.id, callee_id: ME.id };
    const missed = message(1, { sender_id: BOB.id, message_type: 'call', content: 'Missed video call', call });
    expect(messagePreview(missed, ME.id)).toBe('Missed video call');
    expect(messagePreview(missed, BOB.id)).toBe('Video call, no answer');
    const answered = message(2, { sender_id: ME.id, message_type: 'call', content: 'Voice call, 3:12', call: null });
    expect(messagePreview(answered, ME.id)).toBe('Voice call, 3:12');
  });
});
