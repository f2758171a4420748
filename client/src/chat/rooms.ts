// The public rooms browser: the rooms the server lists (`GET /api/rooms`, paged), joining and
// leaving them, and how each entry is shown. Membership shown for a room follows the conversation
// list once it is loaded (the list is kept current by socket events), so joining or leaving
// elsewhere shows here too.

import type { Conversation, Room } from '../api/types';
import type { LoadStatus } from './chatState';
import { memberCount } from './conversations';
import { createStore, type Store } from './store';

export const ROOMS_PAGE_SIZE = 50;

export interface RoomsApi {
  listRooms(options: { limit: number; offset: number }): Promise<Room[]>;
}

/** What the chat client does for the directory (see ChatClient). */
export interface RoomMembership {
  joinRoom(id: number): Promise<Conversation>;
  leaveConversation(id: number): Promise<void>;
}

export type RoomAction = 'join' | 'leave';

export interface RoomDirectoryState {
  /** In the server's order (most recently active first), unique by id. */
  rooms: Room[];
  status: LoadStatus;
  error?: string;
  hasMore: boolean;
  loadingMore: boolean;
  /** Per room, the action under way. */
  pending: Record<number, RoomAction>;
  /** Per room, why the last action failed. */
  errors: Record<number, string>;
}

export interface RoomDirectoryOptions {
  api: RoomsApi;
  membership: RoomMembership;
  describeError?: (error: unknown) => string;
  pageSize?: number;
}

function initialState(): RoomDirectoryState {
  return { rooms: [], status: 'idle', hasMore: false, loadingMore: false, pending: {}, errors: {} };
}

function appendRooms(existing: readonly Room[], page: readonly Room[]): Room[] {
  const seen = new Set(existing.map((r) => r.id));
  return [...existing, ...page.filter((r) => !seen.has(r.id))];
}

export class RoomDirectory {
  private readonly store: Store<RoomDirectoryState> = createStore(initialState());
  private readonly api: RoomsApi;
  private readonly membership: RoomMembership;
  private readonly describeError: (error: unknown) => string;
  private readonly pageSize: number;
  private request = 0;

  constructor(options: RoomDirectoryOptions) {
    this.api = options.api;
    this.membership = options.membership;
    this.pageSize = options.pageSize ?? ROOMS_PAGE_SIZE;
    this.describeError =
      options.describeError ?? ((e) => (e instanceof Error ? e.message : 'Something went wrong'));
  }

  getState = (): RoomDirectoryState => this.store.getState();
  subscribe = (listener: () => void): (() => void) => this.store.subscribe(listener);

  private update(change: (state: RoomDirectoryState) => RoomDirectoryState) {
    this.store.setState(change);
  }

  private updateRoom(id: number, change: (room: Room) => Room) {
    this.update((s) => ({ ...s, rooms: s.rooms.map((r) => (r.id === id ? change(r) : r)) }));
  }

  /** Loads (again) the first page. */
  async load(): Promise<void> {
    const request = ++this.request;
    this.update((s) => ({ ...s, status: s.status === 'ready' ? 'ready' : 'loading', error: undefined }));
    try {
      const page = await this.api.listRooms({ limit: this.pageSize, offset: 0 });
      if (request !== this.request) return;
      this.update((s) => ({
        ...s,
        rooms: appendRooms([], page),
        status: 'ready',
        hasMore: page.length >= this.pageSize,
        loadingMore: false,
      }));
    } catch (error) {
      if (request !== this.request) return;
      this.update((s) => ({ ...s, status: s.status === 'ready' ? 'ready' : 'error', error: this.describeError(error) }));
    }
  }

  /** The next page after the rooms held. */
  async loadMore(): Promise<void> {
    const state = this.getState();
    if (state.status !== 'ready' || !state.hasMore || state.loadingMore) return;
    const request = this.request;
    this.update((s) => ({ ...s, loadingMore: true, error: undefined }));
    try {
      const page = await this.api.listRooms({ limit: this.pageSize, offset: state.rooms.length });
      if (request !== this.request) return;
      this.update((s) => ({
        ...s,
        rooms: appendRooms(s.rooms, page),
        hasMore: page.length >= this.pageSize,
        loadingMore: false,
      }));
    } catch (error) {
      if (request !== this.request) return;
      this.update((s) => ({ ...s, loadingMore: false, error: this.describeError(error) }));
    }
  }

  private async act<T>(id: number, action: RoomAction, run: () => Promise<T>): Promise<T | undefined> {
    if (this.getState().pending[id]) return undefined;
    this.update((s) => {
      const { [id]: _, ...errors } = s.errors;
      return { ...s, pending: { ...s.pending, [id]: action }, errors };
    });
    try {
      return await run();
    } catch (error) {
      this.update((s) => ({ ...s, errors: { ...s.errors, [id]: this.describeError(error) } }));
      return undefined;
    } finally {
      this.update((s) => {
        const { [id]: _, ...pending } = s.pending;
        return { ...s, pending };
      });
    }
  }

  /** Joins room `id`; resolves to the conversation, or undefined when it failed (see `errors`). */
  join(id: number): Promise<Conversation | undefined> {
    return this.act(id, 'join', async () => {
      const conversation = await this.membership.joinRoom(id);
      this.updateRoom(id, (r) => ({ ...r, is_member: true, member_count: memberCount(conversation) }));
      return conversation;
    });
  }

  /** Leaves room `id`; resolves to true when done. */
  async leave(id: number): Promise<boolean> {
    const done = await this.act(id, 'leave', async () => {
      await this.membership.leaveConversation(id);
      this.updateRoom(id, (r) =>
        r.is_member ? { ...r, is_member: false, member_count: Math.max(0, (r.member_count ?? 1) - 1) } : r,
      );
      return true;
    });
    return done === true;
  }
}

export interface RoomEntry {
  room: Room;
  isMember: boolean;
  memberCount: number;
}

/**
 * The rooms as shown: filtered by name, with membership and member count taken from the
 * conversation list when it is loaded (`conversations` null otherwise).
 */
export function roomEntries(
  rooms: readonly Room[],
  conversations: readonly Conversation[] | null,
  filter = '',
): RoomEntry[] {
  const needle = filter.trim().toLocaleLowerCase();
  const joined = conversations ? new Map(conversations.map((c) => [c.id, c])) : null;
  return rooms
    .filter((room) => !needle || (room.name ?? '').toLocaleLowerCase().includes(needle))
    .map((room) => {
      const listed = room.member_count ?? room.members.length;
      if (!joined) return { room, isMember: room.is_member, memberCount: listed };
      const conversation = joined.get(room.id);
      if (conversation) return { room, isMember: true, memberCount: memberCount(conversation) };
      // Left since the rooms were listed: not counted any more.
      return { room, isMember: false, memberCount: room.is_member ? Math.max(0, listed - 1) : listed };
    });
}

export function memberCountLabel(count: number): string {
  return `${count} member${count === 1 ? '' : 's'}`;
}
