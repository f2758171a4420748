import { useEffect, useId, useRef, useState } from 'react';
import { describeError } from '../api/errors';
import type { Conversation, User } from '../api/types';
import { isBlocked } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { lastSeenLabel } from '../chat/format';
import { displayName } from '../chat/names';
import { Avatar } from './Avatar';
import { Modal } from './Modal';
import { useNow } from './useNow';

/** A user's profile: their name and presence, with Block (asked first) or Unblock. */
export function ProfileDialog({ user: opened, onClose }: { user: User; onClose: () => void }) {
  const client = useChat();
  // The copy held in the conversations follows \`user:updated\` while the dialog is open.
  const held = useChatState((s) => heldUser(s.conversations, opened.id));
  const user: User = held
    ? { ...opened, display_name: held.display_name, bio: held.bio ?? opened.bio, avatar_url: held.avatar_url }
    : opened;
  const now = useNow();
  const blocked = useChatState((s) => isBlocked(s.blocks, user.id));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const questionId = useId();
  const me = user.id === client.me.id;
  const action = useRef<HTMLButtonElement>(null);
  const before = useRef({ blocked, confirming });

  // When the confirmation goes (cancelled or done) or a change is through, focus moves to the
  // button that is there now instead of being lost with the buttons that went.
  useEffect(() => {
    const was = before.current;
    if (was.blocked !== blocked || (was.confirming && !confirming)) action.current?.focus();
    before.current = { blocked, confirming };
  }, [blocked, confirming]);
  const presence = me || user.status === 'online' ? 'online' : lastSeenLabel(user.last_seen, now);
  const name = displayName(user);

  async function change(block: boolean) {
    setBusy(true);
    setError(null);
    try {
      if (block) await client.blockUser(user);
      else await client.unblockUser(user.id);
      setConfirming(false);
    } catch (err) {
      setError(describeError(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={name} onClose={onClose} testId="profile-dialog">
      <div className="profile">
        <Avatar name={name} url={user.avatar_url} status={user.status} />
        <div className="profile-body">
          <p className="profile-name" data-testid="profile-name">
            {name}
            {me ? <span className="muted"> (you)</span> : null}
          </p>
          <p className="muted" data-testid="profile-username">
            @{user.username}
          </p>
          <p className="muted" data-testid="profile-presence">
            {presence}
          </p>
        </div>
      </div>
      {user.bio ? (
        <p className="profile-bio" data-testid="profile-bio">
          {user.bio}
        </p>
      ) : null}
      {me ? null : (
        <div className="profile-actions" aria-live="polite">
          {blocked ? (
            <p className="notice" data-testid="profile-blocked">
              You blocked {name}. Neither of you can write to the other in your direct chat, and they do not
              see when you are online.
            </p>
          ) : null}
          {error ? (
            <p className="form-error" role="alert" data-testid="block-error">
              {error}
            </p>
          ) : null}
          {confirming ? (
            <div className="block-confirm" role="group" aria-labelledby={questionId} data-testid="block-confirm">
              <p id={questionId}>
                Block {name}? They will not be able to write to you in your direct chat or see when you are
                online, and their messages in groups will be hidden from you. They are not told.
              </p>
              <div className="actions">
                <button type="button" className="button secondary" onClick={() => setConfirming(false)} autoFocus>
                  Cancel
                </button>
                <button
                  type="button"
                  className="button primary danger"
                  onClick={() => void change(true)}
                  disabled={busy}
                  data-testid="block-confirm-button"
                >
                  {busy ? 'Blocking...' : `Block ${name}`}
                </button>
              </div>
            </div>
          ) : (
            <div className="actions">
              {blocked ? (
                <button
                  ref={action}
                  type="button"
                  className="button secondary"
                  onClick={() => void change(false)}
                  disabled={busy}
                  data-testid="unblock-button"
                >
                  {busy ? 'Unblocking...' : 'Unblock'}
                </button>
              ) : (
                <button
                  ref={action}
                  type="button"
                  className="button secondary danger"
                  onClick={() => setConfirming(true)}
                  data-testid="block-button"
                >
                  Block
                </button>
              )}
            </div>
          )}
        </div>
      )}
    </Modal>
  );
}

/** A stored copy of user \`id\` among the conversations' members, if any. */
function heldUser(conversations: readonly Conversation[], id: number): User | undefined {
  for (const conversation of conversations) {
    const member = conversation.members.find((m) => m.id === id);
    if (member) return member;
  }
  return undefined;
}
