import { useId, useState, type KeyboardEvent, type RefObject } from 'react';
import { flushSync } from 'react-dom';
import type { User } from '../api/types';
import { completeMention, mentionAt, mentionCandidates, type MentionQuery } from '../chat/mentions';
import { Avatar } from './Avatar';
import { displayName, smallAvatar } from '../chat/names';

interface MentionOptions {
  members: readonly User[];
  meId: number;
  input: RefObject<HTMLTextAreaElement | null>;
  /** Sets the box's text (completing a name). */
  setText: (text: string) => void;
}

/**
 * @-mention autocomplete for a message box: typing `@` and the start of a name lists the members
 * it may name; arrows move, Enter or Tab picks, Escape closes. The box is an ARIA combobox.
 */
export function useMentionAutocomplete({ members, meId, input, setText }: MentionOptions) {
  const listId = useId();
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [active, setActive] = useState(0);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);
  const candidates = query && query.start !== dismissedAt ? mentionCandidates(members, query.query, meId) : [];
  const open = candidates.length > 0;
  const activeIndex = Math.min(active, Math.max(candidates.length - 1, 0));

  /** Call after the text or the caret changed. */
  function track(text: string, caret: number | null) {
    const next = caret === null ? null : mentionAt(text, caret);
    if (next?.start !== query?.start || next?.query !== query?.query) setActive(0);
    if (next?.start !== dismissedAt) setDismissedAt(null);
    setQuery(next);
  }

  function pick(user: User) {
    const element = input.current;
    if (!element || !query) return;
    const done = completeMention(element.value, element.selectionStart ?? element.value.length, query, user.username);
    // The caret goes after the name at once, with the new text written into the box: placed on a
    // later frame, it would land after keys typed in between and split the words being typed.
    flushSync(() => {
      setText(done.text);
      setQuery(null);
    });
    element.focus();
    element.setSelectionRange(done.caret, done.caret);
  }

  /** Handles the list's keys; true when the key was the list's. */
  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): boolean {
    if (!open) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setActive((activeIndex + step + candidates.length) % candidates.length);
      return true;
    }
    if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
      event.preventDefault();
      pick(candidates[activeIndex]);
      return true;
    }
    if (event.key === 'Escape') {
      event.preventDefault();
      setDismissedAt(query?.start ?? null);
      return true;
    }
    return false;
  }

  const optionId = (user: User) => `${listId}-${user.id}`;
  const comboboxProps = {
    role: 'combobox' as const,
    'aria-autocomplete': 'list' as const,
    'aria-expanded': open,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? optionId(candidates[activeIndex]) : undefined,
  };

  const list = open ? (
    <ul className="mention-list" role="listbox" id={listId} aria-label="Members to mention" data-testid="mention-list">
      {candidates.map((user, i) => (
        <li
          key={user.id}
          id={optionId(user)}
          role="option"
          aria-selected={i === activeIndex}
          className={i === activeIndex ? 'active' : undefined}
          data-testid="mention-option"
          // Keeps the focus in the box.
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => pick(user)}
        >
          <Avatar name={displayName(user)} url={smallAvatar(user.avatar_url)} size="small" />
          <span>{displayName(user)}</span>
          {user.display_name ? <span className="muted">@{user.username}</span> : null}
        </li>
      ))}
    </ul>
  ) : null;

  return { track, onKeyDown, comboboxProps, list };
}
