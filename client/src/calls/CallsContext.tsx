// The page's call controller for the components: the call buttons, the incoming and call screens.

import { createContext, useContext, useSyncExternalStore } from 'react';
import type { CallController, CallSnapshot } from './callController';

export const CallsContext = createContext<CallController | null>(null);

export function useCalls(): CallController {
  const calls = useContext(CallsContext);
  if (!calls) throw new Error('useCalls must be used inside <ChatProvider>');
  return calls;
}

/** The call on this page (a new object at every change). */
export function useCallState(): CallSnapshot {
  const calls = useCalls();
  return useSyncExternalStore(calls.subscribe, calls.getState);
}
