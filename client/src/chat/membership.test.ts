import { describe, expect, it } from 'vitest';
import { addMemberFeedback, leaveFailure } from './membership';

describe('membership feedback', () => {
  it('says who was added, and that someone already is a member (409 already_member)', () => {
    expect(addMemberFeedback('carol')).toEqual({ kind: 'success', text: 'carol was added.' });
    expect(
      addMemberFeedback('carol', { message: 'the user is already a member', code: 'already_member', status: 409, fieldErrors: {} }),
    ).toEqual({ kind: 'info', text: 'carol is already a member.' });
    expect(addMemberFeedback('carol', { message: 'boom', code: 'internal_error', fieldErrors: {} })).toEqual({
      kind: 'error',
      text: 'carol was not added: boom',
    });
  });

  it('explains why leaving failed', () => {
    expect(leaveFailure({ message: 'x', code: 'unprocessable', fieldErrors: {} })).toMatch(/direct chat cannot be left/);
    expect(leaveFailure({ message: 'offline', fieldErrors: {} })).toBe('Could not leave: offline');
  });
});
