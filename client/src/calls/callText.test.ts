import { describe, expect, it } from 'vitest';
import { callMessageText, formatCallDuration, isMissedBy } from './callText';
import type { CallSummary } from '../api/types';

const CALLER = 1;
const CALLEE = 2;
const summary = (overrides: Partial<CallSummary> = {}): CallSummary => ({
  call_id: 'c'.repeat(32),
  media: 'audio',
  reason: 'hangup',
  duration_ms: 0,
  caller_id: CALLER,
  callee_id: CALLEE,
  ...overrides,
});

describe('formatCallDuration', () => {
  it('reads m:ss under an hour, h:mm:ss beyond, rounded down', () => {
    expect(formatCallDuration(0)).toBe('0:00');
    expect(formatCallDuration(7_999)).toBe('0:07');
    expect(formatCallDuration(192_000)).toBe('3:12');
    expect(formatCallDuration(3_599_999)).toBe('59:59');
    expect(formatCallDuration(3_725_000)).toBe('1:02:05');
  });

  it('treats nonsense as zero', () => {
    expect(formatCallDuration(-5)).toBe('0:00');
    expect(formatCallDuration(Number.NaN)).toBe('0:00');
  });
});

describe('callMessageText', () => {
  it('gives an answered call its kind and length, for both sides', () => {
    const call = summary({ media: 'video', duration_ms: 192_000 });
    expect(callMessageText(call, CALLER)).toBe('Video call, 3:12');
    expect(callMessageText(call, CALLEE)).toBe('Video call, 3:12');
    expect(callMessageText(summary({ duration_ms: 3_725_000 }), CALLEE)).toBe('Voice call, 1:02:05');
  });

  it('says missed to the person called and no answer to the caller', () => {
    expect(callMessageText(summary({ reason: 'missed' }), CALLEE)).toBe('Missed voice call');
    expect(callMessageText(summary({ reason: 'missed', media: 'video' }), CALLEE)).toBe('Missed video call');
    expect(callMessageText(summary({ reason: 'missed' }), CALLER)).toBe('Voice call, no answer');
  });

  it('words declined, busy and failed calls like the server', () => {
    expect(callMessageText(summary({ reason: 'declined' }), CALLER)).toBe('Declined voice call');
    expect(callMessageText(summary({ reason: 'declined', media: 'video' }), CALLEE)).toBe('Declined video call');
    expect(callMessageText(summary({ reason: 'busy' }), CALLER)).toBe('Voice call, busy');
    expect(callMessageText(summary({ reason: 'failed', media: 'video' }), CALLEE)).toBe('Video call failed');
  });

  it('knows who missed a call', () => {
    expect(isMissedBy(summary({ reason: 'missed' }), CALLEE)).toBe(true);
    expect(isMissedBy(summary({ reason: 'missed' }), CALLER)).toBe(false);
    expect(isMissedBy(summary({ reason: 'hangup' }), CALLEE)).toBe(false);
  });
});
