import { useEffect, useId, useState } from 'react';
import axios from 'axios';
import { describeError } from '../api/errors';
import { searchUsers } from '../api/http';
import type { User } from '../api/types';
import { Avatar } from './Avatar';
import { displayName, fullName, smallAvatar } from '../chat/names';

interface UserSearchProps {
  onPick: (user: User) => void;
  /** Users not to offer (already picked). */
  excludeIds?: readonly number[];
  /** Action label on each result, e.g. "Message" or "Add". */
  actionLabel: string;
  disabled?: boolean;
  autoFocus?: boolean;
}

/** Searches users by name as the user types. */
export function UserSearch({ onPick, excludeIds = [], actionLabel, disabled, autoFocus }: UserSearchProps) {
  const inputId = useId();
  const resultsId = useId();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [status, setStatus] = useState<'idle' | 'searching' | 'done' | 'error'>('idle');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const text = query.trim();
    if (!text) {
      setResults([]);
      setStatus('idle');
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      setStatus('searching');
      try {
        const users = await searchUsers(text, controller.signal);
        setResults(users);
        setStatus('done');
        setError(null);
      } catch (err) {
        if (axios.isCancel(err)) return;
        setError(describeError(err).message);
        setStatus('error');
      }
    }, 250);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query]);

  const shown = results.filter((user) => !excludeIds.includes(user.id));

  return (
    <div className="user-search">
      <label htmlFor={inputId}>Find people</label>
      <input
        id={inputId}
        type="search"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
        placeholder="Search by name or username"
        autoComplete="off"
        autoFocus={autoFocus}
        aria-controls={resultsId}
        data-testid="user-search-input"
      />
      <div id={resultsId} aria-live="polite" className="user-search-results">
        {status === 'searching' ? <p className="muted">Searching...</p> : null}
        {status === 'error' ? <p className="form-error" role="alert">{error}</p> : null}
        {status === 'done' && shown.length === 0 ? (
          <p className="muted">{results.length === 0 ? 'No users found.' : 'Everyone found is already added.'}</p>
        ) : null}
        {shown.length > 0 ? (
          <ul className="user-list">
            {shown.map((user) => (
              <li key={user.id}>
                <button
                  type="button"
                  className="user-result"
                  onClick={() => onPick(user)}
                  disabled={disabled}
                  data-testid="user-search-result"
                  data-user-id={user.id}
                  aria-label={`${actionLabel} ${fullName(user)}`}
                >
                  <Avatar name={displayName(user)} url={smallAvatar(user.avatar_url)} status={user.status} size="small" />
                  <span className="user-result-name">{displayName(user)}</span>
                  {user.display_name ? <span className="user-result-username muted">@{user.username}</span> : null}
                  <span className="user-result-action" aria-hidden="true">
                    {actionLabel}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </div>
  );
}
