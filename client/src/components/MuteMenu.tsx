import { useEffect, useId, useRef, useState } from 'react';
import { describeError } from '../api/errors';
import type { Conversation } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { formatFullTime } from '../chat/format';
import { MUTE_CHOICES, isMuted, muteUntil } from '../chat/mute';

/** Mute in the conversation's header: a menu of durations, or Unmute while muted. */
export function MuteMenu({ conversation }: { conversation: Conversation }) {
  const client = useChat();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const muted = isMuted(conversation, new Date());

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector('button')?.focus();
    const closeOutside = (event: Event) => {
      if (event.target instanceof Node && !menu.current?.contains(event.target) && !button.current?.contains(event.target)) setOpen(false);
    };
    document.addEventListener('pointerdown', closeOutside);
    return () => document.removeEventListener('pointerdown', closeOutside);
  }, [open]);

  async function set(until: string | null) {
    setOpen(false);
    setError(null);
    try {
      await client.setMuted(conversation.id, until);
    } catch (e) {
      setError(describeError(e).message);
    }
    button.current?.focus();
  }

  return (
    <div className="mute-menu">
      <button
        ref={button}
        type="button"
        className="button secondary compact"
        aria-haspopup={muted ? undefined : 'menu'}
        aria-expanded={muted ? undefined : open}
        aria-controls={open ? menuId : undefined}
        title={muted && conversation.muted_until ? `Muted until ${formatFullTime(conversation.muted_until)}` : undefined}
        data-testid="mute-button"
        data-muted={muted}
        onClick={() => (muted ? void set(null) : setOpen((o) => !o))}
      >
        {muted ? 'Unmute' : 'Mute'}
      </button>
      {open ? (
        <div
          ref={menu}
          id={menuId}
          className="menu"
          role="menu"
          aria-label="Mute notifications"
          data-testid="mute-menu"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              setOpen(false);
              button.current?.focus();
            }
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              const items = [...(menu.current?.querySelectorAll('button') ?? [])];
              const at = items.indexOf(document.activeElement as HTMLButtonElement);
              items[(at + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length]?.focus();
            }
          }}
        >
          {MUTE_CHOICES.map((choice) => (
            <button
              key={choice.label}
              type="button"
              role="menuitem"
              data-testid="mute-choice"
              onClick={() => void set(muteUntil(choice, new Date()))}
            >
              {choice.label}
            </button>
          ))}
        </div>
      ) : null}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}
