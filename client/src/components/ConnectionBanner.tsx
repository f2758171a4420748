import { useSyncExternalStore } from 'react';
import { useChatState } from '../chat/ChatContext';

function subscribeOnline(callback: () => void) {
  window.addEventListener('online', callback);
  window.addEventListener('offline', callback);
  return () => {
    window.removeEventListener('online', callback);
    window.removeEventListener('offline', callback);
  };
}

function useBrowserOnline(): boolean {
  return useSyncExternalStore(subscribeOnline, () => navigator.onLine, () => true);
}

/** Tells the user while the live connection is down; messages wait meanwhile. */
export function ConnectionBanner() {
  const status = useChatState((s) => s.connection);
  const pending = useChatState((s) => s.outgoing.length);
  const online = useBrowserOnline();
  if (status === 'connected' || status === 'idle') return null;

  let text: string;
  if (!online) text = 'You are offline.';
  else if (status === 'connecting') text = 'Connecting...';
  else text = 'Connection lost. Reconnecting...';
  const waiting =
    pending > 0
      ? ` ${pending} message${pending === 1 ? '' : 's'} will be sent when the connection is back.`
      : ' Messages you write will be sent when the connection is back.';

  return (
    <div className={`connection-banner connection-${status}`} role="status" data-testid="connection-banner" data-status={status}>
      <span className="spinner" aria-hidden="true" />
      <span>
        {text}
        {status === 'reconnecting' || !online ? waiting : null}
      </span>
    </div>
  );
}
