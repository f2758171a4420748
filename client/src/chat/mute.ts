// Muting a conversation: the user's own setting, until a time. Messages keep arriving; a muted
// conversation is what notifications leave out.

import type { Conversation } from '../api/types';

export interface MuteChoice {
  label: string;
  /** How long, or null for "until I unmute". */
  hours: number | null;
}

export const MUTE_CHOICES: readonly MuteChoice[] = [
  { label: 'For 1 hour', hours: 1 },
  { label: 'For 8 hours', hours: 8 },
  { label: 'For a week', hours: 24 * 7 },
  { label: 'Until I unmute', hours: null },
];

/** "Until I unmute" is stored as a time far enough away never to come. */
const FOREVER = '9999-12-31T23:59:59Z';

/** The `muted_until` a choice sets now. */
export function muteUntil(choice: MuteChoice, now: Date): string {
  if (choice.hours === null) return FOREVER;
  return new Date(now.getTime() + choice.hours * 3_600_000).toISOString();
}

/** Whether the conversation is muted at `now`. */
export function isMuted(conversation: Pick<Conversation, 'muted_until'>, now: Date): boolean {
  return Boolean(conversation.muted_until && Date.parse(conversation.muted_until) > now.getTime());
}
