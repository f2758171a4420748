// The one path every message takes in, whatever brought it (`message:new`, a catch-up, a page of
// history, the server storing one of the user's own): into its thread, then into what it touches:
// the list entry's preview and unread and mention counts, the pending copy it confirms, the typist
// it stops, and the receipts it calls for.

import type { Message } from '../api/types';
import type { ChatStateStore } from './chatState';
import type { ConversationList } from './conversationList';
import type { MessageHistory } from './history';
import type { ReceiptExchange } from './receiptExchange';
import type { MessageSending } from './sending';
import type { Typists } from './typists';

export interface IncomingOptions {
  state: ChatStateStore;
  me: { id: number };
  history: Pick<MessageHistory, 'merge' | 'checkForGap'>;
  conversations: Pick<ConversationList, 'fetch'>;
  sending: Pick<MessageSending, 'confirm'>;
  receipts: Pick<ReceiptExchange, 'acknowledgeDelivery' | 'markReadIfViewing'>;
  typists: Pick<Typists, 'remove'>;
}

export class IncomingMessages {
  private readonly state: ChatStateStore;
  private readonly me: { id: number };
  private readonly history: IncomingOptions['history'];
  private readonly conversations: IncomingOptions['conversations'];
  private readonly sending: IncomingOptions['sending'];
  private readonly receipts: IncomingOptions['receipts'];
  private readonly typists: IncomingOptions['typists'];

  constructor(options: IncomingOptions) {
    this.state = options.state;
    this.me = options.me;
    this.history = options.history;
    this.conversations = options.conversations;
    this.sending = options.sending;
    this.receipts = options.receipts;
    this.typists = options.typists;
  }

  /** `message:new`; a conversation not listed yet is fetched first. */
  handleNew(message: Message): void {
    const conversationId = message.conversation_id;
    if (!this.state.conversation(conversationId)) {
      void this.conversations.fetch(conversationId).then((found) => {
        if (found) this.ingest(conversationId, [message]);
      });
      return;
    }
    this.ingest(conversationId, [message]);
    this.history.checkForGap(conversationId);
  }

  /** Adds messages of one conversation, from whatever source, and updates everything they touch. */
  ingest(conversationId: number, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    this.history.merge(conversationId, messages);
    this.afterIngest(conversationId, messages, true);
  }

  /**
   * Updates the list entry, pending messages and typists after messages arrived. `live`: new
   * messages (events, catch-up) rather than history, so they count as unread.
   */
  afterIngest(conversationId: number, messages: readonly Message[], live: boolean): void {
    this.sending.confirm(messages, this.me.id);
    const conversation = this.state.conversation(conversationId);
    if (conversation) {
      const lastSeq = conversation.last_message?.seq ?? 0;
      const newer = messages.filter((m) => m.seq > lastSeq);
      if (newer.length > 0) {
        const latest = newer.reduce((a, b) => (b.seq > a.seq ? b : a));
        // Notices about others count as unread, like on the server; notices about oneself do not.
        const unreadAdded = live ? newer.filter((m) => m.sender_id !== this.me.id).length : 0;
        const mentionsAdded = live ? newer.filter((m) => m.mentions?.includes(this.me.id)).length : 0;
        this.state.updateConversation(conversationId, (c) => ({
          ...c,
          last_message: latest,
          unread_count: c.unread_count + unreadAdded,
          mention_count: (c.mention_count ?? 0) + mentionsAdded,
        }));
      }
    }
    if (live) {
      // Whoever just sent has stopped typing.
      for (const userId of new Set(messages.map((m) => m.sender_id))) this.typists.remove(conversationId, userId);
      this.receipts.acknowledgeDelivery(conversationId, messages);
    }
    this.receipts.markReadIfViewing(conversationId);
  }
}
