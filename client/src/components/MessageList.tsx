import { Fragment, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { SERVER_URL } from '../api/http';
import type { Conversation, Message, MessageAttachment } from '../api/types';
import { hidesMessage } from '../chat/blocks';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { directPeer } from '../chat/conversations';
import { attachmentOf } from '../chat/files';
import { dayLabel, formatFullTime, formatMessageTime, sameDay } from '../chat/format';
import { splitMentions } from '../chat/mentions';
import { serverAddress, thumbnailUrl } from '../chat/media';
import type { OutgoingMessage } from '../chat/outbox';
import { RECEIPT_LABEL, covers, receiptState, seqIndex, type ReceiptState } from '../chat/receipts';
import { FileCard, VoicePlayer } from './Attachments';
import { EditForm, MessageActions, useLongPressMenu } from './MessageActions';
import { Reactions } from './Reactions';
import { ReplyQuote } from './ReplyQuote';
import { displayName } from '../chat/names';

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

interface MessageBodyProps {
  type: Message['message_type'];
  content: string;
  fileUrl: string | null;
  /** The upload of an audio or file message (see `attachmentOf`). */
  attachment?: MessageAttachment | null;
  /** Whether the message names members (`@username` is then shown as a mention). */
  mentions?: boolean;
}

function MessageBody({ type, content, fileUrl, attachment = null, mentions = false }: MessageBodyProps) {
  if ((type === 'audio' || type === 'file') && attachment) {
    const href = serverAddress(attachment.url, SERVER_URL);
    return (
      <>
        {type === 'audio' ? <VoicePlayer attachment={attachment} src={href} /> : <FileCard attachment={attachment} href={href} />}
        {content ? <p className="message-text">{mentions ? <MentionedText content={content} /> : content}</p> : null}
      </>
    );
  }
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
  return <p className="message-text">{mentions ? <MentionedText content={content} /> : content}</p>;
}

/** Text with its `@username`s marked; the user's own name stands out. */
function MentionedText({ content }: { content: string }) {
  const client = useChat();
  const me = `@${client.me.username}`.toLowerCase();
  return (
    <>
      {splitMentions(content).map((part, i) =>
        part.mention ? (
          <span key={i} className={`mention${part.text.toLowerCase() === me ? ' mention-me' : ''}`} data-testid="mention">
            {part.text}
          </span>
        ) : (
          part.text
        ),
      )}
    </>
  );
}

interface MessageListProps {
  conversation: Conversation | undefined;
  conversationId: number;
  /** Reply to a message (the composer quotes it). */
  onReply?: (message: Message) => void;
  /** Show a message's thread. */
  onOpenThread?: (message: Message) => void;
  /** Scroll to this message and mark it for a moment once it is held (a search result). */
  focusMessageId?: number;
}

/** The conversation's messages, oldest at the top, with pending ones at the end. */
export function MessageList({ conversation, conversationId, onReply, onOpenThread, focusMessageId }: MessageListProps) {
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

  // A message to show: once it is held, bring it into view (and stop following the bottom).
  const focused = useRef<number | undefined>(undefined);
  const focusHeld = focusMessageId !== undefined && thread.messages.some((m) => m.id === focusMessageId);
  useLayoutEffect(() => {
    if (!focusHeld || focused.current === focusMessageId) return;
    const target = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${focusMessageId}"]`);
    if (!target) return;
    focused.current = focusMessageId;
    nearBottom.current = false;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('highlighted');
    window.setTimeout(() => target.classList.remove('highlighted'), 2000);
    // Images above it that load later push it down: center it again as they arrive (briefly).
    const recenter = () => target.scrollIntoView({ block: 'center' });
    const loading = [...(scroller.current?.querySelectorAll('img') ?? [])].filter((img) => !img.complete);
    for (const img of loading) img.addEventListener('load', recenter, { once: true });
    window.setTimeout(() => loading.forEach((img) => img.removeEventListener('load', recenter)), 3000);
  });

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
                  conversationType={conversation?.type}
                  onReply={onReply}
                  onOpenThread={onOpenThread}
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
  onReply?: (message: Message) => void;
  onOpenThread?: (message: Message) => void;
  /** Leaves out the quote of this message (replies shown in its thread). */
  hideQuoteOf?: number;
  /** The conversation's type: in a group, a blocked user's message stays behind a row until shown. */
  conversationType?: Conversation['type'];
}

export function MessageRow({
  message,
  own,
  showSender,
  seen,
  receipt,
  onReply,
  onOpenThread,
  hideQuoteOf,
  conversationType,
}: MessageRowProps) {
  const [editing, setEditing] = useState(false);
  const [revealed, setRevealed] = useState(false);
  const hidden = useChatState((s) => hidesMessage(s.blocks, message, conversationType)) && !revealed;
  const item = useRef<HTMLLIElement>(null);
  const menu = useLongPressMenu(item);
  const [picking, setPicking] = useState(false);
  const pickerId = useId();
  // Closing the touch menu closes the picker it opened.
  useEffect(() => {
    if (!menu.open) setPicking(false);
  }, [menu.open]);
  // The Show button is gone once the message shows: focus goes to the message.
  useEffect(() => {
    if (revealed) item.current?.focus();
  }, [revealed]);
  if (hidden) {
    return (
      <li
        className="message other blocked-message"
        data-testid="message-item"
        data-message-id={message.id}
        data-seq={message.seq}
        data-status="sent"
        data-message-type={message.message_type}
        data-hidden="blocked"
      >
        <p className="blocked-message-row" data-testid="blocked-message">
          <span>Message from a blocked user</span>
          <button
            type="button"
            className="button link"
            onClick={() => setRevealed(true)}
            aria-label="Show the message from a blocked user"
            data-testid="blocked-message-show"
          >
            Show
          </button>
        </p>
      </li>
    );
  }
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
      ref={item}
      className={`message ${own ? 'own' : 'other'}${menu.open ? ' menu-open' : ''}`}
      tabIndex={revealed ? -1 : undefined}
      {...menu.handlers}
      data-testid="message-item"
      data-message-id={message.id}
      data-seq={message.seq}
      data-client-id={message.client_id ?? undefined}
      data-status="sent"
      data-message-type={message.message_type}
    >
      {showSender ? <span className="message-sender">{displayName(message.sender)}</span> : null}
      <div className="bubble">
        <span className="visually-hidden">{own ? 'You:' : `${displayName(message.sender)}:`}</span>
        {message.reply_to && message.reply_to.id !== hideQuoteOf ? <ReplyQuote quote={message.reply_to} /> : null}
        {message.deleted_at ? (
          <p className="message-deleted" data-testid="message-deleted">
            Message deleted
          </p>
        ) : editing ? (
          <EditForm message={message} onDone={() => setEditing(false)} />
        ) : (
          <MessageBody
            type={message.message_type}
            content={message.content}
            fileUrl={message.file_url}
            attachment={attachmentOf(message)}
            mentions={(message.mentions?.length ?? 0) > 0}
          />
        )}
        <span className="message-meta">
          {message.reply_count ? (
            <button
              type="button"
              className="message-replies"
              data-testid="message-replies"
              onClick={() => onOpenThread?.(message)}
              aria-label={`${message.reply_count === 1 ? '1 reply' : `${message.reply_count} replies`}: show the thread`}
            >
              {message.reply_count === 1 ? '1 reply' : `${message.reply_count} replies`}
            </button>
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
      {message.deleted_at ? null : (
        <Reactions message={message} picking={picking} setPicking={setPicking} pickerId={pickerId} />
      )}
      {!message.deleted_at && !editing ? (
        <MessageActions
          message={message}
          own={own}
          picking={picking}
          onPick={() => setPicking((open) => !open)}
          pickerId={pickerId}
          onReply={onReply}
          onEdit={() => setEditing(true)}
          onDone={menu.close}
        />
      ) : null}
    </li>
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
        <MessageBody
          type={item.message_type}
          content={item.content}
          fileUrl={item.file_url ?? null}
          attachment={attachmentOf({ ...item, file_url: item.file_url ?? null })}
        />
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
