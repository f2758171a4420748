import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { describeError, splitFieldErrors } from '../api/errors';
import { createGroupConversation } from '../api/http';
import type { User } from '../api/types';
import { useChat } from '../chat/ChatContext';
import { FormField } from './FormField';
import { Modal } from './Modal';
import { UserSearch } from './UserSearch';

/** Creates a group from a name and members picked by search. */
export function NewGroupDialog({ onClose }: { onClose: () => void }) {
  const client = useChat();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [members, setMembers] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = 'Give the group a name.';
    if (members.length === 0) local.member_ids = 'Add at least one member.';
    setFieldErrors(local);
    setError(null);
    if (Object.keys(local).length > 0) return;

    setBusy(true);
    try {
      const conversation = await createGroupConversation(
        name.trim(),
        members.map((m) => m.id),
      );
      client.addConversation(conversation);
      onClose();
      navigate(`/c/${conversation.id}`);
    } catch (err) {
      const problem = describeError(err);
      const { byField, other } = splitFieldErrors(problem.fieldErrors, ['name', 'member_ids']);
      setFieldErrors(byField);
      setError([problem.message, ...other].join(' '));
      setBusy(false);
    }
  }

  return (
    <Modal title="New group" onClose={onClose} testId="new-group-dialog">
      <form onSubmit={submit} noValidate className="stack">
        <FormField
          label="Group name"
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
        <fieldset className="member-picker">
          <legend>Members</legend>
          {members.length > 0 ? (
            <ul className="chips" aria-label="Selected members">
              {members.map((member) => (
                <li key={member.id} className="chip" data-testid="selected-member" data-user-id={member.id}>
                  {member.username}
                  <button
                    type="button"
                    className="chip-remove"
                    aria-label={`Remove ${member.username}`}
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
            {busy ? 'Creating...' : 'Create group'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
