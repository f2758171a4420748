import { describe, expect, it, vi } from 'vitest';
import { createRinger, ringPlan, type RingerDeps } from './ringtone';

describe('ringPlan', () => {
  it('rings in a visible page, without a notification', () => {
    expect(ringPlan(false, 'default')).toEqual({ sound: true, notify: false });
    expect(ringPlan(false, 'granted')).toEqual({ sound: true, notify: false });
  });

  it('stays silent in a hidden page unless notifications are allowed, then notifies as well', () => {
    expect(ringPlan(true, 'default')).toEqual({ sound: false, notify: false });
    expect(ringPlan(true, 'denied')).toEqual({ sound: false, notify: false });
    expect(ringPlan(true, null)).toEqual({ sound: false, notify: false });
    expect(ringPlan(true, 'granted')).toEqual({ sound: true, notify: true });
  });
});

function setup(hidden: boolean, permission: NotificationPermission | null) {
  const page = { hidden, permission, listeners: new Set<() => void>() };
  const tone = { start: vi.fn(), stop: vi.fn() };
  const shown = { close: vi.fn() };
  const deps = {
    hidden: () => page.hidden,
    permission: () => page.permission,
    onVisibilityChange: (listener: () => void) => {
      page.listeners.add(listener);
      return () => page.listeners.delete(listener);
    },
    tone: () => tone,
    notify: vi.fn<RingerDeps['notify']>(async () => shown),
  };
  const setHidden = (value: boolean) => {
    page.hidden = value;
    for (const listener of page.listeners) listener();
  };
  return { page, tone, shown, deps, setHidden, ringer: createRinger(deps) };
}

const RING = { callId: 'abc', callerName: 'Alice', media: 'video' as const, conversationId: 12 };

describe('createRinger', () => {
  it('sounds the tone in a visible page until stopped', () => {
    const { tone, deps, ringer, page } = setup(false, 'default');
    ringer.start(RING);
    expect(tone.start).toHaveBeenCalledTimes(1);
    expect(deps.notify).not.toHaveBeenCalled();
    ringer.stop();
    expect(tone.stop).toHaveBeenCalled();
    expect(page.listeners.size).toBe(0);
  });

  it('is silent in a hidden page without permission, and starts when the page is shown', () => {
    const { tone, deps, ringer, setHidden } = setup(true, 'default');
    ringer.start(RING);
    expect(tone.start).not.toHaveBeenCalled();
    expect(deps.notify).not.toHaveBeenCalled();
    setHidden(false);
    expect(tone.start).toHaveBeenCalledTimes(1);
    setHidden(true);
    expect(tone.stop).toHaveBeenCalledTimes(1);
  });

  it('notifies "Incoming video call from Alice" in a hidden page with permission, and closes it when stopped', async () => {
    const { deps, ringer, shown } = setup(true, 'granted');
    ringer.start(RING);
    expect(deps.notify).toHaveBeenCalledWith('Incoming video call from Alice', {
      body: 'Open the chat to answer.',
      tag: 'call-abc',
      conversationId: 12,
    });
    ringer.stop();
    await Promise.resolve();
    await Promise.resolve();
    expect(shown.close).toHaveBeenCalled();
  });

  it('says voice for a voice call', () => {
    const { deps, ringer } = setup(true, 'granted');
    ringer.start({ ...RING, media: 'audio' });
    expect(deps.notify.mock.calls[0]![0]).toBe('Incoming voice call from Alice');
  });
});
