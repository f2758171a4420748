import { describe, expect, it } from 'vitest';
import { createSessionNotice, describeSessionEnd } from './sessionNotice';
import { memoryStorage } from './tokenStore';

describe('session notice', () => {
  it('explains each reason the server gives', () => {
    expect(describeSessionEnd('logged_out_everywhere')).toMatch(/signed out on all your devices/);
    expect(describeSessionEnd('password_reset')).toMatch(/password was changed/);
    expect(describeSessionEnd(undefined)).toMatch(/expired/);
    expect(describeSessionEnd('something_new')).toMatch(/ended by the server/);
  });

  it('is kept in storage, shared by tabs, until cleared', () => {
    const storage = memoryStorage();
    const first = createSessionNotice(storage, () => 1_000);
    const otherTab = createSessionNotice(storage, () => 2_000);
    expect(first.message()).toBeNull();
    first.set('password_reset');
    expect(otherTab.message()).toBe(describeSessionEnd('password_reset'));
    otherTab.clear();
    expect(first.message()).toBeNull();
  });

  it('forgets old or unreadable notices', () => {
    const storage = memoryStorage();
    let now = 0;
    const notice = createSessionNotice(storage, () => now);
    notice.set('logged_out_everywhere');
    now = 25 * 60 * 60 * 1000;
    expect(notice.message()).toBeNull();
    storage.setItem('chat.session_notice', '{not json');
    expect(notice.message()).toBeNull();
  });

  it('works without storage, in memory', () => {
    const notice = createSessionNotice(null, () => 5);
    notice.set(undefined);
    expect(notice.message()).toBe(describeSessionEnd(undefined));
  });
});
