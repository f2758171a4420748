import { describe, expect, it } from 'vitest';
import { MUTE_CHOICES, isMuted, muteUntil } from './mute';

describe('muting', () => {
  const now = new Date('2030-06-15T18:00:00Z');
  it('a duration mutes until that much later; "until I unmute" never ends', () => {
    expect(muteUntil(MUTE_CHOICES[0], now)).toBe('2030-06-15T19:00:00.000Z');
    expect(muteUntil(MUTE_CHOICES[2], now)).toBe('2030-06-22T18:00:00.000Z');
    expect(isMuted({ muted_until: muteUntil(MUTE_CHOICES[3], now) }, new Date('2999-01-01T00:00:00Z'))).toBe(true);
  });

  it('a mute that ran out, or none, is not muted', () => {
    expect(isMuted({ muted_until: '2030-06-15T17:59:59Z' }, now)).toBe(false);
    expect(isMuted({ muted_until: null }, now)).toBe(false);
    expect(isMuted({}, now)).toBe(false);
  });
});
