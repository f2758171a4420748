import { useId, useRef, useState, type FormEvent } from 'react';
import { describeError } from '../api/errors';
import * as api from '../api/http';
import type { CurrentUser } from '../api/types';
import { displayName } from '../chat/names';
import { useAuth } from '../session/AuthContext';
import { Avatar } from './Avatar';
import { FormField } from './FormField';
import { Modal } from './Modal';
import { NotificationSwitch } from './NotificationSwitch';

/** Longest display name and bio the server accepts (in characters). */
const MAX_DISPLAY_NAME = 64;
const MAX_BIO = 500;

type Feedback = { kind: 'success' | 'error'; text: string } | null;

/** The signed-in user's own profile (display name, bio and avatar), notifications on this device, and a new password. */
export function ProfileEditor({ user, onClose }: { user: CurrentUser; onClose: () => void }) {
  return (
    <Modal title="Your profile" onClose={onClose} testId="profile-editor">
      <ProfileForm user={user} />
      <NotificationSwitch />
      <PasswordForm />
    </Modal>
  );
}

function ProfileForm({ user }: { user: CurrentUser }) {
  const { updateUser } = useAuth();
  const [name, setName] = useState(user.display_name ?? '');
  const [bio, setBio] = useState(user.bio ?? '');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [feedback, setFeedback] = useState<Feedback>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const bioId = useId();
  const avatarHintId = useId();

  async function save(changes: Parameters<typeof api.updateProfile>[0], done: string) {
    setBusy(true);
    setErrors({});
    setFeedback(null);
    try {
      const updated = await api.updateProfile(changes);
      updateUser(updated);
      setFeedback({ kind: 'success', text: done });
    } catch (err) {
      const problem = describeError(err);
      const fields: Record<string, string> = {};
      for (const [field, messages] of Object.entries(problem.fieldErrors)) fields[field] = messages.join(' ');
      setErrors(fields);
      setFeedback({ kind: 'error', text: problem.message });
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void save({ display_name: name.trim() || null, bio: bio.trim() || null }, 'Profile saved.');
  }

  async function onAvatarChosen(file: File | undefined) {
    if (!file) return;
    setBusy(true);
    setFeedback(null);
    try {
      const uploaded = await api.uploadImage(file);
      await save({ avatar: uploaded.file_url }, 'Picture updated.');
    } catch (err) {
      setErrors({ avatar: describeError(err).message });
      setFeedback({ kind: 'error', text: describeError(err).message });
      setBusy(false);
    } finally {
      if (fileInput.current) fileInput.current.value = '';
    }
  }

  return (
    <form className="profile-form" onSubmit={onSubmit} aria-label="Profile" noValidate>
      <div className="profile">
        <Avatar name={displayName(user)} url={user.avatar_url} />
        <div className="profile-body">
          <p className="profile-name">{displayName(user)}</p>
          <p className="muted">@{user.username}</p>
        </div>
      </div>
      <div className="form-field">
        <label htmlFor={`${avatarHintId}-input`}>Profile picture</label>
        <input
          id={`${avatarHintId}-input`}
          ref={fileInput}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          aria-describedby={avatarHintId}
          aria-invalid={errors.avatar ? true : undefined}
          disabled={busy}
          onChange={(event) => void onAvatarChosen(event.target.files?.[0])}
          data-testid="profile-avatar-input"
        />
        <p id={avatarHintId} className={errors.avatar ? 'field-error' : 'field-hint'}>
          {errors.avatar ?? 'Cropped to a square from the middle of the picture.'}
        </p>
        {user.avatar_url ? (
          <button
            type="button"
            className="button link"
            disabled={busy}
            onClick={() => void save({ avatar: null }, 'Picture removed.')}
            data-testid="profile-avatar-remove"
          >
            Remove picture
          </button>
        ) : null}
      </div>
      <FormField
        label="Display name"
        hint={`Shown instead of your username (@${user.username}). Leave empty to show your username.`}
        value={name}
        maxLength={MAX_DISPLAY_NAME}
        onChange={(event) => setName(event.target.value)}
        error={errors.display_name}
        autoComplete="nickname"
        testId="profile-display-name"
      />
      <div className="form-field">
        <label htmlFor={bioId}>About you</label>
        <textarea
          id={bioId}
          value={bio}
          maxLength={MAX_BIO}
          rows={3}
          onChange={(event) => setBio(event.target.value)}
          aria-invalid={errors.bio ? true : undefined}
          aria-describedby={`${bioId}-count`}
          data-testid="profile-bio"
        />
        <p id={`${bioId}-count`} className={errors.bio ? 'field-error' : 'field-hint'}>
          {errors.bio ?? `${[...bio].length} / ${MAX_BIO}`}
        </p>
      </div>
      <p
        className={feedback?.kind === 'error' ? 'form-error' : 'notice'}
        role={feedback?.kind === 'error' ? 'alert' : 'status'}
        data-testid="profile-feedback"
        hidden={!feedback}
      >
        {feedback?.text}
      </p>
      <div className="actions">
        <button type="submit" className="button primary" disabled={busy} data-testid="profile-save">
          {busy ? 'Saving...' : 'Save profile'}
        </button>
      </div>
    </form>
  );
}

function PasswordForm() {
  const titleId = useId();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [feedback, setFeedback] = useState<Feedback>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setFeedback(null);
    const local: Record<string, string> = {};
    if (!current) local.current_password = 'Enter your current password.';
    if ([...next].length < 8) local.new_password = 'Use at least 8 characters.';
    if (next !== repeat) local.repeat = 'The two new passwords differ.';
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      await api.changePassword(current, next);
      setCurrent('');
      setNext('');
      setRepeat('');
      setFeedback({ kind: 'success', text: 'Password changed. Your other devices were signed out.' });
    } catch (err) {
      const problem = describeError(err);
      if (problem.code === 'invalid_credentials') {
        setErrors({ current_password: 'This is not your current password.' });
      } else {
        const fields: Record<string, string> = {};
        for (const [field, messages] of Object.entries(problem.fieldErrors)) fields[field] = messages.join(' ');
        setErrors(fields);
      }
      setFeedback({ kind: 'error', text: problem.message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="password-form" onSubmit={onSubmit} aria-labelledby={titleId} noValidate>
      <h3 id={titleId}>Change password</h3>
      <FormField
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(event) => setCurrent(event.target.value)}
        error={errors.current_password}
        testId="password-current"
      />
      <FormField
        label="New password"
        type="password"
        autoComplete="new-password"
        hint="At least 8 characters. Your other devices will be signed out."
        value={next}
        onChange={(event) => setNext(event.target.value)}
        error={errors.new_password}
        testId="password-new"
      />
      <FormField
        label="Repeat the new password"
        type="password"
        autoComplete="new-password"
        value={repeat}
        onChange={(event) => setRepeat(event.target.value)}
        error={errors.repeat}
        testId="password-repeat"
      />
      <p
        className={feedback?.kind === 'error' ? 'form-error' : 'notice'}
        role={feedback?.kind === 'error' ? 'alert' : 'status'}
        data-testid="password-feedback"
        hidden={!feedback}
      >
        {feedback?.text}
      </p>
      <div className="actions">
        <button type="submit" className="button secondary" disabled={busy} data-testid="password-save">
          {busy ? 'Changing...' : 'Change password'}
        </button>
      </div>
    </form>
  );
}
