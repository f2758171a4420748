// How calls read on screen: durations, and the summary a call message shows to the person looking.

import type { CallMedia, CallSummary } from '../api/types';

/** "0:07", "3:12", "1:02:05": a call's length, rounded down to the second. */
export function formatCallDuration(ms: number): string {
  const total = Math.max(0, Math.floor((Number.isFinite(ms) ? ms : 0) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export function mediaWord(media: CallMedia): 'voice' | 'video' {
  return media === 'video' ? 'video' : 'voice';
}

const capitalised = (media: CallMedia) => (media === 'video' ? 'Video' : 'Voice');

/**
 * The line a call message shows to user `meId`: the server's wording, except that a call that was
 * not answered is "Missed" for the person called and "no answer" for the caller.
 */
export function callMessageText(call: CallSummary, meId: number): string {
  const kind = capitalised(call.media);
  switch (call.reason) {
    case 'hangup':
      return `${kind} call, ${formatCallDuration(call.duration_ms)}`;
    case 'missed':
      return call.caller_id === meId ? `${kind} call, no answer` : `Missed ${mediaWord(call.media)} call`;
    case 'declined':
      return `Declined ${mediaWord(call.media)} call`;
    case 'busy':
      return `${kind} call, busy`;
    case 'failed':
      return `${kind} call failed`;
    default:
      return `${kind} call`;
  }
}

/** Whether the call message is one the user missed (shown as such). */
export function isMissedBy(call: CallSummary, meId: number): boolean {
  return call.reason === 'missed' && call.callee_id === meId;
}
