import { useEffect, useId, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { describeError } from '../api/errors';
import { searchMessages } from '../api/http';
import { useChat, useChatState } from '../chat/ChatContext';
import { conversationTitle } from '../chat/conversations';
import { formatListTime } from '../chat/format';
import { groupByConversation, highlightParts, searchable, type SearchResult } from '../chat/search';
import { displayName } from '../chat/names';

/** Wait this long after the last key before asking the server. */
const DEBOUNCE_MS = 250;
const PAGE = 20;

type SearchState =
  | { status: 'idle' }
  | { status: 'searching' }
  | { status: 'done'; results: SearchResult[]; hasMore: boolean }
  | { status: 'error'; error: string };

interface MessageSearchProps {
  /** The conversation on screen, offered as the scope. */
  openConversationId: number | null;
  /** Whether a query is being shown (the list makes room for the results). */
  onActiveChange: (active: boolean) => void;
}

/**
 * The message search of the sidebar: all conversations or the open one, results grouped by
 * conversation with the matched words highlighted; choosing one opens its conversation at it.
 * Escape clears the box.
 */
export function MessageSearch({ openConversationId, onActiveChange }: MessageSearchProps) {
  const client = useChat();
  const navigate = useNavigate();
  const conversations = useChatState((s) => s.conversations);
  const [query, setQuery] = useState('');
  const [onlyOpen, setOnlyOpen] = useState(false);
  const [state, setState] = useState<SearchState>({ status: 'idle' });
  const [loadingMore, setLoadingMore] = useState(false);
  const resultsId = useId();
  const input = useRef<HTMLInputElement>(null);
  const scope = onlyOpen && openConversationId !== null ? openConversationId : undefined;
  const active = query.trim().length > 0;

  useEffect(() => onActiveChange(active), [active, onActiveChange]);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setState({ status: 'idle' });
      return;
    }
    if (!searchable(q)) {
      setState({ status: 'done', results: [], hasMore: false });
      return;
    }
    const abort = new AbortController();
    const timer = window.setTimeout(() => {
      setState({ status: 'searching' });
      searchMessages({ query: q, conversationId: scope, limit: PAGE }, abort.signal)
        .then((page) => setState({ status: 'done', results: page.results, hasMore: page.has_more }))
        .catch((error: unknown) => {
          if (!abort.signal.aborted) setState({ status: 'error', error: describeError(error).message });
        });
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      abort.abort();
    };
  }, [query, scope]);

  async function more() {
    if (state.status !== 'done') return;
    setLoadingMore(true);
    try {
      const page = await searchMessages({ query: query.trim(), conversationId: scope, limit: PAGE, offset: state.results.length });
      setState({ status: 'done', results: [...state.results, ...page.results], hasMore: page.has_more });
    } catch (error) {
      setState({ status: 'error', error: describeError(error).message });
    } finally {
      setLoadingMore(false);
    }
  }

  function open(result: SearchResult) {
    const { conversation_id: id, id: messageId, seq } = result.message;
    navigate(`/c/${id}?message=${messageId}&seq=${seq}`);
  }

  const titleOf = (id: number) => {
    const conversation = conversations.find((c) => c.id === id);
    return conversation ? conversationTitle(conversation, client.me.id) : 'Conversation';
  };

  return (
    <div className="message-search" role="search" data-testid="message-search">
      <label htmlFor={`${resultsId}-input`} className="visually-hidden">
        Search messages
      </label>
      <input
        id={`${resultsId}-input`}
        ref={input}
        type="search"
        className="message-search-input"
        placeholder="Search messages"
        value={query}
        maxLength={200}
        autoComplete="off"
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setQuery('');
        }}
        aria-controls={active ? resultsId : undefined}
        data-testid="message-search-input"
      />
      {active && openConversationId !== null ? (
        <label className="message-search-scope">
          <input
            type="checkbox"
            checked={onlyOpen}
            onChange={(e) => setOnlyOpen(e.target.checked)}
            data-testid="message-search-scope"
          />{' '}
          Only in the open conversation
        </label>
      ) : null}
      {active ? (
        <div id={resultsId} className="message-search-results" aria-live="polite" data-testid="message-search-results">
          {state.status === 'searching' ? <p className="muted">Searching...</p> : null}
          {state.status === 'error' ? (
            <p className="form-error" role="alert">
              {state.error}
            </p>
          ) : null}
          {state.status === 'done' && state.results.length === 0 ? (
            <p className="muted" data-testid="message-search-empty">
              No messages found.
            </p>
          ) : null}
          {state.status === 'done'
            ? groupByConversation(state.results).map((group) => (
                <section key={group.conversationId} className="search-group" aria-label={titleOf(group.conversationId)}>
                  <h2 className="search-group-title">{titleOf(group.conversationId)}</h2>
                  <ul>
                    {group.results.map((result) => (
                      <li key={result.message.id}>
                        <button
                          type="button"
                          className="search-result"
                          onClick={() => open(result)}
                          data-testid="message-search-result"
                          data-message-id={result.message.id}
                          data-conversation-id={result.message.conversation_id}
                        >
                          <span className="search-result-row">
                            <span className="search-result-sender">
                              {result.message.sender_id === client.me.id ? 'You' : displayName(result.message.sender)}
                            </span>
                            <time dateTime={result.message.created_at}>{formatListTime(result.message.created_at)}</time>
                          </span>
                          <span className="search-result-snippet">
                            {highlightParts(result.snippet, result.highlights).map((part, i) =>
                              part.mark ? <mark key={i}>{part.text}</mark> : <span key={i}>{part.text}</span>,
                            )}
                          </span>
                        </button>
                      </li>
                    ))}
                  </ul>
                </section>
              ))
            : null}
          {state.status === 'done' && state.hasMore ? (
            <button type="button" className="button link" onClick={() => void more()} disabled={loadingMore} data-testid="message-search-more">
              {loadingMore ? 'Loading...' : 'More results'}
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
