// Receipts both ways: this device tells the server what reached it (`message:delivered`) and what
// the user read (`message:read`), and records how far the other members got.

import type { Message, MessageDeliveredEvent, MessageReadEvent } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import type { ChatStateStore } from './chatState';
import { newestMessage } from './messages';
import { advancePointer, newestFromOthers, seqOf, type ReceiptPointer } from './receipts';

export class ReceiptExchange {
  private readonly state: ChatStateStore;
  private readonly transport: ChatTransport;
  private readonly me: { id: number };
  /** Whether the page is on screen: a conversation in a hidden tab is not being read. */
  private visible = true;
  /** Per conversation, the highest seq acknowledged with `message:delivered`. */
  private readonly deliveredSeq = new Map<number, number>();

  constructor(state: ChatStateStore, transport: ChatTransport, me: { id: number }) {
    this.state = state;
    this.transport = transport;
    this.me = me;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    const active = this.state.getState().activeConversationId;
    if (visible && active !== null) this.markReadIfViewing(active);
  }

  private isViewing(conversationId: number): boolean {
    return this.visible && this.state.getState().activeConversationId === conversationId;
  }

  /**
   * Tells the server that messages of others reached this device (`message:delivered`), for
   * conversations not on screen: the one on screen is marked read instead, which implies delivery.
   */
  acknowledgeDelivery(conversationId: number, messages: readonly Message[]): void {
    if (this.isViewing(conversationId)) return;
    const newest = newestFromOthers(messages, this.me.id);
    if (!newest || (this.deliveredSeq.get(conversationId) ?? 0) >= newest.seq) return;
    this.deliveredSeq.set(conversationId, newest.seq);
    this.transport.markDelivered(conversationId, newest.id);
  }

  /** Tells the server the open conversation was read up to its newest message. */
  markReadIfViewing(conversationId: number): void {
    if (!this.isViewing(conversationId)) return;
    const conversation = this.state.conversation(conversationId);
    const thread = this.state.thread(conversationId);
    if (!conversation || conversation.unread_count === 0 || thread.status !== 'ready') return;
    const newest = newestMessage(thread.messages);
    if (!newest) return;
    this.transport.markRead(conversationId, newest.id);
    this.state.updateConversation(conversationId, (c) => ({ ...c, unread_count: 0, mention_count: 0 }));
  }

  /** `message:read`: the user read on another device, or another member read this far. */
  handleRead(event: MessageReadEvent): void {
    const pointer = this.receiptPointer(event.conversation_id, event.message_id);
    if (event.user_id === this.me.id) {
      // Read on another device.
      this.state.updateConversation(event.conversation_id, (c) => {
        const last = c.last_message;
        const coversLast =
          !last || (pointer.seq !== null ? last.seq <= pointer.seq : last.id <= event.message_id);
        return c.unread_count > 0 && coversLast ? { ...c, unread_count: 0, mention_count: 0 } : c;
      });
      return;
    }
    this.state.update((s) => {
      const current = s.readUpTo[event.conversation_id];
      const next = advancePointer(current, event.user_id, pointer);
      return next === current ? s : { ...s, readUpTo: { ...s.readUpTo, [event.conversation_id]: next } };
    });
  }

  /** `message:delivered`: messages reached another member's devices this far. */
  handleDelivered(event: MessageDeliveredEvent): void {
    if (event.user_id === this.me.id) return;
    const pointer = this.receiptPointer(event.conversation_id, event.message_id);
    this.state.update((s) => {
      const current = s.deliveredUpTo[event.conversation_id];
      const next = advancePointer(current, event.user_id, pointer);
      return next === current ? s : { ...s, deliveredUpTo: { ...s.deliveredUpTo, [event.conversation_id]: next } };
    });
  }

  /** Forgets what was acknowledged in a conversation the user left. */
  forgetConversation(conversationId: number): void {
    this.deliveredSeq.delete(conversationId);
  }

  /** A receipt's message with its seq, when this client holds that message. */
  private receiptPointer(conversationId: number, messageId: number): ReceiptPointer {
    const held = this.state.thread(conversationId).messages;
    const last = this.state.conversation(conversationId)?.last_message;
    return { message_id: messageId, seq: seqOf(messageId, last ? [last, ...held] : held) };
  }
}
