import { useEffect, useId, useMemo, useState, useSyncExternalStore } from 'react';
import { Link, useNavigate } from 'react-router';
import { describeError } from '../api/errors';
import { listRooms } from '../api/http';
import { useChat, useChatState } from '../chat/ChatContext';
import { RoomDirectory, memberCountLabel, roomEntries, type RoomEntry } from '../chat/rooms';
import { onlineCountLabel } from '../chat/conversations';
import { Avatar } from '../components/Avatar';
import { NewGroupDialog } from '../components/NewGroupDialog';

/** The public rooms: find one, join it (then it opens), leave one, or create a new one. */
export function RoomsPage() {
  const client = useChat();
  const navigate = useNavigate();
  const filterId = useId();
  const [directory] = useState(
    () =>
      new RoomDirectory({
        api: { listRooms },
        membership: client,
        describeError: (error) => describeError(error).message,
      }),
  );
  const state = useSyncExternalStore(directory.subscribe, directory.getState);
  const conversations = useChatState((s) => s.conversations);
  const conversationsReady = useChatState((s) => s.conversationsStatus === 'ready');
  const onlineCounts = useChatState((s) => s.onlineCounts);
  const [filter, setFilter] = useState('');
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    void directory.load();
  }, [directory]);

  useEffect(() => {
    document.title = 'Rooms - Chat';
    return () => {
      document.title = 'Chat';
    };
  }, []);

  const entries = useMemo(
    () => roomEntries(state.rooms, conversationsReady ? conversations : null, filter),
    [state.rooms, conversations, conversationsReady, filter],
  );

  async function join(id: number) {
    const conversation = await directory.join(id);
    if (conversation) navigate(`/c/${conversation.id}`);
  }

  return (
    <section className="rooms-page" aria-labelledby="rooms-title" data-testid="rooms-page">
      <header className="conversation-header">
        <Link to="/" className="back-link" aria-label="Back to conversations">
          <span aria-hidden="true">‹</span>
        </Link>
        <div className="conversation-heading">
          <h1 id="rooms-title">Public rooms</h1>
          <p className="conversation-subtitle">Rooms anyone can join</p>
        </div>
        <div className="conversation-actions">
          <button
            type="button"
            className="button primary compact"
            onClick={() => setCreating(true)}
            aria-haspopup="dialog"
            data-testid="create-room-button"
          >
            New room
          </button>
        </div>
      </header>
      <div className="rooms-toolbar">
        <label htmlFor={filterId} className="visually-hidden">
          Filter rooms by name
        </label>
        <input
          id={filterId}
          type="search"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
          placeholder="Filter rooms by name"
          autoComplete="off"
          data-testid="rooms-filter"
        />
        <button
          type="button"
          className="button secondary compact"
          onClick={() => void directory.load()}
          disabled={state.status === 'loading'}
          data-testid="rooms-refresh"
        >
          Refresh
        </button>
      </div>
      <div className="rooms-scroller" aria-busy={state.status === 'loading' || state.loadingMore}>
        {state.status === 'loading' || state.status === 'idle' ? <p className="list-placeholder muted">Loading rooms...</p> : null}
        {state.error ? (
          <div className="list-placeholder" role="alert" data-testid="rooms-error">
            <p>{state.error}</p>
            <button type="button" className="button secondary" onClick={() => void directory.load()}>
              Try again
            </button>
          </div>
        ) : null}
        {state.status === 'ready' && entries.length === 0 ? (
          <p className="list-placeholder muted" data-testid="rooms-empty">
            {state.rooms.length === 0 ? 'There are no public rooms yet. Create the first one.' : 'No room matches this name.'}
          </p>
        ) : null}
        {entries.length > 0 ? (
          <ul className="room-list" aria-label="Public rooms" data-testid="room-list">
            {entries.map((entry) => (
              <RoomItem
                key={entry.room.id}
                entry={entry}
                online={onlineCounts[entry.room.id] ?? entry.room.online_count}
                pending={state.pending[entry.room.id]}
                error={state.errors[entry.room.id]}
                onJoin={() => void join(entry.room.id)}
                onLeave={() => void directory.leave(entry.room.id)}
              />
            ))}
          </ul>
        ) : null}
        {state.status === 'ready' && state.hasMore ? (
          <div className="load-older">
            <button
              type="button"
              className="button link"
              onClick={() => void directory.loadMore()}
              disabled={state.loadingMore}
              data-testid="rooms-load-more"
            >
              {state.loadingMore ? 'Loading more rooms...' : 'More rooms'}
            </button>
          </div>
        ) : null}
      </div>
      {creating ? <NewGroupDialog initialPublic onClose={() => setCreating(false)} /> : null}
    </section>
  );
}

interface RoomItemProps {
  entry: RoomEntry;
  /** Members online: live for rooms the user is in, as listed for the others. */
  online: number | undefined;
  pending: 'join' | 'leave' | undefined;
  error: string | undefined;
  onJoin: () => void;
  onLeave: () => void;
}

function RoomItem({ entry, online, pending, error, onJoin, onLeave }: RoomItemProps) {
  const { room, isMember, memberCount } = entry;
  const name = room.name?.trim() || 'Room';
  return (
    <li
      className="room-item"
      data-testid="room-item"
      data-room-id={room.id}
      data-member={isMember ? 'true' : 'false'}
    >
      <Avatar name={name} />
      <span className="room-item-body">
        <span className="room-name" data-testid="room-name">
          {name}
        </span>
        <span className="room-meta muted">
          <span data-testid="room-member-count">{memberCountLabel(memberCount)}</span>
          {online !== undefined ? (
            <span className="room-online" data-testid="room-online-count" data-online-count={online}>
              {onlineCountLabel(online)}
            </span>
          ) : null}
          {isMember ? (
            <span className="badge" data-testid="room-joined">
              Joined
            </span>
          ) : null}
        </span>
      </span>
      <span className="room-actions">
        {isMember ? (
          <>
            <Link to={`/c/${room.id}`} className="button secondary compact" aria-label={`Open ${name}`} data-testid="room-open">
              Open
            </Link>
            <button
              type="button"
              className="button link danger"
              onClick={onLeave}
              disabled={pending !== undefined}
              aria-label={`Leave ${name}`}
              data-testid="room-leave"
            >
              {pending === 'leave' ? 'Leaving...' : 'Leave'}
            </button>
          </>
        ) : (
          <button
            type="button"
            className="button primary compact"
            onClick={onJoin}
            disabled={pending !== undefined}
            aria-label={`Join ${name}`}
            data-testid="room-join"
          >
            {pending === 'join' ? 'Joining...' : 'Join'}
          </button>
        )}
      </span>
      {error ? (
        <p className="form-error room-error" role="alert" data-testid="room-error">
          {error}
        </p>
      ) : null}
    </li>
  );
}
