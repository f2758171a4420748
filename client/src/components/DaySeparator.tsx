import { dayLabel } from '../chat/format';

/** The day's label ("Today", a date) in the message list before its first message. */
export function DaySeparator({ at }: { at: string }) {
  return (
    <li className="day-separator">
      <span>{dayLabel(at)}</span>
    </li>
  );
}
