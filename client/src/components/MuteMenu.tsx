import { useEffect, useId, useRef, useState } from 'react';
import { describeError } from '../api/errors';
import type { Conversation } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { formatFullTime } from '../chat/format';
import {
  MUTE_CHOICES,
  UNMUTED,
  hasMentionSetting,
  isMuted,
  mentionsStillNotify,
  muteSettings,
  type MuteSettings,
} from '../chat/mute';

/**
 * Mute in the conversation's header: a menu of durations, or Unmute while muted. In a group or room
 * the menu also has "Also mute @mentions" (a checkbox item, off unless ticked), which the chosen
 * duration takes with it.
 */
export function MuteMenu({ conversation }: { conversation: Conversation }) {
  const client = useChat();
  const [open, setOpen] = useState(false);
  const [muteMentions, setMuteMentions] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const now = new Date();
  const muted = isMuted(conversation, now);
  const mentionSetting = hasMentionSetting(conversation);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector('button')?.focus();
    const closeOutside = (event: Event) => {
      if (event.target instanceof Node && !menu.current?.contains(event.target) && !button.current?.contains(event.target)) setOpen(false);
    };
    document.addEventListener('pointerdown', closeOutside);
    return () => document.removeEventListener('pointerdown', closeOutside);
  }, [open]);

  async function set(settings: MuteSettings) {
    setOpen(false);
    setError(null);
    try {
      await client.setMuted(conversation.id, settings);
    } catch (e) {
      setError(describeError(e).message);
    }
    button.current?.focus();
  }

  function toggleMenu() {
    // Each time the menu opens, mentions start as the conversation has them (off once unmuted).
    if (!open) setMuteMentions(conversation.mute_mentions ?? false);
    setOpen(!open);
  }

  let title: string | undefined;
  if (muted && conversation.muted_until) {
    title = `Muted until ${formatFullTime(conversation.muted_until)}`;
    if (mentionsStillNotify(conversation, now)) title += ' (mentions still notify)';
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
        title={title}
        data-testid="mute-button"
        data-muted={muted}
        data-mute-mentions={muted && mentionSetting ? Boolean(conversation.mute_mentions) : undefined}
        onClick={() => (muted ? void set(UNMUTED) : toggleMenu())}
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
          {mentionSetting ? (
            <>
              <button
                type="button"
                role="menuitemcheckbox"
                aria-checked={muteMentions}
                className="menu-check"
                data-testid="mute-mentions"
                onClick={() => setMuteMentions((on) => !on)}
              >
                <span className="menu-check-box" aria-hidden="true" />
                Also mute @mentions
              </button>
              <div className="menu-separator" role="separator" />
            </>
          ) : null}
          {MUTE_CHOICES.map((choice) => (
            <button
              key={choice.label}
              type="button"
              role="menuitem"
              data-testid="mute-choice"
              onClick={() => void set(muteSettings(conversation, choice, muteMentions, new Date()))}
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
