import { useChat } from '../chat/ChatContext';
import { attachmentOf } from '../chat/files';
import type { OutgoingMessage } from '../chat/outbox';
import { MessageBody } from './MessageBody';

const OUTGOING_STATUS: Record<OutgoingMessage['status'], string> = {
  queued: 'Waiting for connection',
  sending: 'Sending...',
  failed: 'Not sent',
};

/** A message of the user's still being sent (or not sent, with Retry and Delete). */
export function OutgoingRow({ item }: { item: OutgoingMessage }) {
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
