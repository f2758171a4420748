// Notifications open their conversation through an address, `/?conversation=<id>` (when no window
// of the app is open), or through a message from the service worker to an open window. Both end on
// the conversation's own route, `/c/<id>`, once the conversation list shows the user is in it.

import { useEffect, useMemo, useRef } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { useChatState } from '../chat/ChatContext';
import { onOpenConversation } from './serviceWorker';

/** The query parameter naming a conversation to open. */
export const CONVERSATION_PARAM = 'conversation';

/** The conversation id in `?conversation=<id>`, or null when there is none (or it is not an id). */
export function conversationParam(search: string): number | null {
  const raw = new URLSearchParams(search).get(CONVERSATION_PARAM);
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** `search` without `?conversation=`. */
export function withoutConversationParam(search: string): string {
  const params = new URLSearchParams(search);
  params.delete(CONVERSATION_PARAM);
  const rest = params.toString();
  return rest ? `?${rest}` : '';
}

/**
 * Where a request to open conversation `id` leads: its route when the user is in it, nowhere when
 * the list (once loaded) shows they are not, and `wait` while the list is still loading.
 */
export function conversationLinkTarget(
  id: number,
  list: { ready: boolean; ids: readonly number[] },
): { kind: 'open'; path: string } | { kind: 'drop' } | { kind: 'wait' } {
  if (!list.ready) return { kind: 'wait' };
  return list.ids.includes(id) ? { kind: 'open', path: `/c/${id}` } : { kind: 'drop' };
}

/** Opens the conversations that notifications point at (see the top of this file). */
export function useConversationLinks(): void {
  const navigate = useNavigate();
  const location = useLocation();
  const ready = useChatState((s) => s.conversationsStatus === 'ready');
  const conversations = useChatState((s) => s.conversations);
  const ids = useMemo(() => conversations.map((c) => c.id), [conversations]);
  const requested = conversationParam(location.search);
  const listRef = useRef({ ready, ids });

  useEffect(() => {
    listRef.current = { ready, ids };
  }, [ready, ids]);

  useEffect(() => {
    if (requested === null) return;
    const target = conversationLinkTarget(requested, { ready, ids });
    if (target.kind === 'wait') return;
    const stay = `${location.pathname}${withoutConversationParam(location.search)}`;
    navigate(target.kind === 'open' ? target.path : stay, { replace: true });
  }, [requested, ready, ids, navigate, location.pathname, location.search]);

  // A clicked notification, while this window is open: straight to the conversation when the list
  // allows, else through the address above (which waits for the list).
  useEffect(
    () =>
      onOpenConversation((id) => {
        const target = conversationLinkTarget(id, listRef.current);
        if (target.kind === 'open') {
          if (window.location.pathname !== target.path) navigate(target.path);
        } else if (target.kind === 'wait') {
          navigate(`/?${CONVERSATION_PARAM}=${id}`);
        }
      }),
    [navigate],
  );
}
