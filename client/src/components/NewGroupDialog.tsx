import { useId, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { describeError, splitFieldErrors } from '../api/errors';
import { createGroupConversation } from '../api/http';
import type { User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { FormField } from './FormField';
import { Modal } from './Modal';
import { UserSearch } from './UserSearch';
import { displayName } from '../chat/names';

interface NewGroupDialogProps {
  onClose: () => void;
  /** Start with "Public room" ticked (opened from the rooms browser). */
  initialPublic?: boolean;
}

/**
 * Creates a group from a name and members picked by search. A public room (anyone can find it
 * under Rooms and join) may start without other members.
 */
export function NewGroupDialog({ onClose, initialPublic = false }: NewGroupDialogProps) {
  const client = useChat();
  const navigate = useNavigate();
  const publicHintId = useId();
  const [name, setName] = useState('');
  const [isPublic, setIsPublic] = useState(initialPublic);
  const [members, setMembers] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = 'Give the group a name.';
    if (members.length === 0 && !isPublic) local.member_ids = 'Add at least one member, or make it a public room.';
    setFieldErrors(local);
    setError(null);
    if (Object.keys(local).length > 0) return;

    setBusy(true);
    try {
      const conversation = await createGroupConversation(
        name.trim(),
        members.map((m) => m.id),
        isPublic,
      );
      client.addConversation(conversation);
      onClose();
      navigate(`/c/${conversation.id}`);
    } catch (err) {
      const problem = describeError(err);
      const { byField, other } = splitFieldErrors(problem.fieldErrors, ['name', 'member_ids', 'is_public']);
      if (byField.is_public) other.push(byField.is_public);
      setFieldErrors(byField);
      setError([problem.message, ...other].join(' '));
      setBusy(false);
    }
  }

  return (
    <Modal title={initialPublic ? 'New public room' : 'New group'} onClose={onClose} testId="new-group-dialog">
      <form onSubmit={submit} noValidate className="stack">
        <FormField
          label={isPublic ? 'Room name' : 'Group name'}
          value={name}
          onChange={(event) => {
            setName(event.target.value);
            setFieldErrors(({ name: _, ...rest }) => rest);
          }}
          error={fieldErrors.name}
          maxLength={100}
          required
          autoFocus
          testId="group-name-input"
        />
        <div className="checkbox-field">
          <input
            id={`${publicHintId}-input`}
            type="checkbox"
            checked={isPublic}
            onChange={(event) => {
              setIsPublic(event.target.checked);
              setFieldErrors(({ member_ids: _, ...rest }) => rest);
            }}
            aria-describedby={publicHintId}
            data-testid="group-public-checkbox"
          />
          <label htmlFor={`${publicHintId}-input`}>Public room</label>
          <p id={publicHintId} className="field-hint">
            Anyone can find a public room under Rooms and join it.
          </p>
        </div>
        <fieldset className="member-picker">
          <legend>{isPublic ? 'Members (optional)' : 'Members'}</legend>
          {members.length > 0 ? (
            <ul className="chips" aria-label="Selected members">
              {members.map((member) => (
                <li key={member.id} className="chip" data-testid="selected-member" data-user-id={member.id}>
                  {displayName(member)}
                  <button
                    type="button"
                    className="chip-remove"
                    aria-label={`Remove ${displayName(member)}`}
                    onClick={() => setMembers((list) => list.filter((m) => m.id !== member.id))}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No members yet.</p>
          )}
          <UserSearch
            actionLabel="Add"
            excludeIds={members.map((m) => m.id)}
            onPick={(user) => {
              setMembers((list) => (list.some((m) => m.id === user.id) ? list : [...list, user]));
              setFieldErrors(({ member_ids: _, ...rest }) => rest);
            }}
          />
          {fieldErrors.member_ids ? (
            <p className="field-error" data-testid="group-members-error">
              {fieldErrors.member_ids}
            </p>
          ) : null}
        </fieldset>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" className="button secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={busy} data-testid="group-create-submit">
            {busy ? 'Creating...' : isPublic ? 'Create room' : 'Create group'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
