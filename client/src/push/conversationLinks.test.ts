import { describe, expect, it } from 'vitest';
import { conversationLinkTarget, conversationParam, withoutConversationParam } from './conversationLinks';
import { openConversationRequest } from './serviceWorker';

describe('?conversation=<id>', () => {
  it('names a conversation by a positive integer id only', () => {
    expect(conversationParam('?conversation=12')).toBe(12);
    expect(conversationParam('?a=1&conversation=7')).toBe(7);
    for (const search of ['', '?conversation=', '?conversation=0', '?conversation=-3', '?conversation=1.5', '?conversation=12abc', '?conversation=99999999999999999999']) {
      expect(conversationParam(search), search).toBeNull();
    }
  });

  it('is taken out of the address, leaving the rest', () => {
    expect(withoutConversationParam('?conversation=12')).toBe('');
    expect(withoutConversationParam('?message=5&conversation=12&seq=3')).toBe('?message=5&seq=3');
  });

  it('opens the conversation once the list shows the user is in it', () => {
    expect(conversationLinkTarget(12, { ready: false, ids: [] })).toEqual({ kind: 'wait' });
    expect(conversationLinkTarget(12, { ready: true, ids: [3, 12] })).toEqual({ kind: 'open', path: '/c/12' });
    expect(conversationLinkTarget(12, { ready: true, ids: [3] })).toEqual({ kind: 'drop' });
  });
});

describe('messages from the service worker', () => {
  it('accepts open-conversation with an id, and nothing else', () => {
    expect(openConversationRequest({ type: 'open-conversation', conversation_id: 12 })).toBe(12);
    for (const data of [null, 'open-conversation', { type: 'open-conversation' }, { type: 'open-conversation', conversation_id: '12' }, { type: 'other', conversation_id: 12 }, { type: 'open-conversation', conversation_id: -1 }]) {
      expect(openConversationRequest(data)).toBeNull();
    }
  });
});
