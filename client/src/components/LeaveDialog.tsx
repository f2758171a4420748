import { useState } from 'react';
import { describeError } from '../api/errors';
import type { Conversation } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { leaveFailure } from '../chat/membership';
import { Modal } from './Modal';

interface LeaveDialogProps {
  conversation: Conversation;
  title: string;
  onClose: () => void;
  onLeft: () => void;
}

/** Asks before leaving a group or room. */
export function LeaveDialog({ conversation, title, onClose, onLeft }: LeaveDialogProps) {
  const client = useChat();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const kind = conversation.is_public ? 'room' : 'group';

  async function leave() {
    setBusy(true);
    setError(null);
    try {
      await client.leaveConversation(conversation.id);
      onLeft();
    } catch (err) {
      setError(leaveFailure(describeError(err)));
      setBusy(false);
    }
  }

  return (
    <Modal title={`Leave ${title}?`} onClose={onClose} testId="leave-dialog">
      <p>
        {conversation.is_public
          ? 'You will stop receiving its messages. You can join the room again from Rooms.'
          : 'You will stop receiving its messages. A member can add you again.'}
      </p>
      {error ? (
        <p className="form-error" role="alert" data-testid="leave-error">
          {error}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" className="button secondary" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button
          type="button"
          className="button primary danger"
          onClick={() => void leave()}
          disabled={busy}
          data-testid="leave-confirm"
        >
          {busy ? 'Leaving...' : `Leave ${kind}`}
        </button>
      </div>
    </Modal>
  );
}
