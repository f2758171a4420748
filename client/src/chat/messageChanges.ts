// Edits and deletes of messages already sent: the user's own (asked for over the socket, shown
// once the server answers) and those from `message:updated` and `message:deleted`. Each lands in
// the thread and in the list's last message; a copy holding a later revision stays.

import type { Message, MessageDeletedEvent } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import type { ChatStateStore } from './chatState';
import type { MessageHistory } from './history';
import { isNewerRevision, tombstone } from './messages';

export interface MessageChangesOptions {
  state: ChatStateStore;
  transport: Pick<ChatTransport, 'change'>;
  history: Pick<MessageHistory, 'merge'>;
}

export class MessageChanges {
  private readonly state: ChatStateStore;
  private readonly transport: Pick<ChatTransport, 'change'>;
  private readonly history: Pick<MessageHistory, 'merge'>;

  constructor(options: MessageChangesOptions) {
    this.state = options.state;
    this.transport = options.transport;
    this.history = options.history;
  }

  /** `message:updated`: an edited message replaces the copy held, if it is newer. */
  handleUpdated(message: Message): void {
    this.applyRevision(message.conversation_id, message.id, message);
  }

  /** `message:deleted`: the copy held becomes a tombstone. */
  handleDeleted(event: MessageDeletedEvent): void {
    this.state.updateMessage(event.conversation_id, event.message_id, (held) => tombstone(held, event));
  }

  /**
   * Edits (`content`) or deletes (`null`) one of the user's messages; resolves to an error
   * sentence, or null once the thread shows the change.
   */
  async change(conversationId: number, messageId: number, content: string | null): Promise<string | null> {
    const outcome = await this.transport.change(messageId, content);
    if ('error' in outcome) return outcome.error;
    this.applyRevision(conversationId, messageId, outcome.message);
    return null;
  }

  /** Puts a later state of message `id` in its thread and in the list, unless a newer one is held. */
  private applyRevision(conversationId: number, id: number, message: Message): void {
    this.history.merge(conversationId, [message]);
    this.state.replaceLastMessage(conversationId, id, (held) => (isNewerRevision(held, message) ? message : held));
  }
}
