import { describe, expect, it } from 'vitest';
import type { User } from '../api/types';
import { ALICE, BOB, ME, conversation } from '../test/fixtures';
import { memberCount, memberSummary, withMemberJoined, withMemberLeft } from './conversations';

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
