import { Fragment, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { SERVER_URL } from '../api/http';
import type { Conversation, Message, ReplyPreview } from '../api/types';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { directPeer } from '../chat/conversations';
import { dayLabel, formatFullTime, formatMessageTime, sameDay } from '../chat/format';
import { serverAddress, thumbnailUrl } from '../chat/media';
import type { OutgoingMessage } from '../chat/outbox';
import { RECEIPT_LABEL, covers, receiptState, seqIndex, type ReceiptState } from '../chat/receipts';

const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 150;

type Row =
  | { kind: 'message'; key: string; at: string; message: Message }
  | { kind: 'outgoing'; key: string; at: string; item: OutgoingMessage };

const OUTGOING_STATUS: Record<OutgoingMessage['status'], string> = {
  queued: 'Waiting for connection',
  sending: 'Sending...',
  failed: 'Not sent',
};

function MessageBody({ type, content, fileUrl }: { type: Message['message_type']; content: string; fileUrl: string | null }) {
  if (type === 'image' && fileUrl) {
    // The thumbnail in the conversation, the full image behind the link.
    return (
      <>
        <a href={serverAddress(fileUrl, SERVER_URL)} target="_blank" rel="noreferrer" className="message-image">
          <img
            src={serverAddress(thumbnailUrl(fileUrl), SERVER_URL)}
            alt={content || 'Shared image'}
            loading="lazy"
            data-testid="message-image"
          />
        </a>
        {content ? <p className="message-text">{content}</p> : null}
      </>
    );
  }
  return <p className="message-text">{content}</p>;
}

interface MessageListProps {
  conversation: Conversation | undefined;
  conversationId: number;
}

/** The conversation's messages, oldest at the top, with pending ones at the end. */
export function MessageList({ conversation, conversationId }: MessageListProps) {
  const client = useChat();
  const meId = client.me.id;
  const thread = useChatState((s) => s.threads[conversationId] ?? emptyThread);
  const allOutgoing = useChatState((s) => s.outgoing);
  const readUpTo = useChatState((s) => s.readUpTo[conversationId]);
  const deliveredUpTo = useChatState((s) => s.deliveredUpTo[conversationId]);
  const seqById = useMemo(() => seqIndex(thread.messages), [thread.messages]);

  const outgoing = useMemo(
    () => allOutgoing.filter((item) => item.conversation_id === conversationId),
    [allOutgoing, conversationId],
  );

  const rows = useMemo<Row[]>(
    () => [
      ...thread.messages.map((message) => ({
        kind: 'message' as const,
        key: `m${message.id}`,
        at: message.created_at,
        message,
      })),
      ...outgoing.map((item) => ({ kind: 'outgoing' as const, key: `o${item.client_id}`, at: item.created_at, item })),
    ],
    [thread.messages, outgoing],
  );

  // In a direct chat, "Seen" goes under the newest own message the other user has read.
  const seenMessageId = useMemo(() => {
    const peer = conversation ? directPeer(conversation, meId) : undefined;
    const pointer = peer ? readUpTo?.[peer.id] : undefined;
    if (pointer === undefined) return undefined;
    let seen: number | undefined;
    for (const message of thread.messages) {
      if (message.sender_id === meId && message.message_type !== 'system' && covers(pointer, message, seqById)) {
        seen = message.id;
      }
    }
    return seen;
  }, [conversation, meId, readUpTo, thread.messages, seqById]);

  const scroller = useRef<HTMLDivElement>(null);
  const nearBottom = useRef(true);
  const lastHeight = useRef(0);
  const lastFirstSeq = useRef<number | undefined>(undefined);
  const lastOutgoingCount = useRef(0);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const firstSeq = thread.messages[0]?.seq;
    const olderPrepended =
      lastFirstSeq.current !== undefined && firstSeq !== undefined && firstSeq < lastFirstSeq.current;
    const ownMessageAdded = outgoing.length > lastOutgoingCount.current;
    if (olderPrepended) {
      // Keep the messages in view where they were.
      element.scrollTop += element.scrollHeight - lastHeight.current;
    } else if (nearBottom.current || ownMessageAdded) {
      element.scrollTop = element.scrollHeight;
      nearBottom.current = true;
    }
    lastHeight.current = element.scrollHeight;
    lastFirstSeq.current = firstSeq;
    lastOutgoingCount.current = outgoing.length;
  }, [thread.messages, outgoing.length]);

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    nearBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
    lastHeight.current = element.scrollHeight;
    if (element.scrollTop < NEAR_TOP_PX && thread.hasOlder && !thread.loadingOlder) {
      void client.loadOlder(conversationId);
    }
  }

  const isGroup = conversation?.type === 'group';

  return (
    <div className="message-scroller" ref={scroller} onScroll={onScroll}>
      {thread.hasOlder ? (
        <div className="load-older">
          <button
            type="button"
            className="button link"
            onClick={() => void client.loadOlder(conversationId)}
            disabled={thread.loadingOlder}
            data-testid="load-older"
          >
            {thread.loadingOlder ? 'Loading earlier messages...' : 'Load earlier messages'}
          </button>
        </div>
      ) : null}
      {thread.status === 'loading' && rows.length === 0 ? <p className="thread-placeholder muted">Loading messages...</p> : null}
      {thread.status === 'error' ? (
        <div className="thread-placeholder" role="alert">
          <p>{thread.error ?? 'Could not load messages.'}</p>
          <button type="button" className="button secondary" onClick={() => void client.loadLatest(conversationId)}>
            Try again
          </button>
        </div>
      ) : null}
      {thread.status === 'ready' && rows.length === 0 ? (
        <p className="thread-placeholder muted">No messages yet. Say hello!</p>
      ) : null}
      <ol className="message-list" role="log" aria-label="Messages" data-testid="message-list">
        {rows.map((row, index) => {
          const previous = rows[index - 1];
          const newDay = !previous || !sameDay(previous.at, row.at);
          return (
            <Fragment key={row.key}>
              {newDay ? (
                <li className="day-separator">
                  <span>{dayLabel(row.at)}</span>
                </li>
              ) : null}
              {row.kind === 'message' ? (
                <MessageRow
                  message={row.message}
                  own={row.message.sender_id === meId}
                  showSender={
                    isGroup &&
                    row.message.sender_id !== meId &&
                    (newDay ||
                      previous?.kind !== 'message' ||
                      previous.message.message_type === 'system' ||
                      previous.message.sender_id !== row.message.sender_id)
                  }
                  seen={row.message.id === seenMessageId}
                  receipt={
                    row.message.sender_id === meId
                      ? receiptState(row.message, meId, readUpTo, deliveredUpTo, seqById)
                      : undefined
                  }
                />
              ) : (
                <OutgoingRow item={row.item} />
              )}
            </Fragment>
          );
        })}
      </ol>
    </div>
  );
}

/** One tick: stored; two: delivered to another member; two highlighted: read by another member. */
function Ticks({ state }: { state: ReceiptState }) {
  return (
    <span
      className={`ticks ticks-${state}`}
      role="img"
      aria-label={RECEIPT_LABEL[state]}
      title={RECEIPT_LABEL[state]}
      data-testid="message-ticks"
      data-receipt={state}
    >
      <svg viewBox="0 0 20 12" width="18" height="11" aria-hidden="true" focusable="false">
        <path d="M1.5 6.5l3.5 3.5 7-8" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        {state !== 'sent' ? (
          <path d="M8.5 9.2l.8.8 7-8" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        ) : null}
      </svg>
    </span>
  );
}

interface MessageRowProps {
  message: Message;
  own: boolean;
  showSender: boolean;
  seen: boolean;
  /** Ticks of an own message. */
  receipt?: ReceiptState;
}

function MessageRow({ message, own, showSender, seen, receipt }: MessageRowProps) {
  const [editing, setEditing] = useState(false);
  if (message.message_type === 'system') {
    // A notice about a member joining, being added or leaving: centered, not a bubble.
    return (
      <li
        className="message system"
        data-testid="message-item"
        data-message-id={message.id}
        data-seq={message.seq}
        data-status="sent"
        data-message-type="system"
      >
        <p className="system-notice" data-testid="system-notice">
          {message.content}{' '}
          <time className="visually-hidden" dateTime={message.created_at}>
            {formatMessageTime(message.created_at)}
          </time>
        </p>
      </li>
    );
  }
  return (
    <li
      className={`message ${own ? 'own' : 'other'}`}
      data-testid="message-item"
      data-message-id={message.id}
      data-seq={message.seq}
      data-client-id={message.client_id ?? undefined}
      data-status="sent"
      data-message-type={message.message_type}
    >
      {showSender ? <span className="message-sender">{message.sender.username}</span> : null}
      <div className="bubble">
        <span className="visually-hidden">{own ? 'You:' : `${message.sender.username}:`}</span>
        {message.reply_to ? <ReplyQuote quote={message.reply_to} /> : null}
        {message.deleted_at ? (
          <p className="message-deleted" data-testid="message-deleted">
            Message deleted
          </p>
        ) : editing ? (
          <EditForm message={message} onDone={() => setEditing(false)} />
        ) : (
          <MessageBody type={message.message_type} content={message.content} fileUrl={message.file_url} />
        )}
        <span className="message-meta">
          {message.reply_count ? (
            <span className="message-replies" data-testid="message-replies">
              {message.reply_count === 1 ? '1 reply' : `${message.reply_count} replies`}
            </span>
          ) : null}
          {message.edited_at && !message.deleted_at ? (
            <span className="message-edited" data-testid="message-edited" title={formatFullTime(message.edited_at)}>
              edited
            </span>
          ) : null}
          <time dateTime={message.created_at} title={formatFullTime(message.created_at)}>
            {formatMessageTime(message.created_at)}
          </time>
          {receipt ? <Ticks state={receipt} /> : null}
          {seen ? (
            <span className="message-seen" data-testid="message-seen">
              Seen
            </span>
          ) : null}
        </span>
      </div>
      {message.deleted_at ? null : <Reactions message={message} />}
      {own && !message.deleted_at && !editing ? (
        <OwnMessageActions message={message} onEdit={() => setEditing(true)} />
      ) : null}
    </li>
  );
}

/** Inline editor of one's own text message: Enter saves, Esc cancels. */
function EditForm({ message, onDone }: { message: Message; onDone: () => void }) {
  const client = useChat();
  const [text, setText] = useState(message.content);
  const [error, setError] = useState<string | null>(null);
  async function save() {
    const content = text.trim();
    if (!content || content === message.content) return onDone();
    const failed = await client.changeMessage(message.conversation_id, message.id, content);
    if (failed) setError(failed);
    else onDone();
  }
  return (
    <form
      className="edit-form"
      data-testid="edit-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <textarea
        aria-label="Edit message"
        data-testid="edit-input"
        value={text}
        autoFocus
        rows={2}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onDone();
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void save();
          }
        }}
      />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <span className="edit-actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" data-testid="edit-save">
          Save
        </button>
      </span>
    </form>
  );
}

/** Edit and Delete for one's own message; Delete asks first. */
function OwnMessageActions({ message, onEdit }: { message: Message; onEdit: () => void }) {
  const client = useChat();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function remove() {
    const failed = await client.changeMessage(message.conversation_id, message.id, null);
    setConfirming(false);
    if (failed) setError(failed);
  }
  if (confirming) {
    return (
      <div className="message-actions confirming" role="group" aria-label="Delete this message?" data-testid="delete-confirm">
        <span>Delete this message for everyone?</span>
        <button type="button" onClick={() => setConfirming(false)}>
          Cancel
        </button>
        <button type="button" className="danger" data-testid="delete-confirm-button" onClick={() => void remove()}>
          Delete
        </button>
      </div>
    );
  }
  return (
    <div className="message-actions" data-testid="message-actions">
      {message.message_type === 'text' ? (
        <button type="button" data-testid="edit-message" onClick={onEdit}>
          Edit
        </button>
      ) : null}
      <button type="button" data-testid="delete-message" onClick={() => setConfirming(true)}>
        Delete
      </button>
      {error ? (
        <span className="form-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** Emoji offered for a quick reaction. */
const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/** A message's reactions as chips (activating one toggles the user's own), and a picker to add one. */
function Reactions({ message }: { message: Message }) {
  const client = useChat();
  const [picking, setPicking] = useState(false);
  const mine = message.my_reactions ?? [];
  const toggle = (emoji: string) => {
    setPicking(false);
    void client.toggleReaction(message.conversation_id, message.id, emoji);
  };
  return (
    <div className="reactions" data-testid="reactions">
      {(message.reactions ?? []).map((r) => {
        const own = mine.includes(r.emoji);
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction-chip${own ? ' own' : ''}`}
            data-testid="reaction-chip"
            data-emoji={r.emoji}
            aria-pressed={own}
            aria-label={`${r.emoji} ${r.count}${own ? ', including you' : ''}`}
            title={own ? 'You reacted; activate to take it back' : 'Activate to react too'}
            onClick={() => toggle(r.emoji)}
          >
            {r.emoji} <span className="reaction-count">{r.count}</span>
          </button>
        );
      })}
      <button
        type="button"
        className="reaction-add"
        data-testid="reaction-add"
        aria-expanded={picking}
        aria-label="Add a reaction"
        onClick={() => setPicking((open) => !open)}
      >
        +☺
      </button>
      {picking ? (
        <div className="reaction-picker" role="group" aria-label="Reactions" data-testid="reaction-picker">
          {QUICK_REACTIONS.map((emoji) => (
            <button key={emoji} type="button" aria-label={`React with ${emoji}`} onClick={() => toggle(emoji)}>
              {emoji}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}

/** The replied-to message above a reply; activating it scrolls to that message when it is shown. */
function ReplyQuote({ quote }: { quote: ReplyPreview }) {
  const text = quote.deleted ? 'Message deleted' : quote.message_type === 'image' && !quote.content ? 'Photo' : quote.content;
  function show() {
    const target = document.querySelector<HTMLElement>(`[data-message-id="${quote.id}"]`);
    if (!target) return;
    target.scrollIntoView({ block: 'center', behavior: 'smooth' });
    target.classList.add('highlighted');
    window.setTimeout(() => target.classList.remove('highlighted'), 1500);
  }
  return (
    <button type="button" className="reply-quote" data-testid="reply-quote" onClick={show}>
      <span className="visually-hidden">In reply to </span>
      <span className="reply-quote-sender">{quote.username}</span>
      <span className={`reply-quote-text${quote.deleted ? ' deleted' : ''}`}>{text}</span>
    </button>
  );
}

function OutgoingRow({ item }: { item: OutgoingMessage }) {
  const client = useChat();
  return (
    <li
      className={`message own pending status-${item.status}`}
      data-testid="message-item"
      data-client-id={item.client_id}
      data-status={item.status}
    >
      <div className="bubble">
        <span className="visually-hidden">You:</span>
        <MessageBody type={item.message_type} content={item.content} fileUrl={item.file_url ?? null} />
        <span className="message-meta">
          <span className="message-state" data-testid="message-state">
            {OUTGOING_STATUS[item.status]}
            {item.status === 'failed' && item.error ? `: ${item.error}` : null}
          </span>
        </span>
      </div>
      {item.status === 'failed' ? (
        <div className="message-actions">
          <button type="button" className="button link" onClick={() => client.retry(item.client_id)} data-testid="message-retry">
            Retry
          </button>
          <button type="button" className="button link" onClick={() => client.discard(item.client_id)} data-testid="message-discard">
            Delete
          </button>
        </div>
      ) : null}
    </li>
  );
}
