import { useEffect, useRef, useState, type MouseEvent, type PointerEvent, type RefObject } from 'react';
import type { Message } from '../api/types';
import { useChat } from '../chat/ChatContext';

/** How long a finger rests on a message before its menu opens. */
const LONG_PRESS_MS = 500;
/** A finger that moves this far scrolls instead. */
const LONG_PRESS_SLOP_PX = 10;

/**
 * The message menu on touch screens: a long press opens it (as does the context menu a long press
 * raises), a tap elsewhere or Escape closes it. With a mouse the menu shows on hover and focus.
 */
export function useLongPressMenu(item: RefObject<HTMLElement | null>) {
  const [open, setOpen] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  const start = useRef<{ x: number; y: number } | null>(null);

  const cancel = () => {
    window.clearTimeout(timer.current);
    timer.current = undefined;
    start.current = null;
  };

  useEffect(() => {
    if (!open) return;
    const closeOutside = (event: Event) => {
      if (item.current && event.target instanceof Node && !item.current.contains(event.target)) setOpen(false);
    };
    const closeOnEscape = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setOpen(false);
    };
    document.addEventListener('pointerdown', closeOutside);
    document.addEventListener('keydown', closeOnEscape);
    return () => {
      document.removeEventListener('pointerdown', closeOutside);
      document.removeEventListener('keydown', closeOnEscape);
    };
  }, [open, item]);

  useEffect(() => cancel, []);

  return {
    open,
    close: () => setOpen(false),
    handlers: {
      onPointerDown(event: PointerEvent) {
        if (event.pointerType !== 'touch') return;
        start.current = { x: event.clientX, y: event.clientY };
        timer.current = window.setTimeout(() => {
          setOpen(true);
          start.current = null;
        }, LONG_PRESS_MS);
      },
      onPointerMove(event: PointerEvent) {
        const from = start.current;
        if (from && Math.hypot(event.clientX - from.x, event.clientY - from.y) > LONG_PRESS_SLOP_PX) cancel();
      },
      onPointerUp: cancel,
      onPointerCancel: cancel,
      onContextMenu(event: MouseEvent) {
        // A long press raises the context menu on touch screens: open ours instead.
        if (window.matchMedia?.('(hover: none)').matches) {
          event.preventDefault();
          cancel();
          setOpen(true);
        }
      },
    },
  };
}

/** Inline editor of one's own text message: Enter saves, Esc cancels. */
export function EditForm({ message, onDone }: { message: Message; onDone: () => void }) {
  const client = useChat();
  const [text, setText] = useState(message.content);
  const [error, setError] = useState<string | null>(null);
  async function save() {
    const content = text.trim();
    if (!content || content === message.content) return onDone();
    const failed = await client.changeMessage(message.conversation_id, message.id, content);
    if (failed) setError(failed);
    else onDone();
  }
  return (
    <form
      className="edit-form"
      data-testid="edit-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <textarea
        aria-label="Edit message"
        data-testid="edit-input"
        value={text}
        autoFocus
        rows={2}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onDone();
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void save();
          }
        }}
      />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <span className="edit-actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" data-testid="edit-save">
          Save
        </button>
      </span>
    </form>
  );
}

interface MessageActionsProps {
  message: Message;
  own: boolean;
  /** The reaction picker: whether it is open, and the id of the element it is. */
  picking: boolean;
  onPick: () => void;
  pickerId: string;
  onReply?: (message: Message) => void;
  onEdit: () => void;
  /** After an action was chosen (closes the touch menu). */
  onDone: () => void;
}

/** The message menu: React and Reply for every message, Edit and Delete (asks first) for one's own. */
export function MessageActions({ message, own, picking, onPick, pickerId, onReply, onEdit, onDone }: MessageActionsProps) {
  const client = useChat();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function remove() {
    const failed = await client.changeMessage(message.conversation_id, message.id, null);
    setConfirming(false);
    onDone();
    if (failed) setError(failed);
  }
  if (confirming) {
    return (
      <div className="message-actions confirming" role="group" aria-label="Delete this message?" data-testid="delete-confirm">
        <span>Delete this message for everyone?</span>
        <button type="button" onClick={() => setConfirming(false)}>
          Cancel
        </button>
        <button type="button" className="danger" data-testid="delete-confirm-button" onClick={() => void remove()}>
          Delete
        </button>
      </div>
    );
  }
  return (
    <div className="message-actions" role="group" aria-label="Message actions" data-testid="message-actions">
      <button
        type="button"
        className="reaction-add"
        data-testid="reaction-add"
        aria-expanded={picking}
        aria-controls={picking ? pickerId : undefined}
        aria-label="Add a reaction"
        onClick={onPick}
      >
        +☺
      </button>
      {onReply ? (
        <button
          type="button"
          data-testid="reply-message"
          onClick={() => {
            onReply(message);
            onDone();
          }}
        >
          Reply
        </button>
      ) : null}
      {own && message.message_type === 'text' ? (
        <button
          type="button"
          data-testid="edit-message"
          onClick={() => {
            onEdit();
            onDone();
          }}
        >
          Edit
        </button>
      ) : null}
      {own ? (
        <button type="button" data-testid="delete-message" onClick={() => setConfirming(true)}>
          Delete
        </button>
      ) : null}
      {error ? (
        <span className="form-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}
