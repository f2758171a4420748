// Dates as the chat shows them.

import { differenceInCalendarDays, format, formatDistanceStrict, isSameDay, isSameYear, parseISO } from 'date-fns';
import { displayName } from './names';

function parse(iso: string): Date | null {
  const date = parseISO(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Conversation list: "14:05" today, "Mon" this week, "3 Mar" this year, else "3 Mar 2029". */
export function formatListTime(iso: string, now: Date = new Date()): string {
  const date = parse(iso);
  if (!date) return '';
  const days = differenceInCalendarDays(now, date);
  if (days <= 0) return format(date, 'HH:mm');
  if (days === 1) return 'Yesterday';
  if (days < 7) return format(date, 'EEE');
  if (isSameYear(date, now)) return format(date, 'd MMM');
  return format(date, 'd MMM yyyy');
}

export function formatMessageTime(iso: string): string {
  const date = parse(iso);
  return date ? format(date, 'HH:mm') : '';
}

/** Full date and time, for a tooltip. */
export function formatFullTime(iso: string): string {
  const date = parse(iso);
  return date ? format(date, 'PPpp') : '';
}

/** Separator between days in a conversation. */
export function dayLabel(iso: string, now: Date = new Date()): string {
  const date = parse(iso);
  if (!date) return '';
  const days = differenceInCalendarDays(now, date);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (isSameYear(date, now)) return format(date, 'EEEE d MMMM');
  return format(date, 'd MMMM yyyy');
}

export function sameDay(a: string, b: string): boolean {
  const first = parse(a);
  const second = parse(b);
  return first !== null && second !== null && isSameDay(first, second);
}

export function lastSeenLabel(iso: string | null, now: Date = new Date()): string {
  const date = iso ? parse(iso) : null;
  if (!date) return 'offline';
  if (now.getTime() - date.getTime() < 60_000) return 'last seen just now';
  return `last seen ${formatDistanceStrict(date, now, { addSuffix: true })}`;
}

/** Who reacted, for a reaction's tooltip: "You, alice and 3 others" (`users` are the first
 * reactors, `count` all of them). */
export function reactorsLabel(
  users: readonly { id: number; username: string; display_name?: string | null }[],
  count: number,
  meId: number,
): string {
  const names = users.map((u) => (u.id === meId ? 'You' : displayName(u)));
  // The user first: "You and bob".
  const me = names.indexOf('You');
  if (me > 0) names.unshift(...names.splice(me, 1));
  const others = Math.max(count - names.length, 0);
  if (others > 0) {
    const rest = `${others} ${others === 1 ? 'other' : 'others'}`;
    return names.length === 0 ? rest : `${names.join(', ')} and ${rest}`;
  }
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
