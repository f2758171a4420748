// What the group screens say after adding a member or leaving.

import type { ProblemDescription } from '../api/errors';

export type Feedback = { kind: 'success' | 'info' | 'error'; text: string };

/** The message after trying to add `username` to a group (`problem`: the failure, if any). */
export function addMemberFeedback(username: string, problem?: ProblemDescription): Feedback {
  if (!problem) return { kind: 'success', text: `${username} was added.` };
  switch (problem.code) {
    case 'already_member':
      return { kind: 'info', text: `${username} is already a member.` };
    case 'not_a_member':
      return { kind: 'error', text: 'You are no longer a member of this conversation.' };
    case 'not_found':
      return { kind: 'error', text: `${username} or this conversation no longer exists.` };
    case 'unprocessable':
      return { kind: 'error', text: 'Members cannot be added to a direct chat.' };
    default:
      return { kind: 'error', text: `${username} was not added: ${problem.message}` };
  }
}

/** The message when leaving failed. */
export function leaveFailure(problem: ProblemDescription): string {
  switch (problem.code) {
    case 'unprocessable':
      return 'A direct chat cannot be left.';
    case 'not_a_member':
      return 'You are not a member of this conversation any more.';
    default:
      return `Could not leave: ${problem.message}`;
  }
}
