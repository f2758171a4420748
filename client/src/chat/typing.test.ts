import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTypingEmitter, typingLabel } from './typing';

describe('typing emitter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends start at most once per throttle period and stop after a pause', () => {
    const start = vi.fn();
    const stop = vi.fn();
    const typing = createTypingEmitter({ start, stop, throttleMs: 2000, idleMs: 3000, now: () => Date.now() });
    typing.input();
    vi.advanceTimersByTime(500);
    typing.input();
    vi.advanceTimersByTime(500);
    typing.input();
    expect(start).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1000);
    typing.input();
    expect(start).toHaveBeenCalledTimes(2);
    expect(stop).not.toHaveBeenCalled();
    vi.advanceTimersByTime(3000);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('stops at once on send and only when typing', () => {
    const start = vi.fn();
    const stop = vi.fn();
    const typing = createTypingEmitter({ start, stop, now: () => Date.now() });
    typing.stop();
    expect(stop).not.toHaveBeenCalled();
    typing.input();
    typing.stop();
    expect(stop).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(stop).toHaveBeenCalledTimes(1);
    typing.input();
    expect(start).toHaveBeenCalledTimes(2);
  });
});

describe('typing label', () => {
  it('names who is typing', () => {
    expect(typingLabel([])).toBeNull();
    expect(typingLabel(['Bob'])).toBe('Bob is typing...');
    expect(typingLabel(['Bob', 'Ann'])).toBe('Bob and Ann are typing...');
    expect(typingLabel(['Bob', 'Ann', 'Cy'])).toBe('Bob, Ann and Cy are typing...');
    expect(typingLabel(['Bob', 'Ann', 'Cy', 'Di'])).toBe('Several people are typing...');
  });
});
