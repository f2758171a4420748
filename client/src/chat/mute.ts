// Muting a conversation: the user's own setting, until a time. Messages keep arriving; a muted
// conversation is what notifications leave out. A muted group or room still notifies the messages
// that mention the user, unless they mute mentions too; a muted direct conversation notifies nothing.

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

/** Whether mentions can be muted apart: in groups and rooms (a muted direct chat notifies nothing). */
export function hasMentionSetting(conversation: Pick<Conversation, 'type'>): boolean {
  return conversation.type !== 'direct';
}

/** Whether the conversation is muted at `now` but messages mentioning the user still notify. */
export function mentionsStillNotify(conversation: Pick<Conversation, 'type' | 'muted_until' | 'mute_mentions'>, now: Date): boolean {
  return isMuted(conversation, now) && hasMentionSetting(conversation) && !conversation.mute_mentions;
}

/** How the list and the header say a conversation is muted at `now`; null when it is not. */
export function muteLabel(conversation: Pick<Conversation, 'type' | 'muted_until' | 'mute_mentions'>, now: Date): string | null {
  if (!isMuted(conversation, now)) return null;
  return mentionsStillNotify(conversation, now) ? 'muted (mentions still notify)' : 'muted';
}

/** The user's own notification setting of a conversation, as `PUT /api/conversations/:id/settings` takes it. */
export interface MuteSettings {
  muted_until: string | null;
  /** Left out for unmuting and for direct conversations (the server then stores `false`). */
  mute_mentions?: boolean;
}

/** The settings a mute choice sends now: mentions muted too only where that means something. */
export function muteSettings(
  conversation: Pick<Conversation, 'type'>,
  choice: MuteChoice,
  muteMentions: boolean,
  now: Date,
): MuteSettings {
  const until = muteUntil(choice, now);
  return hasMentionSetting(conversation) ? { muted_until: until, mute_mentions: muteMentions } : { muted_until: until };
}

/** Unmuting: mentions are not muted any more either. */
export const UNMUTED: MuteSettings = { muted_until: null };
