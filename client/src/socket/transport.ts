// The chat's outgoing socket events, as plain functions of the current application socket.

import type { Message, ReactionOutcome, SendMessagePayload } from '../api/types';
import type { SendOutcome } from '../chat/outbox';
import { ACK_TIMEOUT_MS, type ChatSocket } from './socket';

export interface ChatTransport {
  isConnected(): boolean;
  sendMessage(payload: SendMessagePayload): Promise<SendOutcome>;
  markRead(conversationId: number, messageId: number): void;
  markDelivered(conversationId: number, messageId: number): void;
  startTyping(conversationId: number): void;
  stopTyping(conversationId: number): void;
  joinConversation(conversationId: number): void;
  /** Adds or removes the user's reaction; the new state, or null when it did not happen. */
  react(messageId: number, emoji: string, add: boolean): Promise<ReactionOutcome | null>;
  /** Edits (with `content`) or deletes one of the user's messages: the new state, or an error. */
  change(messageId: number, content: string | null): Promise<{ message: Message } | { error: string }>;
}

export function socketTransport(current: () => ChatSocket | null): ChatTransport {
  const connected = () => {
    const socket = current();
    return socket?.connected ? socket : null;
  };
  return {
    isConnected: () => connected() !== null,
    async sendMessage(payload) {
      const socket = connected();
      if (!socket) return { ok: false, error: 'Not connected', code: 'disconnected', transient: true };
      try {
        const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', payload);
        if (ack.success) return { ok: true, message: ack.message };
        return { ok: false, error: ack.error, code: ack.code, transient: false };
      } catch (error) {
        return {
          ok: false,
          error: 'The server did not answer in time.',
          code: error instanceof Error && /disconnected/.test(error.message) ? 'disconnected' : 'timeout',
          transient: true,
        };
      }
    },
    // Receipts are worth delivering after a reconnect (the socket buffers them meanwhile);
    // typing notices are not, so they are volatile.
    markRead: (conversation_id, message_id) => current()?.emit('message:read', { conversation_id, message_id }),
    markDelivered: (conversation_id, message_id) =>
      current()?.emit('message:delivered', { conversation_id, message_id }),
    startTyping: (conversation_id) => connected()?.volatile.emit('typing:start', { conversation_id }),
    stopTyping: (conversation_id) => connected()?.volatile.emit('typing:stop', { conversation_id }),
    joinConversation: (conversation_id) => current()?.emit('conversation:join', { conversation_id }),
    async change(message_id, content) {
      const socket = connected();
      if (!socket) return { error: 'Not connected' };
      try {
        const ack =
          content === null
            ? await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:delete', { message_id })
            : await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:edit', { message_id, content });
        return ack.success ? { message: ack.message } : { error: ack.error };
      } catch {
        return { error: 'The server did not answer in time.' };
      }
    },
    async react(message_id, emoji, add) {
      const socket = connected();
      if (!socket) return null;
      try {
        const ack = await socket
          .timeout(ACK_TIMEOUT_MS)
          .emitWithAck(add ? 'reaction:add' : 'reaction:remove', { message_id, emoji });
        return ack.success ? ack : null;
      } catch {
        return null;
      }
    },
  };
}
