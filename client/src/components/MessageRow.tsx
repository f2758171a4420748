import { useEffect, useId, useRef, useState } from 'react';
import type { Conversation, Message } from '../api/types';
import { hidesMessage } from '../chat/blocks';
import { useChatState } from '../chat/ChatContext';
import { attachmentOf } from '../chat/files';
import { formatFullTime, formatMessageTime } from '../chat/format';
import { displayName } from '../chat/names';
import type { ReceiptState } from '../chat/receipts';
import { EditForm, MessageActions, useLongPressMenu } from './MessageActions';
import { MessageBody } from './MessageBody';
import { Reactions } from './Reactions';
import { ReceiptTicks } from './ReceiptTicks';
import { ReplyQuote } from './ReplyQuote';

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

/**
 * One stored message: a bubble with its quote, body, meta line, reactions and menu; a centered notice
 * for a system message; a row with Show for a blocked user's message in a group.
 */
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
      className={`message ${own ? 'own' : 'other'}${message.message_type === 'call' ? ' call' : ''}${menu.open ? ' menu-open' : ''}`}
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
            call={message.call}
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
          {receipt ? <ReceiptTicks state={receipt} /> : null}
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
