import { useEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { fetchReplies } from '../api/http';
import { describeError } from '../api/errors';
import type { Conversation, Message } from '../api/types';
import { blockedPeer } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { formatFullTime, formatMessageTime } from '../chat/format';
import { mergeMessages } from '../chat/messages';
import { useMentionAutocomplete } from './MentionSuggestions';
import { BlockedNotice } from './BlockedNotice';
import { MessageRow } from './MessageRow';

interface ThreadPanelProps {
  conversation: Conversation;
  /** The message whose replies are shown. */
  parent: Message;
  onClose: () => void;
}

/**
 * A message's thread beside the conversation (over it on a phone): the message, its replies oldest
 * first (read page by page, then kept live), and a box that replies to it. Escape closes it.
 */
export function ThreadPanel({ conversation, parent, onClose }: ThreadPanelProps) {
  const client = useChat();
  const meId = client.me.id;
  const held = useChatState((s) => s.threads[conversation.id] ?? emptyThread);
  const outgoing = useChatState((s) => s.outgoing);
  const [fetched, setFetched] = useState<Message[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [status, setStatus] = useState<'loading' | 'ready' | 'error'>('loading');
  const [error, setError] = useState<string | null>(null);
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // The parent as the conversation holds it now (edited, deleted, more replies).
  const current = held.messages.find((m) => m.id === parent.id) ?? parent;

  async function load(after?: number) {
    try {
      const page = await fetchReplies(parent.id, { after });
      setFetched((f) => mergeMessages(f, page.messages));
      setHasMore(page.has_more);
      setStatus('ready');
    } catch (e) {
      setError(describeError(e).message);
      setStatus('error');
    }
  }

  useEffect(() => {
    void load();
    heading.current?.focus();
  }, [parent.id]);

  // Replies that arrived live, and later states of those read, win by revision.
  const replies = useMemo(
    () => mergeMessages(fetched, held.messages.filter((m) => m.reply_to?.id === parent.id)),
    [fetched, held.messages, parent.id],
  );
  const pending = outgoing.filter((o) => o.conversation_id === conversation.id && o.reply_to?.id === parent.id);

  const mentions = useMentionAutocomplete({ members: conversation.members, meId, input, setText });
  const blockedUser = useChatState((s) => blockedPeer(conversation, meId, s.blocks));

  function send(event?: FormEvent) {
    event?.preventDefault();
    if (client.send(conversation.id, text, current)) setText('');
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (mentions.onKeyDown(event)) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) send(event);
  }

  return (
    <aside
      className="thread-panel"
      aria-labelledby="thread-title"
      data-testid="thread-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented) onClose();
      }}
    >
      <header className="thread-header">
        <h2 id="thread-title" tabIndex={-1} ref={heading}>
          Thread
        </h2>
        <button type="button" className="button secondary compact" onClick={onClose} data-testid="thread-close" aria-label="Close the thread">
          Close
        </button>
      </header>
      <ol className="thread-messages" aria-label="The message and its replies" data-testid="thread-messages">
        <MessageRow
          message={current}
          own={current.sender_id === meId}
          showSender={current.sender_id !== meId}
          seen={false}
          conversationType={conversation.type}
        />
        <li className="thread-count" aria-live="polite">
          {replies.length === 1 ? '1 reply' : `${replies.length} replies`}
        </li>
        {replies.map((m) => (
          <MessageRow
            key={m.id}
            message={m}
            own={m.sender_id === meId}
            showSender={m.sender_id !== meId}
            seen={false}
            hideQuoteOf={parent.id}
            conversationType={conversation.type}
          />
        ))}
        {pending.map((o) => (
          <li key={o.client_id} className="message own pending" data-testid="thread-pending">
            <div className="bubble">
              <p className="message-text">{o.content}</p>
              <span className="message-meta">
                <time dateTime={o.created_at} title={formatFullTime(o.created_at)}>
                  {formatMessageTime(o.created_at)}
                </time>
              </span>
            </div>
          </li>
        ))}
      </ol>
      {status === 'loading' ? <p className="muted thread-status">Loading replies...</p> : null}
      {status === 'error' ? (
        <p className="form-error thread-status" role="alert">
          {error}{' '}
          <button type="button" className="button link" onClick={() => void load()}>
            Try again
          </button>
        </p>
      ) : null}
      {hasMore ? (
        <button
          type="button"
          className="button link"
          onClick={() => void load(fetched[fetched.length - 1]?.id)}
          data-testid="thread-more"
        >
          Show more replies
        </button>
      ) : null}
      {blockedUser ? (
        <BlockedNotice user={blockedUser} />
      ) : (
        <form className="composer thread-composer" onSubmit={send}>
          {mentions.list}
          <label htmlFor="thread-input" className="visually-hidden">
            Reply in thread
          </label>
          <textarea
            id="thread-input"
            ref={input}
            rows={1}
            value={text}
            placeholder="Reply in thread"
            onChange={(e) => {
              setText(e.target.value);
              mentions.track(e.target.value, e.target.selectionStart);
            }}
            onSelect={(e) => mentions.track(e.currentTarget.value, e.currentTarget.selectionStart)}
            onKeyDown={onKeyDown}
            data-testid="thread-input"
            {...mentions.comboboxProps}
          />
          <button type="submit" className="button primary send-button" disabled={!text.trim()} data-testid="thread-send">
            Send
          </button>
        </form>
      )}
    </aside>
  );
}
