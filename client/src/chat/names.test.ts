import { describe, expect, it } from 'vitest';
import { displayName, fullName, smallAvatar } from './names';

describe('names', () => {
  it('shows the display name when there is one, else the username', () => {
    expect(displayName({ username: 'alice', display_name: 'Alice Martin' })).toBe('Alice Martin');
    expect(displayName({ username: 'alice', display_name: null })).toBe('alice');
    expect(displayName({ username: 'alice', display_name: '   ' })).toBe('alice');
    expect(displayName({ username: 'alice' })).toBe('alice');
    expect(fullName({ username: 'alice', display_name: 'Alice Martin' })).toBe('Alice Martin (@alice)');
    expect(fullName({ username: 'alice' })).toBe('@alice');
  });

  it('finds the 64 px variant of an avatar', () => {
    const hash = 'a'.repeat(64);
    expect(smallAvatar(`/uploads/${hash}.png`)).toBe(`/uploads/${hash}_thumb.png`);
    expect(smallAvatar(null)).toBeNull();
    expect(smallAvatar('https://example.com/x.png')).toBe('https://example.com/x.png');
  });
});
