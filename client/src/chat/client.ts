// The chat client: conversations, their messages, who is typing, what is waiting to be sent, whom
// the user blocked. It is fed by REST answers and socket events and knows neither React nor
// socket.io; the provider wires the socket's events to the `handle*` methods. The parts live in
// their own modules (state, list and membership, history, incoming messages, sending, edits and
// deletes, reactions, receipts, typists, presence, profiles, blocks); this class wires them
// together and drops the late events of conversations the user left.

import type {
  BlockEvent,
  Conversation,
  ConversationOnlineCountEvent,
  MemberChangeEvent,
  Message,
  MessageDeletedEvent,
  MessageDeliveredEvent,
  MessageReactionEvent,
  MessageReadEvent,
  TypingEvent,
  UploadedFile,
  User,
  UserOfflineEvent,
  UserOnlineEvent,
} from '../api/types';
import type { ConnectionStatus } from '../socket/connection';
import type { ChatTransport } from '../socket/transport';
import { BlockList, type BlockApi } from './blocks';
import { ChatStateStore, type ChatState, type Thread } from './chatState';
import { newClientId } from './clientId';
import { ConversationList, type ConversationApi } from './conversationList';
import { MessageHistory, type HistoryApi } from './history';
import { IncomingMessages } from './incoming';
import { MessageChanges } from './messageChanges';
import type { MuteSettings } from './mute';
import type { OutgoingMessage } from './outbox';
import { Presence } from './presence';
import { ProfileUpdates } from './profiles';
import { ReactionExchange } from './reactionExchange';
import { ReceiptExchange } from './receiptExchange';
import { MessageSending } from './sending';
import { Typists } from './typists';

export { emptyThread, type ChatState, type LoadStatus, type Thread, type Typist } from './chatState';
export { PAGE_SIZE } from './history';

/** The REST calls the chat client makes. */
export interface ChatApi extends ConversationApi, HistoryApi, BlockApi {}

export interface ChatClientOptions {
  me: { id: number; username: string };
  api: ChatApi;
  transport: ChatTransport;
  newClientId?: () => string;
  now?: () => Date;
  /** Wait this long before fetching a missing seq: the event may only be late. */
  gapGraceMs?: number;
  /** Forget a typist not heard of for this long (the server's own stop may be lost). */
  typingTimeoutMs?: number;
  describeError?: (error: unknown) => string;
}

export class ChatClient {
  readonly me: { id: number; username: string };
  private readonly state = new ChatStateStore();
  private readonly transport: ChatTransport;
  private readonly conversations: ConversationList;
  private readonly history: MessageHistory;
  private readonly incoming: IncomingMessages;
  private readonly sending: MessageSending;
  private readonly changes: MessageChanges;
  private readonly reactions: ReactionExchange;
  private readonly receipts: ReceiptExchange;
  private readonly typists: Typists;
  private readonly presence: Presence;
  private readonly profiles: ProfileUpdates;
  private readonly blocks: BlockList;
  private connectedBefore = false;

  constructor(options: ChatClientOptions) {
    this.me = options.me;
    this.transport = options.transport;
    const describeError =
      options.describeError ?? ((e: unknown) => (e instanceof Error ? e.message : 'Something went wrong'));
    this.receipts = new ReceiptExchange(this.state, this.transport, this.me);
    this.typists = new Typists(this.state, this.me, options.typingTimeoutMs ?? 7_000);
    this.sending = new MessageSending({
      state: this.state,
      transport: this.transport,
      newClientId: options.newClientId ?? (() => newClientId()),
      now: options.now ?? (() => new Date()),
      onStored: (message) => this.incoming.ingest(message.conversation_id, [message]),
    });
    this.history = new MessageHistory({
      state: this.state,
      api: options.api,
      gapGraceMs: options.gapGraceMs ?? 400,
      describeError,
      afterIngest: (id, messages, live) => this.incoming.afterIngest(id, messages, live),
    });
    this.blocks = new BlockList({ state: this.state, api: options.api, describeError });
    this.conversations = new ConversationList({
      state: this.state,
      me: this.me,
      api: options.api,
      transport: this.transport,
      receipts: this.receipts,
      describeError,
      onForget: (id) => {
        this.receipts.forgetConversation(id);
        this.history.forgetConversation(id);
        this.typists.forgetConversation(id);
        this.sending.discardConversation(id);
      },
      onMemberLeft: (id, userId) => this.typists.remove(id, userId),
    });
    this.incoming = new IncomingMessages({
      state: this.state,
      me: this.me,
      history: this.history,
      conversations: this.conversations,
      sending: this.sending,
      receipts: this.receipts,
      typists: this.typists,
    });
    this.changes = new MessageChanges({ state: this.state, transport: this.transport, history: this.history });
    this.reactions = new ReactionExchange(this.state, this.transport, this.me);
    this.presence = new Presence(this.state, options.api);
    this.profiles = new ProfileUpdates(this.state);
  }

  // ---- state ----

  getState = (): ChatState => this.state.getState();
  subscribe = (listener: () => void): (() => void) => this.state.subscribe(listener);

  conversation(id: number): Conversation | undefined {
    return this.state.conversation(id);
  }

  thread(id: number): Thread {
    return this.state.thread(id);
  }

  // ---- lifecycle ----

  /** Loads the conversation list and the blocked users. */
  async start(): Promise<void> {
    await Promise.all([this.loadConversations(), this.loadBlocks()]);
  }

  /** Cancels timers; the client can be started again. */
  stop(): void {
    this.history.stopTimers();
    this.typists.stopTimers();
  }

  loadConversations(): Promise<void> {
    return this.conversations.load();
  }

  /** Adds a conversation known from elsewhere (e.g. just created) and subscribes to it. */
  addConversation(conversation: Conversation): void {
    this.conversations.add(conversation);
  }

  // ---- membership ----

  /** Joins a public room and adds it to the list. */
  joinRoom(id: number): Promise<Conversation> {
    return this.conversations.joinRoom(id);
  }

  /** Leaves a group or room; it disappears from the list with its history. */
  leaveConversation(id: number): Promise<void> {
    return this.conversations.leave(id);
  }

  /** Mutes a conversation until `muted_until` (an RFC 3339 time), with `mute_mentions` a group's
   * mentions too, or unmutes it (`muted_until: null`): the user's own setting, which notifications
   * honour; messages keep arriving. */
  setMuted(id: number, settings: MuteSettings): Promise<void> {
    return this.conversations.setMuted(id, settings);
  }

  /** Adds a user to a group or room (rejects with the server's error, e.g. 409 `already_member`). */
  addMember(id: number, user: Pick<User, 'id'>): Promise<Conversation> {
    return this.conversations.addMember(id, user);
  }

  /** Whether the user left conversation `id` (and was not added back since). */
  hasLeft(id: number): boolean {
    return this.conversations.hasLeft(id);
  }

  // ---- blocking ----

  /** Reads the users the user blocked. */
  loadBlocks(): Promise<void> {
    return this.blocks.load();
  }

  /** Blocks `user` (rejects with the server's error). */
  blockUser(user: User): Promise<void> {
    return this.blocks.block(user);
  }

  /** Unblocks user `userId` (rejects with the server's error). */
  unblockUser(userId: number): Promise<void> {
    return this.blocks.unblock(userId);
  }

  /** `user:blocked`: the user blocked someone, here or on another device. */
  handleUserBlocked = (event: BlockEvent): void => this.blocks.handleBlocked(event.user_id);

  /** `user:unblocked`. */
  handleUserUnblocked = (event: BlockEvent): void => this.blocks.handleUnblocked(event.user_id);

  // ---- the open conversation ----

  /** Opens a conversation (or none): loads its history and marks it read. */
  async openConversation(id: number | null): Promise<void> {
    this.state.update((s) => (s.activeConversationId === id ? s : { ...s, activeConversationId: id }));
    if (id === null) return;
    if (!this.conversation(id)) {
      void this.conversations.fetch(id).then((c) => c && this.presence.noteOnlineCount(c));
    } else if (this.conversation(id)?.type === 'group') {
      void this.presence.refreshOnlineCount(id);
    }
    const thread = this.thread(id);
    if (thread.status === 'idle' || thread.status === 'error') await this.loadLatest(id);
    this.receipts.markReadIfViewing(id);
  }

  setVisible(visible: boolean): void {
    this.receipts.setVisible(visible);
  }

  /** The newest page of history. */
  loadLatest(id: number): Promise<void> {
    return this.history.loadLatest(id);
  }

  /** Makes sure message `seq` of the conversation is held, reading the page around it. */
  loadAround(id: number, seq: number): Promise<void> {
    return this.history.loadAround(id, seq);
  }

  /** The page before the oldest message held. */
  loadOlder(id: number): Promise<void> {
    return this.history.loadOlder(id);
  }

  /**
   * Fetches every message after the highest seq held without a gap. One catch-up per
   * conversation at a time; one asked for meanwhile runs right after.
   */
  catchUp(id: number): Promise<void> {
    return this.history.catchUp(id);
  }

  // ---- sending ----

  /** Queues a text message (a reply when `replyTo` is given); it goes out now if connected, else
   * after the reconnect. */
  send(conversationId: number, content: string, replyTo?: Message): OutgoingMessage | null {
    return this.sending.send(conversationId, content, replyTo);
  }

  /** Sends an uploaded image (its `file_url` from `POST /api/upload`), with an optional caption. */
  sendImage(conversationId: number, fileUrl: string, caption = ''): OutgoingMessage {
    return this.sending.sendImage(conversationId, fileUrl, caption);
  }

  /** Sends an upload (from `POST /api/upload`) as a message of its kind, with an optional caption. */
  sendUpload(conversationId: number, upload: UploadedFile, caption = ''): OutgoingMessage {
    return this.sending.sendUpload(conversationId, upload, caption);
  }

  retry(clientId: string): void {
    this.sending.retry(clientId);
  }

  discard(clientId: string): void {
    this.sending.discard(clientId);
  }

  startTyping(conversationId: number): void {
    this.transport.startTyping(conversationId);
  }

  stopTyping(conversationId: number): void {
    this.transport.stopTyping(conversationId);
  }

  // ---- incoming ----

  handleMessageNew = this.unlessLeft((message: Message) => this.incoming.handleNew(message));

  /** `message:updated`: an edited message replaces the copy held, if it is newer. */
  handleMessageUpdated = this.unlessLeft((message: Message) => this.changes.handleUpdated(message));

  /** `message:deleted`: the copy held becomes a tombstone. */
  handleMessageDeleted = this.unlessLeft((event: MessageDeletedEvent) => this.changes.handleDeleted(event));

  /** `message:reaction`: the held copy takes the new count. */
  handleMessageReaction = this.unlessLeft((event: MessageReactionEvent) => this.reactions.handleReaction(event));

  /** Adds or removes the user's reaction to a message held in `conversationId`. */
  toggleReaction(conversationId: number, messageId: number, emoji: string): Promise<void> {
    return this.reactions.toggle(conversationId, messageId, emoji);
  }

  /**
   * Edits (`content`) or deletes (`null`) one of the user's messages; resolves to an error
   * sentence, or null once the thread shows the change.
   */
  changeMessage(conversationId: number, messageId: number, content: string | null): Promise<string | null> {
    return this.changes.change(conversationId, messageId, content);
  }

  handleMessageRead = this.unlessLeft((event: MessageReadEvent) => this.receipts.handleRead(event));

  handleMessageDelivered = this.unlessLeft((event: MessageDeliveredEvent) => this.receipts.handleDelivered(event));

  /** `handle`, except for the late events of a conversation the user left. */
  private unlessLeft<E extends { conversation_id: number }>(handle: (event: E) => void): (event: E) => void {
    return (event) => {
      if (!this.hasLeft(event.conversation_id)) handle(event);
    };
  }

  // ---- people ----

  handleTypingStart = (event: TypingEvent): void => this.typists.start(event);

  handleTypingStop = (event: TypingEvent): void => this.typists.remove(event.conversation_id, event.user_id);

  /** `user:updated`: someone's display name, bio or avatar changed; every copy held follows. */
  handleUserUpdated = (user: User): void => this.profiles.handle(user);

  /** Calls `listener` with every `user:updated` (e.g. to refresh the signed-in user's own copy). */
  onProfileUpdated(listener: (user: User) => void): () => void {
    return this.profiles.subscribe(listener);
  }

  handleUserOnline = (event: UserOnlineEvent): void => this.presence.handleOnline(event);

  handleUserOffline = (event: UserOfflineEvent): void => {
    this.presence.handleOffline(event);
    this.typists.removeEverywhere(event.user_id);
  };

  handleOnlineCount = (event: ConversationOnlineCountEvent): void => this.presence.handleOnlineCount(event);

  handleConversationNew = (conversation: Conversation): void => this.addConversation(conversation);

  handleMemberJoined = (event: MemberChangeEvent): void => this.conversations.handleMemberJoined(event);

  handleMemberLeft = (event: MemberChangeEvent): void => this.conversations.handleMemberLeft(event);

  // ---- connection ----

  setConnectionStatus(connection: ConnectionStatus): void {
    this.state.update((s) => (s.connection === connection ? s : { ...s, connection }));
  }

  /**
   * The socket is (again) connected: send what waited, fetch what was missed in every open
   * history, and refresh the list (unread counts, previews) after a reconnect.
   */
  async handleConnected(): Promise<void> {
    const reconnect = this.connectedBefore;
    this.connectedBefore = true;
    const work: Promise<unknown>[] = [this.sending.flush()];
    // Changes made while away (on another device, say) are in the lists, not in events.
    if (reconnect) work.push(this.loadConversations(), this.loadBlocks());
    // Counts changed while away come with no event: the open group's is read again.
    const active = this.state.getState().activeConversationId;
    if (reconnect && active !== null && this.conversation(active)?.type === 'group') {
      work.push(this.presence.refreshOnlineCount(active));
    }
    work.push(...this.history.catchUpAll());
    await Promise.all(work);
  }

  /** The socket dropped: typing notices are stale now. */
  handleDisconnected(): void {
    this.typists.clear();
  }
}
