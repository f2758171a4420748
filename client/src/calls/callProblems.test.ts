import { describe, expect, it } from 'vitest';
import { describeCallError, describeEnd, describeEndedAtStart, describeMediaError, isMissingDevice } from './callProblems';
import type { Call } from '../api/types';

const domError = (name: string) => Object.assign(new Error(name), { name });

const ended = (end_reason: Call['end_reason']): Call => ({
  id: 'a'.repeat(32),
  conversation_id: 12,
  caller_id: 1,
  callee_id: 2,
  media: 'audio',
  state: 'ended',
  started_at: '2030-01-01T00:00:00Z',
  answered_at: null,
  ended_at: '2030-01-01T00:00:00Z',
  end_reason,
  duration_ms: 0,
});

describe('describeMediaError', () => {
  it('explains a refusal, naming the devices the call needs', () => {
    expect(describeMediaError(domError('NotAllowedError'), 'video')).toMatch(/^Access to the camera and microphone was denied\./);
    expect(describeMediaError(domError('NotAllowedError'), 'audio')).toMatch(/^Access to the microphone was denied\./);
  });

  it('says which device is missing; a video call may go on as a voice call', () => {
    expect(describeMediaError(domError('NotFoundError'), 'video')).toBe('No camera was found. You can make a voice call instead.');
    expect(describeMediaError(domError('OverconstrainedError'), 'video')).toMatch(/^No camera/);
    expect(describeMediaError(domError('NotFoundError'), 'audio')).toBe('No microphone was found.');
    expect(isMissingDevice(domError('NotFoundError'))).toBe(true);
    expect(isMissingDevice(domError('NotAllowedError'))).toBe(false);
  });

  it('has a sentence for busy devices and anything else', () => {
    expect(describeMediaError(domError('NotReadableError'), 'audio')).toMatch(/another app/);
    expect(describeMediaError(new Error('boom'), 'audio')).toBe('The microphone could not be used.');
    expect(describeMediaError(undefined, 'video')).toBe('The camera and microphone could not be used.');
  });
});

describe('describeCallError', () => {
  it('maps acknowledgement codes to sentences', () => {
    expect(describeCallError('already_in_call', 'Bob')).toBe('You are already in a call. End it first.');
    expect(describeCallError('blocked', 'Bob')).toBe('You cannot call Bob.');
    expect(describeCallError('rate_limited', 'Bob')).toMatch(/Too many attempts/);
    expect(describeCallError('unprocessable', 'Bob')).toMatch(/direct chats/);
    expect(describeCallError('call_not_ringing', 'Bob')).toBe('The call has already ended.');
    expect(describeCallError('disconnected', 'Bob')).toMatch(/^Not connected/);
  });

  it('falls back to the server\'s words for an unknown code', () => {
    expect(describeCallError('weird', 'Bob', 'It broke')).toBe('The call did not go through: It broke');
    expect(describeCallError('weird', 'Bob')).toBe('The call did not go through.');
  });
});

describe('describeEndedAtStart', () => {
  it('tells a busy callee from one without a live socket', () => {
    expect(describeEndedAtStart(ended('busy'), 'Bob')).toEqual({ kind: 'info', message: 'Bob is in another call.' });
    expect(describeEndedAtStart(ended('missed'), 'Bob')).toEqual({ kind: 'info', message: 'Bob is offline.' });
    expect(describeEndedAtStart(ended('failed'), 'Bob').kind).toBe('error');
  });
});

describe('describeEnd', () => {
  const ringingCaller = { role: 'caller' as const, answered: false };
  it('tells the caller how an unanswered call ended', () => {
    expect(describeEnd('declined', ringingCaller, 'Bob')?.message).toBe('Bob declined the call.');
    expect(describeEnd('missed', ringingCaller, 'Bob')?.message).toBe('Bob did not answer.');
    expect(describeEnd('busy', ringingCaller, 'Bob')?.message).toBe('Bob is in another call.');
  });

  it('says nothing of an ordinary hang-up or of a call the callee let ring', () => {
    expect(describeEnd('hangup', { role: 'caller', answered: true }, 'Bob')).toBeNull();
    expect(describeEnd('hangup', { role: 'callee', answered: true }, 'Bob')).toBeNull();
    expect(describeEnd('missed', { role: 'callee', answered: false }, 'Bob')).toBeNull();
  });

  it('reports a lost connection as an error', () => {
    expect(describeEnd('failed', { role: 'callee', answered: true }, 'Bob')).toEqual({
      kind: 'error',
      message: 'The connection was lost and the call ended.',
    });
    expect(describeEnd('failed', ringingCaller, 'Bob')?.kind).toBe('error');
  });
});
