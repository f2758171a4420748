import { describe, expect, it } from 'vitest';
import { PICKER_EMOJI, createRecentEmoji, pickerEmoji } from './recentEmoji';

function memoryStorage() {
  const items = new Map<string, string>();
  return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
}

describe('recent emoji', () => {
  it('puts the latest first, once, keeps eight and survives a new page', () => {
    const storage = memoryStorage();
    const recent = createRecentEmoji(storage);
    for (const e of ['👍', '🎉', '👍', '🔥', '😂', '😮', '😢', '🙏', '👏', '😍']) recent.use(e);
    expect(recent.list()).toEqual(['😍', '👏', '🙏', '😢', '😮', '😂', '🔥', '👍']);
    expect(createRecentEmoji(storage).list()).toEqual(recent.list());
  });

  it('a broken or refusing storage only loses the list', () => {
    const broken = { getItem: () => '{not json', setItem: () => { throw new Error('full'); } };
    const recent = createRecentEmoji(broken);
    expect(recent.list()).toEqual([]);
    recent.use('👍');
    expect(recent.list()).toEqual(['👍']);
  });

  it('the picker shows the recent ones first and the rest without repeating them', () => {
    const { recent, more } = pickerEmoji(['🚀', '👍']);
    expect(recent).toEqual(['🚀', '👍']);
    expect(more).not.toContain('👍');
    expect(more.length).toBe(PICKER_EMOJI.length - 2);
  });
});
