import { useState } from 'react';
import { describeError } from '../api/errors';
import type { Conversation, User } from '../api/types';
import { isBlocked } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { conversationTitle, memberCount } from '../chat/conversations';
import { lastSeenLabel } from '../chat/format';
import { addMemberFeedback, type Feedback } from '../chat/membership';
import { memberCountLabel } from '../chat/rooms';
import { Avatar } from './Avatar';
import { Modal } from './Modal';
import { ProfileDialog } from './ProfileDialog';
import { UserSearch } from './UserSearch';
import { useNow } from './useNow';
import { displayName, smallAvatar } from '../chat/names';

/** The members of a group or room (kept current by join and leave events), and adding one. */
export function MembersDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const client = useChat();
  const meId = client.me.id;
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const [profile, setProfile] = useState<User | null>(null);
  const blocks = useChatState((s) => s.blocks);
  const count = memberCount(conversation);
  const hidden = count - conversation.members.length;

  async function add(user: User) {
    setBusy(true);
    setFeedback(null);
    try {
      await client.addMember(conversation.id, user);
      setFeedback(addMemberFeedback(displayName(user)));
    } catch (err) {
      setFeedback(addMemberFeedback(displayName(user), describeError(err)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={`Members of ${conversationTitle(conversation, meId)}`} onClose={onClose} testId="members-dialog">
      <p className="muted" data-testid="member-count">
        {memberCountLabel(count)}
      </p>
      <ul className="member-list" aria-label="Members" data-testid="member-list">
        {conversation.members.map((member) => (
          <li key={member.id} className="member-item" data-testid="member-item" data-user-id={member.id}>
            <Avatar name={displayName(member)} url={smallAvatar(member.avatar_url)} status={member.status} size="small" />
            <span className="member-name">
              {member.id === meId ? (
                <>
                  {displayName(member)}
                  <span className="muted"> (you)</span>
                </>
              ) : (
                <button
                  type="button"
                  className="title-button"
                  onClick={() => setProfile(member)}
                  aria-haspopup="dialog"
                  aria-label={`${displayName(member)}: view profile`}
                  data-testid="member-profile-button"
                >
                  {displayName(member)}
                </button>
              )}
              {isBlocked(blocks, member.id) ? (
                <span className="muted" data-testid="member-blocked">
                  {' '}
                  (blocked)
                </span>
              ) : null}
            </span>
            <span className="member-presence muted">
              {member.id === meId || member.status === 'online' ? 'online' : lastSeenLabel(member.last_seen, now)}
            </span>
          </li>
        ))}
      </ul>
      {hidden > 0 ? (
        <p className="muted">
          and {hidden} more member{hidden === 1 ? '' : 's'}
        </p>
      ) : null}
      <section className="add-member" aria-labelledby="add-member-heading">
        <h3 id="add-member-heading">Add a member</h3>
        <UserSearch onPick={(user) => void add(user)} actionLabel="Add" disabled={busy} autoFocus />
        <div aria-live="polite">
          {feedback ? (
            <p
              className={feedback.kind === 'error' ? 'form-error' : `notice notice-${feedback.kind}`}
              data-testid="add-member-message"
              data-kind={feedback.kind}
            >
              {feedback.text}
            </p>
          ) : null}
        </div>
      </section>
      {profile ? <ProfileDialog user={profile} onClose={() => setProfile(null)} /> : null}
    </Modal>
  );
}
