// Web Push on this device: the switch's state, turning it on and off, and what sign-out and the
// start of a session do with the subscription. Browser APIs and requests come in as `PushDeps`, so
// the logic runs (and is tested) without a browser.
//
// The browser's own subscription (`pushManager.getSubscription()`) is the truth about the switch:
// it survives reloads, and the server is told about it again at every start (`sync`), which also
// ties it to the current session.

/** What the switch shows. */
export type PushState =
  /** No service worker, Push API or Notification API here. */
  | 'unsupported'
  /** The server sends no notifications (it has no VAPID keys). */
  | 'unavailable'
  /** The user refused notifications for this site in the browser. */
  | 'blocked'
  | 'off'
  | 'on';

/** The part of a `PushSubscription` used here. */
export interface PushSubscriptionLike {
  readonly endpoint: string;
  readonly options?: { readonly applicationServerKey: ArrayBuffer | null };
  toJSON(): PushSubscriptionJSON;
  unsubscribe(): Promise<boolean>;
}

/** The part of a `PushManager` used here. */
export interface PushManagerLike {
  getSubscription(): Promise<PushSubscriptionLike | null>;
  subscribe(options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array<ArrayBuffer> }): Promise<PushSubscriptionLike>;
}

export interface PushDeps {
  /** The service worker registration's push manager; null where push is not supported. */
  pushManager(): Promise<PushManagerLike | null>;
  /** `Notification.permission`; null without the Notification API. */
  permission(): NotificationPermission | null;
  /** `Notification.requestPermission()`. */
  requestPermission(): Promise<NotificationPermission>;
  /** The server's VAPID public key (base64url); null when the server sends no notifications. */
  vapidKey(): Promise<string | null>;
  /** Hands the subscription to the server (for the current session). */
  save(subscription: PushSubscriptionJSON): Promise<void>;
  /** Tells the server to forget an endpoint. */
  remove(endpoint: string): Promise<void>;
}

export interface PushClient {
  /** The switch's state as the browser and the server have it now. */
  state(): Promise<PushState>;
  /**
   * Turns notifications on: asks for the permission (only here, from the user's click), subscribes
   * with the server's key and hands the subscription to the server. Resolves to the new state:
   * `off` when the user dismissed the question, `blocked` when notifications are refused.
   */
  enable(): Promise<PushState>;
  /** Turns notifications off: the server forgets the subscription, then the browser drops it. */
  disable(): Promise<PushState>;
  /**
   * At the start of a session: an existing subscription is handed to the server again (it moves to
   * this session), renewed when the server's key changed, dropped when the permission was taken back.
   */
  sync(): Promise<void>;
  /** Sign-out, while the token is still valid: the server forgets the subscription, then the browser. */
  signOut(): Promise<void>;
  /** The session ended without the user (the server dropped its subscriptions): the browser's goes too. */
  discard(): Promise<void>;
}

/** Decodes base64url (padded or not) into bytes, as `applicationServerKey` takes them. */
export function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether a subscription was made with `key`; one whose key is not known is taken as matching. */
function madeWithKey(subscription: PushSubscriptionLike, key: Uint8Array): boolean {
  const own = subscription.options?.applicationServerKey;
  if (!own) return true;
  const bytes = new Uint8Array(own);
  return bytes.length === key.length && bytes.every((byte, i) => byte === key[i]);
}

export function createPushClient(deps: PushDeps): PushClient {
  /** Subscribes with `key`, first dropping a subscription made with another key (it would be refused). */
  async function subscribe(manager: PushManagerLike, key: Uint8Array<ArrayBuffer>): Promise<PushSubscriptionLike> {
    const existing = await manager.getSubscription();
    if (existing && madeWithKey(existing, key)) return existing;
    if (existing) await existing.unsubscribe();
    return manager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }

  /** The server forgets the subscription, then the browser drops it. */
  async function forget(subscription: PushSubscriptionLike): Promise<void> {
    // Dropped even when the server could not be told: the push service then refuses what the
    // server sends to it, and the server forgets it at that point.
    await deps.remove(subscription.endpoint).catch(() => undefined);
    await subscription.unsubscribe();
  }

  return {
    async state() {
      const permission = deps.permission();
      const manager = permission === null ? null : await deps.pushManager();
      if (!manager || permission === null) return 'unsupported';
      if (permission === 'denied') return 'blocked';
      const subscription = await manager.getSubscription();
      if (subscription && permission === 'granted') return 'on';
      return (await deps.vapidKey()) === null ? 'unavailable' : 'off';
    },

    async enable() {
      if (deps.permission() === null) return 'unsupported';
      // Asked before anything else is awaited: browsers only ask from within the user's click.
      let permission = deps.permission();
      if (permission === 'default') permission = await deps.requestPermission();
      if (permission === 'denied') return 'blocked';
      if (permission !== 'granted') return 'off';
      const manager = await deps.pushManager();
      if (!manager) return 'unsupported';
      const key = await deps.vapidKey();
      if (key === null) return 'unavailable';
      const subscription = await subscribe(manager, base64UrlToBytes(key));
      try {
        await deps.save(subscription.toJSON());
      } catch (error) {
        // A subscription the server does not know would show the switch on and bring nothing.
        await subscription.unsubscribe().catch(() => false);
        throw error;
      }
      return 'on';
    },

    async disable() {
      const manager = await deps.pushManager();
      if (!manager) return 'unsupported';
      const subscription = await manager.getSubscription();
      if (subscription) await forget(subscription);
      return 'off';
    },

    async sync() {
      const permission = deps.permission();
      if (permission === null) return;
      const manager = await deps.pushManager();
      const subscription = await manager?.getSubscription();
      if (!manager || !subscription) return;
      if (permission !== 'granted') {
        // Nothing could be shown; the server would send in vain.
        await forget(subscription);
        return;
      }
      const key = await deps.vapidKey();
      if (key === null) return;
      await deps.save((await subscribe(manager, base64UrlToBytes(key))).toJSON());
    },

    async signOut() {
      const subscription = await (await deps.pushManager())?.getSubscription();
      if (subscription) await forget(subscription);
    },

    async discard() {
      const subscription = await (await deps.pushManager())?.getSubscription();
      await subscription?.unsubscribe();
    },
  };
}
