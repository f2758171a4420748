// The push client of this page: the browser's Push and Notification APIs and the server's endpoints.

import { deletePushSubscription, fetchVapidPublicKey, savePushSubscription } from '../api/http';
import { createPushClient, type PushClient } from './pushClient';
import { activeRegistration } from './serviceWorker';

const supported = () => typeof window !== 'undefined' && 'Notification' in window && 'PushManager' in window;

export const push: PushClient = createPushClient({
  pushManager: async () => (supported() ? ((await activeRegistration())?.pushManager ?? null) : null),
  permission: () => (supported() ? Notification.permission : null),
  requestPermission: () => Notification.requestPermission(),
  vapidKey: fetchVapidPublicKey,
  save: savePushSubscription,
  remove: deletePushSubscription,
});

/** Waits at most `ms` for `task` (sign-out must not hang on a service worker that never answers). */
export function waitAtMost(task: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    task
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}
