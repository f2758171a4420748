// What the user is told when a call cannot start, does not go through or ends unexpectedly: pure
// functions from browser errors, acknowledgement codes and ended calls to a sentence.

import type { Call, CallEndReason, CallMedia } from '../api/types';

export interface CallProblem {
  message: string;
  /** `error`: something failed; `info`: how the call went (declined, no answer). */
  kind: 'error' | 'info';
  /** A video call found no camera: offer the same call as a voice call. */
  voiceInstead?: { conversationId: number; peerId: number };
}

const errorName = (error: unknown): string =>
  error && typeof error === 'object' && 'name' in error ? String((error as { name: unknown }).name) : '';

/** Whether getUserMedia failed for want of a device (as opposed to a refusal). */
export function isMissingDevice(error: unknown): boolean {
  return ['NotFoundError', 'OverconstrainedError', 'DevicesNotFoundError'].includes(errorName(error));
}

/** Why the camera or microphone could not be used for a call of `media`. */
export function describeMediaError(error: unknown, media: CallMedia): string {
  const devices = media === 'video' ? 'camera and microphone' : 'microphone';
  switch (errorName(error)) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return `Access to the ${devices} was denied. Allow the ${devices} for this site in your browser's settings to make calls.`;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return media === 'video' ? 'No camera was found. You can make a voice call instead.' : 'No microphone was found.';
    case 'NotReadableError':
    case 'TrackStartError':
      return `The ${devices} could not be started: another app may be using it.`;
    case 'AbortError':
      return `The ${devices} could not be started.`;
    case 'TypeError':
      return 'This browser cannot make calls here (calls need a secure connection, HTTPS).';
    default:
      return `The ${devices} could not be used.`;
  }
}

/** A refused call event (`call:start`, `call:accept`, ...) as a sentence about `peer`. */
export function describeCallError(code: string, peer: string, serverMessage?: string): string {
  switch (code) {
    case 'already_in_call':
      return 'You are already in a call. End it first.';
    case 'blocked':
      return `You cannot call ${peer}.`;
    case 'rate_limited':
      return 'Too many attempts. Wait a moment and try again.';
    case 'not_found':
      return 'This call or conversation is not available any more.';
    case 'unprocessable':
      return 'Calls are only possible in direct chats.';
    case 'call_not_ringing':
    case 'call_ended':
      return 'The call has already ended.';
    case 'forbidden':
    case 'not_in_call':
      return 'This call is not yours to answer.';
    case 'disconnected':
      return 'Not connected to the server. Check your connection and try again.';
    case 'timeout':
      return 'The server did not answer in time. Try again.';
    default:
      return serverMessage ? `The call did not go through: ${serverMessage}` : 'The call did not go through.';
  }
}

/** The start acknowledgement carried a call that had already ended: why, if it is worth saying. */
export function describeEndedAtStart(call: Call, peer: string): CallProblem {
  switch (call.end_reason) {
    case 'busy':
      return { kind: 'info', message: `${peer} is in another call.` };
    case 'missed':
      return { kind: 'info', message: `${peer} is offline.` };
    case 'declined':
      return { kind: 'info', message: `${peer} declined the call.` };
    default:
      return { kind: 'error', message: 'The call could not be started.' };
  }
}

/** What the user is told when the call ends by `reason`, given where it was. */
export function describeEnd(
  reason: CallEndReason,
  where: { role: 'caller' | 'callee'; answered: boolean },
  peer: string,
): CallProblem | null {
  if (reason === 'failed') {
    return { kind: 'error', message: where.answered ? 'The connection was lost and the call ended.' : 'The call could not be connected.' };
  }
  if (where.answered || where.role === 'callee') return null;
  switch (reason) {
    case 'declined':
      return { kind: 'info', message: `${peer} declined the call.` };
    case 'missed':
      return { kind: 'info', message: `${peer} did not answer.` };
    case 'busy':
      return { kind: 'info', message: `${peer} is in another call.` };
    default:
      return null;
  }
}
