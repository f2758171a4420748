// Reactions both ways: the user's own, added or removed over the socket and shown as the server's
// answer reports them, and everyone's from `message:reaction`. Each lands in the thread and in the
// list's last message; a copy holding a later revision stays.

import type { MessageReactionEvent } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import type { ChatStateStore } from './chatState';
import { withReaction, withReactionOutcome } from './messages';

export class ReactionExchange {
  private readonly state: ChatStateStore;
  private readonly transport: Pick<ChatTransport, 'react'>;
  private readonly me: { id: number };

  constructor(state: ChatStateStore, transport: Pick<ChatTransport, 'react'>, me: { id: number }) {
    this.state = state;
    this.transport = transport;
    this.me = me;
  }

  /** `message:reaction`: the held copy takes the new count. */
  handleReaction(event: MessageReactionEvent): void {
    this.state.updateMessage(event.conversation_id, event.message_id, (m) => withReaction(m, event, this.me.id));
  }

  /** Adds or removes the user's reaction to a message held in `conversationId`. */
  async toggle(conversationId: number, messageId: number, emoji: string): Promise<void> {
    const held = this.state.thread(conversationId).messages.find((m) => m.id === messageId);
    if (!held) return;
    const add = !(held.my_reactions ?? []).includes(emoji);
    const outcome = await this.transport.react(messageId, emoji, add);
    if (outcome) this.state.updateMessage(conversationId, messageId, (m) => withReactionOutcome(m, outcome));
  }
}
