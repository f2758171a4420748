import { describe, expect, it, vi } from 'vitest';
import type { Conversation, Room } from '../api/types';
import { ALICE, BOB, conversation } from '../test/fixtures';
import { RoomDirectory, memberCountLabel, roomEntries, type RoomsApi } from './rooms';

function room(id: number, overrides: Partial<Room> = {}): Room {
  return {
    ...conversation({ id, type: 'group', name: `Room ${id}`, is_public: true, members: [], member_count: 1 }),
    is_member: false,
    ...overrides,
  };
}

function setup(all: Room[], pageSize = 2) {
  const api: RoomsApi = {
    listRooms: vi.fn(async ({ limit, offset }: { limit: number; offset: number }) => all.slice(offset, offset + limit)),
  };
  const membership = {
    joinRoom: vi.fn(async (id: number): Promise<Conversation> => {
      if (id === 99) throw new Error('this room is private');
      return conversation({ id, type: 'group', members: [BOB, ALICE], member_count: 2 });
    }),
    leaveConversation: vi.fn(async (_id: number) => {}),
  };
  const directory = new RoomDirectory({ api, membership, pageSize });
  return { api, membership, directory };
}

describe('rooms directory', () => {
  it('loads rooms page by page, without duplicates', async () => {
    const { directory, api } = setup([room(1), room(2), room(3)]);
    await directory.load();
    expect(directory.getState()).toMatchObject({ status: 'ready', hasMore: true });
    await directory.loadMore();
    expect(api.listRooms).toHaveBeenLastCalledWith({ limit: 2, offset: 2 });
    expect(directory.getState().rooms.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(directory.getState().hasMore).toBe(false);
    await directory.loadMore();
    expect(api.listRooms).toHaveBeenCalledTimes(2);
  });

  it('reports a failed load', async () => {
    const { directory, api } = setup([]);
    vi.mocked(api.listRooms).mockRejectedValueOnce(new Error('offline'));
    await directory.load();
    expect(directory.getState()).toMatchObject({ status: 'error', error: 'offline' });
    await directory.load();
    expect(directory.getState()).toMatchObject({ status: 'ready', rooms: [], hasMore: false });
  });

  it('joins and leaves, updating the entry', async () => {
    const { directory, membership } = setup([room(1), room(99)], 10);
    await directory.load();
    const joining = directory.join(1);
    expect(directory.getState().pending).toEqual({ 1: 'join' });
    expect(await directory.join(1)).toBeUndefined(); // one action at a time
    const joined = await joining;
    expect(joined?.id).toBe(1);
    expect(directory.getState().rooms[0]).toMatchObject({ is_member: true, member_count: 2 });
    expect(directory.getState().pending).toEqual({});

    expect(await directory.leave(1)).toBe(true);
    expect(membership.leaveConversation).toHaveBeenCalledWith(1);
    expect(directory.getState().rooms[0]).toMatchObject({ is_member: false, member_count: 1 });

    expect(await directory.join(99)).toBeUndefined();
    expect(directory.getState().errors).toEqual({ 99: 'this room is private' });
  });

  it('shows membership from the conversation list, filtered by name', () => {
    const rooms = [room(1, { name: 'Lobby', member_count: 4 }), room(2, { name: 'Games', is_member: true, member_count: 3 })];
    // Before the list is loaded: as the server listed them.
    expect(roomEntries(rooms, null).map((e) => [e.isMember, e.memberCount])).toEqual([
      [false, 4],
      [true, 3],
    ]);
    // Joined room 1 meanwhile (5 members now), left room 2.
    const joined = conversation({ id: 1, type: 'group', members: [], member_count: 5 });
    expect(roomEntries(rooms, [joined]).map((e) => [e.room.id, e.isMember, e.memberCount])).toEqual([
      [1, true, 5],
      [2, false, 2],
    ]);
    expect(roomEntries(rooms, [], ' lob ').map((e) => e.room.id)).toEqual([1]);
    expect(memberCountLabel(1)).toBe('1 member');
    expect(memberCountLabel(3)).toBe('3 members');
  });
});
