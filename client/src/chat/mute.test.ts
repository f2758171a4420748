import { describe, expect, it } from 'vitest';
import { MUTE_CHOICES, UNMUTED, hasMentionSetting, isMuted, mentionsStillNotify, muteLabel, muteSettings, muteUntil } from './mute';

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

  describe('mentions', () => {
    const later = '2030-06-15T19:00:00Z';
    it('only groups and rooms have them apart: a muted direct chat notifies nothing', () => {
      expect(hasMentionSetting({ type: 'group' })).toBe(true);
      expect(hasMentionSetting({ type: 'direct' })).toBe(false);
    });

    it('a muted group still notifies its mentions unless they are muted too', () => {
      expect(mentionsStillNotify({ type: 'group', muted_until: later, mute_mentions: false }, now)).toBe(true);
      expect(mentionsStillNotify({ type: 'group', muted_until: later }, now)).toBe(true);
      expect(mentionsStillNotify({ type: 'group', muted_until: later, mute_mentions: true }, now)).toBe(false);
      expect(mentionsStillNotify({ type: 'group', muted_until: null, mute_mentions: false }, now)).toBe(false);
      expect(mentionsStillNotify({ type: 'direct', muted_until: later, mute_mentions: false }, now)).toBe(false);
    });

    it('the list and the header say whether mentions still notify', () => {
      expect(muteLabel({ type: 'group', muted_until: later, mute_mentions: false }, now)).toBe('muted (mentions still notify)');
      expect(muteLabel({ type: 'group', muted_until: later, mute_mentions: true }, now)).toBe('muted');
      expect(muteLabel({ type: 'direct', muted_until: later }, now)).toBe('muted');
      expect(muteLabel({ type: 'group', muted_until: '2030-06-15T17:00:00Z', mute_mentions: true }, now)).toBeNull();
    });

    it('a choice sends mute_mentions for a group only; unmuting sends muted_until alone', () => {
      expect(muteSettings({ type: 'group' }, MUTE_CHOICES[0], true, now)).toEqual({
        muted_until: '2030-06-15T19:00:00.000Z',
        mute_mentions: true,
      });
      expect(muteSettings({ type: 'group' }, MUTE_CHOICES[3], false, now)).toEqual({
        muted_until: '9999-12-31T23:59:59Z',
        mute_mentions: false,
      });
      expect(muteSettings({ type: 'direct' }, MUTE_CHOICES[0], true, now)).toEqual({ muted_until: '2030-06-15T19:00:00.000Z' });
      expect(UNMUTED).toEqual({ muted_until: null });
    });
  });
});
