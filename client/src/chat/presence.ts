// Who is online: each member's status and last seen (`user:online`, `user:offline`), and each
// group's count of members online (`conversation:online_count`, or the last REST answer after
// opening it or a reconnect, since counts that changed meanwhile come with no event).

import type { Conversation, ConversationOnlineCountEvent, UserOfflineEvent, UserOnlineEvent } from '../api/types';
import type { ChatStateStore } from './chatState';
import type { ConversationApi } from './conversationList';
import { setMemberStatus } from './conversations';

export class Presence {
  private readonly state: ChatStateStore;
  private readonly api: Pick<ConversationApi, 'getConversation'>;

  constructor(state: ChatStateStore, api: Pick<ConversationApi, 'getConversation'>) {
    this.state = state;
    this.api = api;
  }

  handleOnline(event: UserOnlineEvent): void {
    this.state.update((s) => {
      const conversations = setMemberStatus(s.conversations, event.user_id, 'online');
      return conversations === s.conversations ? s : { ...s, conversations };
    });
  }

  handleOffline(event: UserOfflineEvent): void {
    this.state.update((s) => {
      const conversations = setMemberStatus(s.conversations, event.user_id, 'offline', event.last_seen);
      return conversations === s.conversations ? s : { ...s, conversations };
    });
  }

  handleOnlineCount(event: ConversationOnlineCountEvent): void {
    this.setOnlineCount(event.conversation_id, event.online_count);
  }

  /** Reads a group's online count again (after opening it or a reconnect); events keep it after. */
  async refreshOnlineCount(id: number): Promise<void> {
    try {
      this.noteOnlineCount(await this.api.getConversation(id));
    } catch {
      // The count is a hint: the next event brings it.
    }
  }

  /** Keeps the online count a conversation answer carries. */
  noteOnlineCount(conversation: Conversation): void {
    if (typeof conversation.online_count === 'number') this.setOnlineCount(conversation.id, conversation.online_count);
  }

  private setOnlineCount(id: number, count: number): void {
    this.state.update((s) =>
      s.onlineCounts[id] === count ? s : { ...s, onlineCounts: { ...s.onlineCounts, [id]: count } },
    );
  }
}
