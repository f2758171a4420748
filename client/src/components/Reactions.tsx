import { useRef, useState, type KeyboardEvent } from 'react';
import { fetchReactions, type MessageReactors } from '../api/http';
import type { Message } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { reactorsLabel } from '../chat/format';
import { pickerEmoji, recentEmoji } from '../chat/recentEmoji';

/** Who reacted to a message, read once per revision of it (a reaction takes a new one). */
function useReactors(message: Message) {
  const [held, setHeld] = useState<{ rev: number | undefined; reactors: MessageReactors } | null>(null);
  const loading = useRef(false);
  const fresh = held && held.rev === message.rev ? held.reactors : null;
  function load() {
    if (fresh || loading.current) return;
    loading.current = true;
    const rev = message.rev;
    fetchReactions(message.id)
      .then((reactors) => setHeld({ rev, reactors }))
      .catch(() => undefined)
      .finally(() => {
        loading.current = false;
      });
  }
  return { reactors: fresh, load };
}

interface ReactionsProps {
  message: Message;
  /** Whether the picker is open (the message menu's React button opens it). */
  picking: boolean;
  setPicking: (open: boolean) => void;
  /** Where the focus goes back when the picker closes with Escape. */
  pickerId: string;
}

/**
 * A message's reactions as chips (activating one toggles the user's own; hovering or focusing one
 * tells who reacted), and the picker, recent emoji first, to add one. Nothing takes room while the
 * message has no reactions and the picker is closed.
 */
export function Reactions({ message, picking, setPicking, pickerId }: ReactionsProps) {
  const client = useChat();
  const [recent, setRecent] = useState(() => recentEmoji.list());
  const { reactors, load } = useReactors(message);
  const mine = message.my_reactions ?? [];

  const toggle = (emoji: string) => {
    setPicking(false);
    if (!mine.includes(emoji)) {
      recentEmoji.use(emoji);
      setRecent(recentEmoji.list());
    }
    void client.toggleReaction(message.conversation_id, message.id, emoji);
  };
  const { recent: recentRow, more } = pickerEmoji(recent);

  function onPickerKey(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      setPicking(false);
      document.querySelector<HTMLElement>(`[aria-controls="${pickerId}"]`)?.focus();
      return;
    }
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    // Arrow keys walk the emoji.
    const buttons = [...event.currentTarget.querySelectorAll('button')];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const next = buttons[(at + (event.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length];
    next?.focus();
    event.preventDefault();
  }

  if ((message.reactions ?? []).length === 0 && !picking) return null;
  return (
    <div className="reactions" data-testid="reactions">
      {(message.reactions ?? []).map((r) => {
        const own = mine.includes(r.emoji);
        const who = reactors?.reactions.find((e) => e.emoji === r.emoji);
        const label = who ? reactorsLabel(who.users, who.count, client.me.id) : undefined;
        return (
          <span key={r.emoji} className="reaction">
            <button
              type="button"
              className={`reaction-chip${own ? ' own' : ''}`}
              data-testid="reaction-chip"
              data-emoji={r.emoji}
              aria-pressed={own}
              aria-label={`${r.emoji} ${r.count}${label ? `: ${label}` : own ? ', including you' : ''}`}
              onPointerEnter={load}
              onFocus={load}
              onClick={() => toggle(r.emoji)}
            >
              {r.emoji} <span className="reaction-count">{r.count}</span>
            </button>
            {label ? (
              <span className="reaction-tooltip" role="tooltip" data-testid="reaction-tooltip">
                {label}
              </span>
            ) : null}
          </span>
        );
      })}
      {picking ? (
        <div
          id={pickerId}
          className="reaction-picker"
          role="group"
          aria-label="Reactions"
          data-testid="reaction-picker"
          onKeyDown={onPickerKey}
        >
          {recentRow.length > 0 ? (
            <div className="reaction-picker-row" role="group" aria-label="Recently used" data-testid="recent-emoji">
              {recentRow.map((emoji) => (
                <button key={emoji} type="button" aria-label={`React with ${emoji}`} onClick={() => toggle(emoji)}>
                  {emoji}
                </button>
              ))}
            </div>
          ) : null}
          <div className="reaction-picker-row" role="group" aria-label="More emoji">
            {more.map((emoji, i) => (
              <button
                key={emoji}
                type="button"
                aria-label={`React with ${emoji}`}
                autoFocus={i === 0 && recentRow.length === 0}
                onClick={() => toggle(emoji)}
              >
                {emoji}
              </button>
            ))}
          </div>
        </div>
      ) : null}
    </div>
  );
}
