// Sending: the user's text and images become outgoing messages in the outbox, which sends them
// over the socket while connected; the state shows what is still pending.

import type { Message, ReplyPreview, UploadedFile } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import type { ChatStateStore } from './chatState';
import { Outbox, type OutgoingMessage } from './outbox';

export interface SendingOptions {
  state: ChatStateStore;
  transport: Pick<ChatTransport, 'sendMessage' | 'isConnected'>;
  newClientId: () => string;
  now: () => Date;
  /** A message the server stored. */
  onStored: (message: Message) => void;
}

export class MessageSending {
  private readonly state: ChatStateStore;
  private readonly outbox: Outbox;
  private readonly newClientId: () => string;
  private readonly now: () => Date;

  constructor(options: SendingOptions) {
    this.state = options.state;
    this.newClientId = options.newClientId;
    this.now = options.now;
    this.outbox = new Outbox({
      send: (payload) => options.transport.sendMessage(payload),
      isOnline: () => options.transport.isConnected(),
      onStored: options.onStored,
      onChange: (outgoing) => this.state.update((s) => ({ ...s, outgoing })),
    });
  }

  /** Queues a text message; it goes out now if connected, else after the reconnect. */
  send(conversationId: number, content: string, replyTo?: Message): OutgoingMessage | null {
    const text = content.trim();
    if (!text) return null;
    return this.outbox.add({
      client_id: this.newClientId(),
      conversation_id: conversationId,
      content: text,
      reply_to: replyTo ? quoteOf(replyTo) : undefined,
      created_at: this.now().toISOString(),
    });
  }

  /** Sends an uploaded image (its `file_url` from `POST /api/upload`), with an optional caption. */
  sendImage(conversationId: number, fileUrl: string, caption = ''): OutgoingMessage {
    return this.outbox.add({
      client_id: this.newClientId(),
      conversation_id: conversationId,
      content: caption.trim(),
      message_type: 'image',
      file_url: fileUrl,
      created_at: this.now().toISOString(),
    });
  }

  /** Sends an upload (from `POST /api/upload`) as a message of its kind (image, audio or file),
   * with an optional caption. */
  sendUpload(conversationId: number, upload: UploadedFile, caption = ''): OutgoingMessage {
    return this.outbox.add({
      client_id: this.newClientId(),
      conversation_id: conversationId,
      content: caption.trim(),
      message_type: upload.kind,
      file_url: upload.file_url,
      attachment: {
        url: upload.file_url,
        kind: upload.kind,
        mime: upload.mime,
        size: upload.size,
        name: upload.name,
        width: upload.width,
        height: upload.height,
        thumbnail_url: upload.thumbnail_url,
        duration_ms: upload.duration_ms,
      },
      created_at: this.now().toISOString(),
    });
  }

  retry(clientId: string): void {
    this.outbox.retry(clientId);
  }

  discard(clientId: string): void {
    this.outbox.discard(clientId);
  }

  /** Sends what waited for the connection. */
  flush(): Promise<void> {
    return this.outbox.flush();
  }

  /** Own messages confirmed by another path (an event, a fetch) are no longer pending. */
  confirm(messages: readonly Message[], myId: number): void {
    for (const message of messages) {
      if (message.sender_id === myId && message.client_id) this.outbox.resolve(message.client_id);
    }
  }

  /** Drops what still waits to go to a conversation the user left. */
  discardConversation(conversationId: number): void {
    for (const item of this.state.getState().outgoing) {
      if (item.conversation_id === conversationId) this.outbox.discard(item.client_id);
    }
  }
}

/** How a reply quotes `message` until the server's own quote arrives. */
export function quoteOf(message: Message): ReplyPreview {
  return {
    id: message.id,
    seq: message.seq,
    sender_id: message.sender_id,
    username: message.sender.username,
    display_name: message.sender.display_name ?? null,
    content: message.deleted_at ? '' : message.content,
    message_type: message.message_type,
    deleted: Boolean(message.deleted_at),
  };
}
