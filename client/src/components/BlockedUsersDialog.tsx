import { useEffect, useState } from 'react';
import { describeError } from '../api/errors';
import { useChat, useChatState } from '../chat/ChatContext';
import { Avatar } from './Avatar';
import { Modal } from './Modal';
import { displayName, smallAvatar } from '../chat/names';

/** The users the user blocked, the latest first, each with Unblock. */
export function BlockedUsersDialog({ onClose }: { onClose: () => void }) {
  const client = useChat();
  const blocks = useChatState((s) => s.blocks);
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  // The list may have changed on another device while the socket was away.
  useEffect(() => {
    void client.loadBlocks();
  }, [client]);

  async function unblock(userId: number) {
    setBusy(userId);
    setError(null);
    try {
      await client.unblockUser(userId);
    } catch (err) {
      setError(describeError(err).message);
    } finally {
      setBusy(null);
    }
  }

  return (
    <Modal title="Blocked users" onClose={onClose} testId="blocked-users-dialog">
      <p className="muted">
        Blocked users cannot write to you in your direct chats or see when you are online; their messages in groups
        are hidden until you show them.
      </p>
      <div aria-live="polite">
        {error ? (
          <p className="form-error" role="alert" data-testid="blocked-users-error">
            {error}
          </p>
        ) : null}
        {blocks.status === 'error' && blocks.users.length === 0 ? (
          <p className="form-error" role="alert">
            {blocks.error ?? 'Could not load the blocked users.'}
          </p>
        ) : blocks.status !== 'ready' && blocks.users.length === 0 ? (
          <p className="muted">Loading...</p>
        ) : blocks.users.length === 0 ? (
          <p className="muted" data-testid="blocked-users-empty">
            You have not blocked anyone.
          </p>
        ) : null}
      </div>
      {blocks.users.length > 0 ? (
        <ul className="member-list" aria-label="Blocked users" data-testid="blocked-users-list">
          {blocks.users.map((user) => (
            <li key={user.id} className="member-item" data-testid="blocked-user-item" data-user-id={user.id}>
              <Avatar name={displayName(user)} url={smallAvatar(user.avatar_url)} size="small" />
              <span className="member-name">{displayName(user)}</span>
              <button
                type="button"
                className="button secondary compact"
                onClick={() => void unblock(user.id)}
                disabled={busy !== null}
                aria-label={`Unblock ${displayName(user)}`}
                data-testid="blocked-user-unblock"
              >
                {busy === user.id ? 'Unblocking...' : 'Unblock'}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </Modal>
  );
}
