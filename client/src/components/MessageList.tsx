import { Fragment, useMemo } from 'react';
import type { Conversation, Message } from '../api/types';
import { useChat, useChatState } from '../chat/ChatContext';
import { emptyThread } from '../chat/client';
import { directPeer } from '../chat/conversations';
import { sameDay } from '../chat/format';
import type { OutgoingMessage } from '../chat/outbox';
import { covers, receiptState, seqIndex } from '../chat/receipts';
import { DaySeparator } from './DaySeparator';
import { MessageRow } from './MessageRow';
import { OutgoingRow } from './OutgoingRow';
import { useMessageScroll } from './useMessageScroll';

type Row =
  | { kind: 'message'; key: string; at: string; message: Message }
  | { kind: 'outgoing'; key: string; at: string; item: OutgoingMessage };

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

  const { scroller, onScroll } = useMessageScroll({
    conversationId,
    thread,
    outgoingCount: outgoing.length,
    focusMessageId,
  });

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
              {newDay ? <DaySeparator at={row.at} /> : null}
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
