import { describe, expect, it } from 'vitest';
import { dayLabel, formatListTime, lastSeenLabel, reactorsLabel, sameDay } from './format';

const now = new Date(2030, 5, 15, 18, 0, 0);
const at = (...args: [number, number, number, number?, number?]) =>
  new Date(args[0], args[1], args[2], args[3] ?? 12, args[4] ?? 0).toISOString();

describe('formatting', () => {
  it('formats list times relative to now', () => {
    expect(formatListTime(at(2030, 5, 15, 9, 5), now)).toBe('09:05');
    expect(formatListTime(at(2030, 5, 14), now)).toBe('Yesterday');
    expect(formatListTime(at(2030, 5, 1), now)).toBe('1 Jun');
    expect(formatListTime(at(2029, 11, 31), now)).toBe('31 Dec 2029');
    expect(formatListTime('not a date', now)).toBe('');
  });

  it('labels days and compares them', () => {
    expect(dayLabel(at(2030, 5, 15), now)).toBe('Today');
    expect(dayLabel(at(2030, 5, 14), now)).toBe('Yesterday');
    expect(sameDay(at(2030, 5, 15, 1), at(2030, 5, 15, 23))).toBe(true);
    expect(sameDay(at(2030, 5, 15), at(2030, 5, 14))).toBe(false);
  });

  it('describes when a user was last seen', () => {
    expect(lastSeenLabel(null, now)).toBe('offline');
    expect(lastSeenLabel(new Date(now.getTime() - 10_000).toISOString(), now)).toBe('last seen just now');
    expect(lastSeenLabel(new Date(now.getTime() - 5 * 60_000).toISOString(), now)).toBe(
      'last seen 5 minutes ago',
    );
  });
});

describe('who reacted', () => {
  const u = (id: number, username: string) => ({ id, username });
  it('names the user first as You, then the others, and counts the rest', () => {
    expect(reactorsLabel([u(2, 'alice'), u(1, 'me')], 2, 1)).toBe('You and alice');
    expect(reactorsLabel([u(2, 'alice'), u(3, 'bob'), u(4, 'carol')], 3, 1)).toBe('alice, bob and carol');
    expect(reactorsLabel([u(2, 'alice')], 1, 1)).toBe('alice');
    expect(reactorsLabel([u(2, 'alice'), u(3, 'bob')], 5, 1)).toBe('alice, bob and 3 others');
    expect(reactorsLabel([u(2, 'alice')], 2, 1)).toBe('alice and 1 other');
  });
});
