import { useLayoutEffect, useRef } from 'react';
import { useChat } from '../chat/ChatContext';
import type { Thread } from '../chat/client';

const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 150;

interface MessageScrollOptions {
  conversationId: number;
  thread: Thread;
  /** How many of the user's messages are pending: one more scrolls to the bottom. */
  outgoingCount: number;
  /** Scroll to this message and mark it for a moment once it is held (a search result). */
  focusMessageId?: number;
}

/**
 * Scrolling of the message list: it follows the bottom while the user is there (and whenever they
 * send), keeps the messages in view where they were when older ones are added above, brings a
 * focused message into view, and reads older messages as the top comes near. Returns the
 * scroller's ref and its scroll handler.
 */
export function useMessageScroll({ conversationId, thread, outgoingCount, focusMessageId }: MessageScrollOptions) {
  const client = useChat();
  const scroller = useRef<HTMLDivElement>(null);
  const nearBottom = useRef(true);
  const lastHeight = useRef(0);
  const lastFirstSeq = useRef<number | undefined>(undefined);
  const lastOutgoingCount = useRef(0);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const firstSeq = thread.messages[0]?.seq;
    const olderPrepended =
      lastFirstSeq.current !== undefined && firstSeq !== undefined && firstSeq < lastFirstSeq.current;
    const ownMessageAdded = outgoingCount > lastOutgoingCount.current;
    if (olderPrepended) {
      // Keep the messages in view where they were.
      element.scrollTop += element.scrollHeight - lastHeight.current;
    } else if (nearBottom.current || ownMessageAdded) {
      element.scrollTop = element.scrollHeight;
      nearBottom.current = true;
    }
    lastHeight.current = element.scrollHeight;
    lastFirstSeq.current = firstSeq;
    lastOutgoingCount.current = outgoingCount;
  }, [thread.messages, outgoingCount]);

  // A message to show: once it is held, bring it into view (and stop following the bottom).
  const focused = useRef<number | undefined>(undefined);
  const focusHeld = focusMessageId !== undefined && thread.messages.some((m) => m.id === focusMessageId);
  useLayoutEffect(() => {
    if (!focusHeld || focused.current === focusMessageId) return;
    const target = scroller.current?.querySelector<HTMLElement>(`[data-message-id="${focusMessageId}"]`);
    if (!target) return;
    focused.current = focusMessageId;
    nearBottom.current = false;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('highlighted');
    window.setTimeout(() => target.classList.remove('highlighted'), 2000);
    // Images above it that load later push it down: center it again as they arrive (briefly).
    const recenter = () => target.scrollIntoView({ block: 'center' });
    const loading = [...(scroller.current?.querySelectorAll('img') ?? [])].filter((img) => !img.complete);
    for (const img of loading) img.addEventListener('load', recenter, { once: true });
    window.setTimeout(() => loading.forEach((img) => img.removeEventListener('load', recenter)), 3000);
  });

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    nearBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
    lastHeight.current = element.scrollHeight;
    if (element.scrollTop < NEAR_TOP_PX && thread.hasOlder && !thread.loadingOlder) {
      void client.loadOlder(conversationId);
    }
  }

  return { scroller, onScroll };
}
