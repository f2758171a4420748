import { useState } from 'react';
import { describeError } from '../api/errors';
import type { User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { displayName } from '../chat/names';

/** In a direct chat with a user the user blocked, in place of the message box. */
export function BlockedNotice({ user }: { user: User }) {
  const client = useChat();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function unblock() {
    setBusy(true);
    setError(null);
    try {
      await client.unblockUser(user.id);
    } catch (err) {
      setError(describeError(err).message);
      setBusy(false);
    }
  }

  return (
    <div className="blocked-notice" role="status" data-testid="blocked-notice">
      <p>
        <strong>You blocked this user.</strong>{' '}
        <span className="muted">Unblock {displayName(user)} to write to each other again.</span>
      </p>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <button
        type="button"
        className="button secondary compact"
        onClick={() => void unblock()}
        disabled={busy}
        aria-label={`Unblock ${displayName(user)}`}
        data-testid="blocked-notice-unblock"
      >
        {busy ? 'Unblocking...' : 'Unblock'}
      </button>
    </div>
  );
}
