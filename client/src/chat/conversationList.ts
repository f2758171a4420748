// The user's conversation list and membership: loading it, adding what was created or joined,
// fetching one not listed yet, leaving, adding members, members joining and leaving. Conversations
// the user left stay ignored until the server shows them again, and a list answer older than a
// membership change does not undo it.

import type { Conversation, MemberChangeEvent, User } from '../api/types';
import type { ChatTransport } from '../socket/transport';
import type { ChatStateStore } from './chatState';
import { sortByActivity, upsertConversation, withMemberJoined, withMemberLeft } from './conversations';
import type { MuteSettings } from './mute';
import type { ReceiptExchange } from './receiptExchange';

/** The REST calls the list and membership are kept with. */
export interface ConversationApi {
  listConversations(): Promise<Conversation[]>;
  getConversation(id: number): Promise<Conversation>;
  /** `POST /api/conversations/:id/join`: the room, as a member sees it. */
  joinConversation(id: number): Promise<Conversation>;
  /** `POST /api/conversations/:id/leave`. */
  leaveConversation(id: number): Promise<void>;
  /** `POST /api/conversations/:id/members {user_id}`: the conversation with the user in it. */
  addMember(id: number, userId: number): Promise<Conversation>;
  /** `PUT /api/conversations/:id/settings {muted_until, mute_mentions}`: the conversation as the user sees it. */
  updateConversationSettings(id: number, settings: MuteSettings): Promise<Conversation>;
}

export interface ConversationListOptions {
  state: ChatStateStore;
  me: { id: number };
  api: ConversationApi;
  transport: Pick<ChatTransport, 'joinConversation'>;
  receipts: Pick<ReceiptExchange, 'acknowledgeDelivery' | 'markReadIfViewing'>;
  describeError: (error: unknown) => string;
  /** Drops what the other parts of the client hold about a conversation the user left. */
  onForget: (id: number) => void;
  /** Drops what the other parts of the client hold about another member who left. */
  onMemberLeft: (conversationId: number, userId: number) => void;
}

export class ConversationList {
  private readonly state: ChatStateStore;
  private readonly me: { id: number };
  private readonly api: ConversationApi;
  private readonly transport: Pick<ChatTransport, 'joinConversation'>;
  private readonly receipts: ConversationListOptions['receipts'];
  private readonly describeError: (error: unknown) => string;
  private readonly onForget: (id: number) => void;
  private readonly onMemberLeft: ConversationListOptions['onMemberLeft'];
  private readonly fetching = new Map<number, Promise<Conversation | undefined>>();
  private listRequest = 0;
  /** Conversations the user left: their late events are ignored until they are back in. */
  private readonly left = new Set<number>();
  /**
   * Membership changes seen here, with the list request current at the time: a list answer
   * requested before a change does not undo it.
   */
  private readonly membershipChanges = new Map<number, { kind: 'added' | 'left'; request: number }>();

  constructor(options: ConversationListOptions) {
    this.state = options.state;
    this.me = options.me;
    this.api = options.api;
    this.transport = options.transport;
    this.receipts = options.receipts;
    this.describeError = options.describeError;
    this.onForget = options.onForget;
    this.onMemberLeft = options.onMemberLeft;
  }

  async load(): Promise<void> {
    const request = ++this.listRequest;
    this.state.update((s) => ({
      ...s,
      conversationsStatus: s.conversationsStatus === 'ready' ? 'ready' : 'loading',
    }));
    try {
      const answer = await this.api.listConversations();
      if (request !== this.listRequest) return;
      const changedSince = (id: number, kind: 'added' | 'left') => {
        const change = this.membershipChanges.get(id);
        return change !== undefined && change.kind === kind && change.request >= request;
      };
      const fetched = answer.filter((c) => !changedSince(c.id, 'left'));
      this.state.update((s) => {
        // Keep a newer last_message known from an event that overtook the answer.
        const known = new Map(s.conversations.map((c) => [c.id, c]));
        const fetchedIds = new Set(fetched.map((c) => c.id));
        const conversations = sortByActivity([
          ...fetched.map((fresh) => {
            const last = known.get(fresh.id)?.last_message;
            return last && (!fresh.last_message || fresh.last_message.seq < last.seq)
              ? { ...fresh, last_message: last }
              : fresh;
          }),
          // Joined or added while the list was on its way.
          ...s.conversations.filter((c) => !fetchedIds.has(c.id) && changedSince(c.id, 'added')),
        ]);
        return { ...s, conversations, conversationsStatus: 'ready', conversationsError: undefined };
      });
      for (const [id, change] of this.membershipChanges) {
        if (change.request < request) this.membershipChanges.delete(id);
      }
      for (const conversation of fetched) {
        this.left.delete(conversation.id);
        // What arrived while this client was away has now reached this device.
        const last = conversation.last_message;
        if (last && conversation.unread_count > 0) this.receipts.acknowledgeDelivery(conversation.id, [last]);
      }
      const active = this.state.getState().activeConversationId;
      if (active !== null) this.receipts.markReadIfViewing(active);
    } catch (error) {
      if (request !== this.listRequest) return;
      this.state.update((s) => ({
        ...s,
        conversationsStatus: s.conversationsStatus === 'ready' ? 'ready' : 'error',
        conversationsError: this.describeError(error),
      }));
    }
  }

  /** Adds a conversation known from elsewhere (e.g. just created) and subscribes to it. */
  add(conversation: Conversation): void {
    this.left.delete(conversation.id);
    this.membershipChanges.set(conversation.id, { kind: 'added', request: this.listRequest });
    const known = this.state.conversation(conversation.id);
    this.state.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
    if (!known) this.transport.joinConversation(conversation.id);
  }

  /** Fetches a conversation that is not in the list yet (a link, an event for a new one). */
  fetch(id: number): Promise<Conversation | undefined> {
    const pending = this.fetching.get(id);
    if (pending) return pending;
    const request = this.api
      .getConversation(id)
      .then((conversation) => {
        // The server shows it: the user is (again) a member.
        this.left.delete(id);
        this.state.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
        this.receipts.markReadIfViewing(id);
        return conversation;
      })
      .catch(() => undefined)
      .finally(() => this.fetching.delete(id));
    this.fetching.set(id, request);
    return request;
  }

  /** Joins a public room and adds it to the list. */
  async joinRoom(id: number): Promise<Conversation> {
    const conversation = await this.api.joinConversation(id);
    this.add(conversation);
    return conversation;
  }

  /** Leaves a group or room; it disappears from the list with its history. */
  async leave(id: number): Promise<void> {
    await this.api.leaveConversation(id);
    this.forget(id);
  }

  /** Mutes the conversation until `muted_until` (an RFC 3339 time), mentions too with
   * `mute_mentions`, or unmutes it (`null`); keeps what the server answers. */
  async setMuted(id: number, settings: MuteSettings): Promise<void> {
    const answer = await this.api.updateConversationSettings(id, settings);
    this.state.updateConversation(id, (c) => ({
      ...c,
      muted_until: answer.muted_until ?? null,
      mute_mentions: answer.mute_mentions ?? false,
    }));
  }

  /** Adds a user to a group or room (rejects with the server's error, e.g. 409 `already_member`). */
  async addMember(id: number, user: Pick<User, 'id'>): Promise<Conversation> {
    const conversation = await this.api.addMember(id, user.id);
    if (!this.left.has(id)) {
      this.state.update((s) => ({ ...s, conversations: upsertConversation(s.conversations, conversation) }));
    }
    return conversation;
  }

  /** `conversation:member_joined`: someone joined or was added. */
  handleMemberJoined(event: MemberChangeEvent): void {
    this.state.updateConversation(event.conversation_id, (c) => withMemberJoined(c, event.user));
  }

  /** `conversation:member_left`: another member left, or the user did. */
  handleMemberLeft(event: MemberChangeEvent): void {
    if (event.user.id === this.me.id) {
      // Left here or on another device (once is enough).
      if (!this.hasLeft(event.conversation_id)) this.forget(event.conversation_id);
      return;
    }
    this.state.updateConversation(event.conversation_id, (c) => withMemberLeft(c, event.user.id));
    this.onMemberLeft(event.conversation_id, event.user.id);
  }

  /** Drops everything held about a conversation the user is no longer in. */
  forget(id: number): void {
    this.left.add(id);
    this.membershipChanges.set(id, { kind: 'left', request: this.listRequest });
    this.onForget(id);
    this.state.update((s) => {
      const { [id]: _thread, ...threads } = s.threads;
      const { [id]: _typing, ...typing } = s.typing;
      const { [id]: _read, ...readUpTo } = s.readUpTo;
      const { [id]: _delivered, ...deliveredUpTo } = s.deliveredUpTo;
      return {
        ...s,
        conversations: s.conversations.filter((c) => c.id !== id),
        threads,
        typing,
        readUpTo,
        deliveredUpTo,
      };
    });
  }

  /** Whether the user left conversation `id` (and was not added back since). */
  hasLeft(id: number): boolean {
    return this.left.has(id);
  }
}
