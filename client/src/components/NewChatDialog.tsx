import { useState } from 'react';
import { useNavigate } from 'react-router';
import { describeError } from '../api/errors';
import { createDirectConversation } from '../api/http';
import type { User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { Modal } from './Modal';
import { UserSearch } from './UserSearch';

/** Starts (or reopens) a direct conversation with a user found by search. */
export function NewChatDialog({ onClose }: { onClose: () => void }) {
  const client = useChat();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function start(user: User) {
    setBusy(true);
    setError(null);
    try {
      const conversation = await createDirectConversation(user.id);
      client.addConversation(conversation);
      onClose();
      navigate(`/c/${conversation.id}`);
    } catch (err) {
      setError(describeError(err).message);
      setBusy(false);
    }
  }

  return (
    <Modal title="New chat" onClose={onClose} testId="new-chat-dialog">
      <UserSearch onPick={start} actionLabel="Message" disabled={busy} autoFocus />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </Modal>
  );
}
