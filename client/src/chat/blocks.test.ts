import { describe, expect, it } from 'vitest';
import type { User } from '../api/types';
import { ALICE, BOB, ME, conversation, message } from '../test/fixtures';
import { BlockList, blockedPeer, hidesMessage, isBlocked, noBlocks, withBlocked, withUnblocked, type BlockApi } from './blocks';
import { ChatStateStore } from './chatState';

const CAROL: User = { id: 3, username: 'carol', avatar_url: null, status: 'offline', last_seen: null };
const blocking = (...users: User[]) => ({ users, status: 'ready' as const });

describe('blocks', () => {
  it('adds a user first, once, and removes them', () => {
    const one = withBlocked(noBlocks, BOB);
    const two = withBlocked(one, CAROL);
    expect(two.users).toEqual([CAROL, BOB]);
    expect(withBlocked(two, BOB)).toBe(two);
    expect(isBlocked(two, BOB.id)).toBe(true);
    const back = withUnblocked(two, BOB.id);
    expect(back.users).toEqual([CAROL]);
    expect(withUnblocked(back, BOB.id)).toBe(back);
  });

  it("hides a blocked user's messages in groups only, and never notices or deleted messages", () => {
    const blocks = blocking(BOB);
    const fromBob = message(1, { sender_id: BOB.id });
    expect(hidesMessage(blocks, fromBob, 'group')).toBe(true);
    expect(hidesMessage(blocks, fromBob, 'direct')).toBe(false);
    expect(hidesMessage(blocks, fromBob, undefined)).toBe(false);
    expect(hidesMessage(blocks, message(2, { sender_id: CAROL.id }), 'group')).toBe(false);
    expect(hidesMessage(blocks, { ...fromBob, message_type: 'system' }, 'group')).toBe(false);
    expect(hidesMessage(blocks, { ...fromBob, deleted_at: '2030-01-01T00:00:00Z' }, 'group')).toBe(false);
    expect(hidesMessage(noBlocks, fromBob, 'group')).toBe(false);
  });

  it('names the blocked peer of a direct chat only', () => {
    const direct = conversation({ members: [ALICE, BOB] });
    expect(blockedPeer(direct, ME.id, blocking(BOB))).toEqual(BOB);
    expect(blockedPeer(direct, ME.id, blocking(CAROL))).toBeUndefined();
    expect(blockedPeer({ ...direct, type: 'group', name: 'team' }, ME.id, blocking(BOB))).toBeUndefined();
    expect(blockedPeer(undefined, ME.id, blocking(BOB))).toBeUndefined();
  });
});

describe('block list', () => {
  function setup(answer: () => Promise<User[]>) {
    const state = new ChatStateStore();
    const calls: string[] = [];
    const api: BlockApi = {
      listBlockedUsers: answer,
      blockUser: async (id) => void calls.push(`block ${id}`),
      unblockUser: async (id) => void calls.push(`unblock ${id}`),
    };
    const list = new BlockList({ state, api, describeError: (e) => (e instanceof Error ? e.message : 'failed') });
    return { state, list, calls };
  }

  it('does not let a list answer asked for before a change undo it', async () => {
    let resolve: (users: User[]) => void = () => {};
    const t = setup(() => new Promise((r) => (resolve = r)));
    const loading = t.list.load();
    expect(t.state.getState().blocks.status).toBe('loading');
    await t.list.block(BOB);
    resolve([]);
    await loading;
    expect(t.state.getState().blocks.users).toEqual([BOB]);
    expect(t.calls).toEqual([`block ${BOB.id}`]);
  });

  it('says why the list could not be read, and keeps a list it had', async () => {
    let fail = true;
    const t = setup(async () => {
      if (fail) throw new Error('offline');
      return [BOB];
    });
    await t.list.load();
    expect(t.state.getState().blocks).toMatchObject({ status: 'error', error: 'offline' });
    fail = false;
    await t.list.load();
    expect(t.state.getState().blocks).toEqual({ users: [BOB], status: 'ready' });
    fail = true;
    await t.list.load();
    expect(t.state.getState().blocks).toMatchObject({ users: [BOB], status: 'ready', error: 'offline' });
  });
});
