// Blocking: the users the signed-in user blocked (loaded at start and after every reconnect, kept
// with the user's own changes and the `user:blocked` / `user:unblocked` events of their other
// devices), and what a block changes on screen: in a direct chat with a blocked user the message
// box gives way to a notice, and in groups a blocked user's messages stay behind a row until shown.

import type { Conversation, Message, User } from '../api/types';
import type { BlockState, ChatStateStore } from './chatState';

export { noBlocks, type BlockState } from './chatState';

/** The REST calls blocking is kept with. */
export interface BlockApi {
  /** `GET /api/users/me/blocks`: the users blocked, the latest first. */
  listBlockedUsers(): Promise<User[]>;
  /** `POST /api/users/:id/block`. */
  blockUser(id: number): Promise<void>;
  /** `DELETE /api/users/:id/block`. */
  unblockUser(id: number): Promise<void>;
}

export function isBlocked(blocks: BlockState, userId: number): boolean {
  return blocks.users.some((u) => u.id === userId);
}

/** `user` added first, unless already blocked. */
export function withBlocked(blocks: BlockState, user: User): BlockState {
  if (isBlocked(blocks, user.id)) return blocks;
  return { ...blocks, users: [user, ...blocks.users] };
}

export function withUnblocked(blocks: BlockState, userId: number): BlockState {
  if (!isBlocked(blocks, userId)) return blocks;
  return { ...blocks, users: blocks.users.filter((u) => u.id !== userId) };
}

/**
 * Whether `message` stays behind a "Message from a blocked user" row: a blocked user's message in
 * a group. In a direct chat the blocker keeps reading the history as it is; system notices and
 * deleted messages say nothing of their own and stay as they are.
 */
export function hidesMessage(
  blocks: BlockState,
  message: Pick<Message, 'sender_id' | 'message_type' | 'deleted_at'>,
  conversationType: Conversation['type'] | undefined,
): boolean {
  return (
    conversationType === 'group' &&
    message.message_type !== 'system' &&
    !message.deleted_at &&
    isBlocked(blocks, message.sender_id)
  );
}

/** The other user of a direct chat when the signed-in user blocked them (the message box then
 * gives way to a notice), else undefined. */
export function blockedPeer(conversation: Conversation | undefined, meId: number, blocks: BlockState): User | undefined {
  if (conversation?.type !== 'direct') return undefined;
  const peer = conversation.members.find((m) => m.id !== meId);
  return peer && isBlocked(blocks, peer.id) ? peer : undefined;
}

export interface BlockListOptions {
  state: ChatStateStore;
  api: BlockApi;
  describeError: (error: unknown) => string;
}

/** The list of blocked users in the chat state, and the changes to it. */
export class BlockList {
  private readonly state: ChatStateStore;
  private readonly api: BlockApi;
  private readonly describeError: (error: unknown) => string;
  private request = 0;

  constructor(options: BlockListOptions) {
    this.state = options.state;
    this.api = options.api;
    this.describeError = options.describeError;
  }

  private set(change: (blocks: BlockState) => BlockState): void {
    this.state.update((s) => {
      const blocks = change(s.blocks);
      return blocks === s.blocks ? s : { ...s, blocks };
    });
  }

  /** Reads the list; a change made meanwhile wins over an answer asked for before it. */
  async load(): Promise<void> {
    const request = ++this.request;
    this.set((b) => (b.status === 'ready' ? b : { ...b, status: 'loading', error: undefined }));
    try {
      const users = await this.api.listBlockedUsers();
      if (request !== this.request) return;
      this.set(() => ({ users, status: 'ready' }));
    } catch (error) {
      if (request !== this.request) return;
      this.set((b) => ({ ...b, status: b.status === 'ready' ? 'ready' : 'error', error: this.describeError(error) }));
    }
  }

  /** Blocks `user`; rejects with the server's error (the list is then unchanged). */
  async block(user: User): Promise<void> {
    await this.api.blockUser(user.id);
    this.request++;
    this.set((b) => withBlocked(b, user));
  }

  /** Unblocks user `userId`; rejects with the server's error (the list is then unchanged). */
  async unblock(userId: number): Promise<void> {
    await this.api.unblockUser(userId);
    this.request++;
    this.set((b) => withUnblocked(b, userId));
  }

  /** `user:blocked` (this device or another): a user not listed yet is read with the list. */
  handleBlocked(userId: number): void {
    if (!isBlocked(this.state.getState().blocks, userId)) void this.load();
  }

  /** `user:unblocked`. */
  handleUnblocked(userId: number): void {
    this.request++;
    this.set((b) => withUnblocked(b, userId));
  }
}
