import { describe, expect, it } from 'vitest';
import { clearDrafts, createDrafts, drafts } from './drafts';

describe('drafts', () => {
  it('start empty', () => {
    expect(createDrafts().get(10)).toBe('');
  });

  it('keep unsent text while the user looks at other conversations', () => {
    const kept = createDrafts();
    kept.save(10, 'half a thought');
    // Another conversation opens and gets its own text.
    expect(kept.get(11)).toBe('');
    kept.save(11, 'something else');
    // Back in the first conversation, its text is still there.
    expect(kept.get(10)).toBe('half a thought');
    expect(kept.get(11)).toBe('something else');
  });

  it('come back exactly as typed, line breaks and spaces included', () => {
    const kept = createDrafts();
    kept.save(10, '  first line\nsecond line ');
    expect(kept.get(10)).toBe('  first line\nsecond line ');
  });

  it('follow the latest edit, down to an emptied box', () => {
    const kept = createDrafts();
    kept.save(10, 'hello');
    kept.save(10, 'hello there');
    expect(kept.get(10)).toBe('hello there');
    kept.save(10, '');
    expect(kept.get(10)).toBe('');
  });

  it('forget the sent conversation only', () => {
    const kept = createDrafts();
    kept.save(10, 'sent now');
    kept.save(11, 'still waiting');
    kept.discard(10);
    expect(kept.get(10)).toBe('');
    expect(kept.get(11)).toBe('still waiting');
  });

  it('are all forgotten on sign-out', () => {
    drafts.save(10, 'private');
    drafts.save(11, 'also private');
    clearDrafts();
    expect(drafts.get(10)).toBe('');
    expect(drafts.get(11)).toBe('');
  });
});
