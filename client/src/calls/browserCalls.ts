// The call controller of this page, wired to the browser (camera and microphone, RTCPeerConnection,
// WebAudio, notifications), the REST API (ICE servers) and the application socket.

import { fetchIceServers } from '../api/http';
import type { Ack, Call } from '../api/types';
import { activeRegistration } from '../push/serviceWorker';
import { ACK_TIMEOUT_MS, type ChatSocket } from '../socket/socket';
import { CallController, type CallAck, type CallSignaling } from './callController';
import type { SignalData } from './peer';
import { createRinger, webAudioTone } from './ringtone';

const ICON = '/icons/icon-192.png';
const BADGE = '/icons/badge-96.png';

/** Turns an acknowledgement (or its absence) into the controller's terms. */
async function ask(request: () => Promise<Ack<{ call: Call }>>): Promise<CallAck> {
  try {
    const ack = await request();
    return ack.success ? { ok: true, call: ack.call } : { ok: false, code: ack.code, error: ack.error };
  } catch (error) {
    const disconnected = error instanceof Error && /disconnected/.test(error.message);
    return { ok: false, code: disconnected ? 'disconnected' : 'timeout' };
  }
}

function socketSignaling(current: () => ChatSocket | null): CallSignaling {
  const connected = () => {
    const socket = current();
    return socket?.connected ? socket : null;
  };
  const notConnected: CallAck = { ok: false, code: 'disconnected' };
  const send = (event: 'call:accept' | 'call:decline' | 'call:end' | 'call:resume', call_id: string) => {
    const socket = connected();
    return socket ? ask(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { call_id })) : Promise.resolve(notConnected);
  };
  return {
    connected: () => connected() !== null,
    start(conversation_id, media) {
      const socket = connected();
      return socket
        ? ask(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('call:start', { conversation_id, media }))
        : Promise.resolve(notConnected);
    },
    accept: (callId) => send('call:accept', callId),
    decline: (callId) => send('call:decline', callId),
    // A hang-up while the socket is away still goes out once it is back (the server ends an ended
    // call again without harm); the others are not worth sending late.
    end: (callId) => {
      const socket = current();
      return socket ? ask(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('call:end', { call_id: callId })) : Promise.resolve(notConnected);
    },
    resume: (callId) => send('call:resume', callId),
    async signal(call_id, data: SignalData) {
      const socket = connected();
      if (!socket) return { ok: false, code: 'disconnected' };
      try {
        const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('call:signal', { call_id, data });
        return ack.success ? { ok: true } : { ok: false, code: ack.code, error: ack.error };
      } catch {
        return { ok: false, code: 'timeout' };
      }
    },
  };
}

/** Shows the incoming-call notification: through the service worker (a click opens the chat), else
 * from the page. */
async function notify(title: string, options: { body: string; tag: string; conversationId: number }) {
  const details = { body: options.body, tag: options.tag, icon: ICON, badge: BADGE, requireInteraction: true };
  const registration = await activeRegistration().catch(() => null);
  if (registration) {
    await registration.showNotification(title, { ...details, data: { conversation_id: options.conversationId } });
    return {
      close: () =>
        void registration
          .getNotifications({ tag: options.tag })
          .then((shown) => shown.forEach((n) => n.close()))
          .catch(() => undefined),
    };
  }
  const shown = new Notification(title, details);
  shown.onclick = () => {
    window.focus();
    shown.close();
  };
  return shown;
}

const browserRinger = () =>
  createRinger({
    hidden: () => document.hidden,
    permission: () => (typeof Notification === 'undefined' ? null : Notification.permission),
    onVisibilityChange(listener) {
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
    tone: webAudioTone,
    notify,
  });

export interface BrowserCalls {
  controller: CallController;
  /** Listens to the socket's call events; returns what stops listening. */
  attach(socket: ChatSocket): () => void;
}

export function createBrowserCalls(options: { me: { id: number }; nameOf: (userId: number, conversationId: number) => string }): BrowserCalls {
  let socket: ChatSocket | null = null;
  const controller = new CallController({
    me: options.me,
    signaling: socketSignaling(() => socket),
    getUserMedia: (constraints) => {
      if (!navigator.mediaDevices?.getUserMedia) return Promise.reject(new TypeError('getUserMedia is not available'));
      return navigator.mediaDevices.getUserMedia(constraints);
    },
    iceServers: fetchIceServers,
    createPeerConnection: (config) => new RTCPeerConnection(config),
    ringer: browserRinger(),
    nameOf: options.nameOf,
  });

  return {
    controller,
    attach(target) {
      socket = target;
      const onConnect = () => void controller.handleConnect();
      // A page that goes away hangs up rather than leaving the other side waiting for the grace period.
      const onPageHide = (event: PageTransitionEvent) => {
        if (!event.persisted) controller.hangUp();
      };
      target.on('connect', onConnect);
      target.on('disconnect', controller.handleDisconnect);
      target.on('call:incoming', controller.handleIncoming);
      target.on('call:accepted', controller.handleAccepted);
      target.on('call:answered_elsewhere', controller.handleAnsweredElsewhere);
      target.on('call:signal', controller.handleSignal);
      target.on('call:ended', controller.handleEnded);
      window.addEventListener('pagehide', onPageHide);
      return () => {
        window.removeEventListener('pagehide', onPageHide);
        target.off('connect', onConnect);
        target.off('disconnect', controller.handleDisconnect);
        target.off('call:incoming', controller.handleIncoming);
        target.off('call:accepted', controller.handleAccepted);
        target.off('call:answered_elsewhere', controller.handleAnsweredElsewhere);
        target.off('call:signal', controller.handleSignal);
        target.off('call:ended', controller.handleEnded);
        controller.dispose();
        if (socket === target) socket = null;
      };
    },
  };
}
