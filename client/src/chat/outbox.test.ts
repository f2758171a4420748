import { describe, expect, it, vi } from 'vitest';
import type { Message, SendMessagePayload } from '../api/types';
import { message, settle } from '../test/fixtures';
import { Outbox, type OutgoingMessage, type SendOutcome } from './outbox';

function setup(send: (payload: SendMessagePayload) => Promise<SendOutcome>) {
  let online = false;
  const stored: Message[] = [];
  let items: OutgoingMessage[] = [];
  const sendMock = vi.fn(send);
  const outbox = new Outbox({
    send: sendMock,
    isOnline: () => online,
    onStored: (m) => stored.push(m),
    onChange: (next) => {
      items = next;
    },
  });
  return {
    outbox,
    send: sendMock,
    stored,
    items: () => items,
    setOnline: (value: boolean) => {
      online = value;
    },
  };
}

const stored = (payload: SendMessagePayload, seq: number): SendOutcome => ({
  ok: true,
  message: message(seq, { sender_id: 1, content: payload.content, client_id: payload.client_id ?? null }),
});

function draft(client_id: string, content = client_id) {
  return { client_id, conversation_id: 10, content, created_at: '2030-01-01T00:00:00Z' };
}

describe('outbox', () => {
  it('queues messages while offline and sends them in order after reconnecting', async () => {
    let seq = 0;
    const t = setup(async (payload) => stored(payload, ++seq));
    t.outbox.add(draft('a'));
    t.outbox.add(draft('b'));
    t.outbox.add(draft('c'));
    await settle();
    expect(t.send).not.toHaveBeenCalled();
    expect(t.items().map((i) => i.status)).toEqual(['queued', 'queued', 'queued']);

    t.setOnline(true);
    await t.outbox.flush();
    expect(t.send.mock.calls.map(([p]) => p.client_id)).toEqual(['a', 'b', 'c']);
    expect(t.send.mock.calls[0]![0]).toEqual({
      conversation_id: 10,
      content: 'a',
      message_type: 'text',
      client_id: 'a',
    });
    expect(t.items()).toEqual([]);
    expect(t.stored.map((m) => m.client_id)).toEqual(['a', 'b', 'c']);
  });

  it('sends one message at a time', async () => {
    const pending: Array<() => void> = [];
    const t = setup(
      (payload) => new Promise((resolve) => pending.push(() => resolve(stored(payload, pending.length)))),
    );
    t.setOnline(true);
    t.outbox.add(draft('a'));
    t.outbox.add(draft('b'));
    await settle();
    expect(t.send).toHaveBeenCalledTimes(1);
    expect(t.items().map((i) => i.status)).toEqual(['sending', 'queued']);
    pending[0]!();
    await settle();
    expect(t.send).toHaveBeenCalledTimes(2);
    pending[1]!();
    await settle();
    expect(t.items()).toEqual([]);
  });

  it('puts a message back in the queue when the connection drops before the answer', async () => {
    const t = setup(async () => {
      t.setOnline(false);
      return { ok: false, error: 'socket has been disconnected', code: 'disconnected', transient: true };
    });
    t.setOnline(true);
    t.outbox.add(draft('a'));
    await settle();
    expect(t.items()[0]).toMatchObject({ client_id: 'a', status: 'queued' });

    // Reconnected: the same client_id goes out again, so the server can deduplicate it.
    t.send.mockImplementation(async (payload) => stored(payload, 1));
    t.setOnline(true);
    await t.outbox.flush();
    expect(t.send.mock.calls.map(([p]) => p.client_id)).toEqual(['a', 'a']);
    expect(t.items()).toEqual([]);
  });

  it('marks a refused message failed, keeps going, and can retry it', async () => {
    const t = setup(async (payload) =>
      payload.client_id === 'a'
        ? { ok: false, error: 'Rate limited', code: 'rate_limited', transient: false }
        : stored(payload, 1),
    );
    t.setOnline(true);
    t.outbox.add(draft('a'));
    t.outbox.add(draft('b'));
    await settle(10);
    expect(t.items()).toEqual([expect.objectContaining({ client_id: 'a', status: 'failed', error: 'Rate limited' })]);

    t.send.mockImplementation(async (payload) => stored(payload, 2));
    t.outbox.retry('a');
    await settle(10);
    expect(t.items()).toEqual([]);
    expect(t.stored.map((m) => m.client_id)).toEqual(['b', 'a']);
  });

  it('marks a message failed when the server does not answer while connected', async () => {
    const t = setup(async () => ({ ok: false, error: 'No answer', code: 'timeout', transient: true }));
    t.setOnline(true);
    t.outbox.add(draft('a'));
    await settle();
    expect(t.items()[0]).toMatchObject({ status: 'failed' });
  });

  it('stops tracking a message whose stored copy arrived another way', async () => {
    const t = setup(async (payload) => stored(payload, 1));
    t.outbox.add(draft('a'));
    expect(t.outbox.resolve('a')).toBe(true);
    expect(t.outbox.resolve('a')).toBe(false);
    t.setOnline(true);
    await t.outbox.flush();
    expect(t.send).not.toHaveBeenCalled();
  });
});
