// Messages written by the user that the server has not acknowledged yet. Each gets a client_id
// when it is written; the server stores a client_id at most once per sender, so sending it again
// after a lost acknowledgement or a reconnect never creates a duplicate. Messages go out one at a
// time in the order they were written, and only while the connection is up; the rest wait.

import type { Message, MessageAttachment, ReplyPreview, SendMessagePayload } from '../api/types';

export type OutgoingStatus =
  /** Waiting for the connection (or for its turn). */
  | 'queued'
  /** Sent, acknowledgement pending. */
  | 'sending'
  /** Refused, or unanswered while connected: the user may retry or discard it. */
  | 'failed';

export interface OutgoingMessage {
  client_id: string;
  conversation_id: number;
  content: string;
  message_type: 'text' | 'image' | 'audio' | 'file';
  file_url?: string;
  /** The upload, shown while the message is pending (not sent: the server reads it from `file_url`). */
  attachment?: MessageAttachment;
  /** The message replied to, quoted while this one is pending. */
  reply_to?: ReplyPreview;
  created_at: string;
  status: OutgoingStatus;
  error?: string;
}

export type SendOutcome =
  | { ok: true; message: Message }
  /** `transient`: no answer (timeout, disconnect), as opposed to an answer refusing the message. */
  | { ok: false; error: string; code: string; transient: boolean };

export interface OutboxOptions {
  send: (payload: SendMessagePayload) => Promise<SendOutcome>;
  isOnline: () => boolean;
  /** A message the server stored. */
  onStored: (message: Message) => void;
  /** The list changed; receives a new array. */
  onChange: (items: OutgoingMessage[]) => void;
}

export interface OutgoingDraft {
  client_id: string;
  conversation_id: number;
  content: string;
  message_type?: 'text' | 'image' | 'audio' | 'file';
  file_url?: string;
  attachment?: MessageAttachment;
  reply_to?: ReplyPreview;
  created_at: string;
}

export class Outbox {
  private items: OutgoingMessage[] = [];
  private pumping = false;
  private readonly options: OutboxOptions;

  constructor(options: OutboxOptions) {
    this.options = options;
  }

  list(): OutgoingMessage[] {
    return this.items;
  }

  add(draft: OutgoingDraft): OutgoingMessage {
    const item: OutgoingMessage = {
      message_type: 'text',
      ...draft,
      status: 'queued',
    };
    this.items = [...this.items, item];
    this.changed();
    void this.flush();
    return item;
  }

  /** Puts a failed message back in the queue. */
  retry(clientId: string): void {
    const item = this.find(clientId);
    if (!item || item.status !== 'failed') return;
    this.update(clientId, { status: 'queued', error: undefined });
    void this.flush();
  }

  discard(clientId: string): void {
    if (!this.find(clientId)) return;
    this.items = this.items.filter((i) => i.client_id !== clientId);
    this.changed();
  }

  /** The server's copy arrived by another way (history, another event): stop tracking it. */
  resolve(clientId: string): boolean {
    if (!this.find(clientId)) return false;
    this.discard(clientId);
    return true;
  }

  clear(): void {
    this.items = [];
    this.changed();
  }

  /**
   * Sends every queued message, oldest first, while online. Resolves when the queue is empty or
   * the connection dropped; a flush requested while one runs joins it.
   */
  async flush(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.options.isOnline()) {
        const next = this.items.find((i) => i.status === 'queued');
        if (!next) break;
        this.update(next.client_id, { status: 'sending' });
        let outcome: SendOutcome;
        try {
          outcome = await this.options.send(toPayload(next));
        } catch (error) {
          outcome = {
            ok: false,
            error: error instanceof Error ? error.message : 'Sending failed',
            code: 'transport_error',
            transient: true,
          };
        }
        if (outcome.ok) {
          this.discard(next.client_id);
          this.options.onStored(outcome.message);
        } else if (!this.find(next.client_id)) {
          // Resolved or discarded meanwhile.
        } else if (outcome.transient && !this.options.isOnline()) {
          this.update(next.client_id, { status: 'queued', error: undefined });
        } else {
          this.update(next.client_id, { status: 'failed', error: outcome.error });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private find(clientId: string): OutgoingMessage | undefined {
    return this.items.find((i) => i.client_id === clientId);
  }

  private update(clientId: string, patch: Partial<OutgoingMessage>): void {
    this.items = this.items.map((i) => (i.client_id === clientId ? { ...i, ...patch } : i));
    this.changed();
  }

  private changed(): void {
    this.options.onChange(this.items);
  }
}

function toPayload(item: OutgoingMessage): SendMessagePayload {
  const payload: SendMessagePayload = {
    conversation_id: item.conversation_id,
    content: item.content,
    message_type: item.message_type,
    client_id: item.client_id,
  };
  if (item.file_url) payload.file_url = item.file_url;
  if (item.reply_to) payload.reply_to = item.reply_to.id;
  return payload;
}
