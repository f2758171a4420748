// The call on this page as a pure state machine: one call at a time, from the first click (or the
// ring) to the end. The controller feeds it events and does what the transitions call for.

import type { CallProblem } from './callProblems';
import type { Call, CallMedia } from '../api/types';

export type CallPhase =
  /** No call; `problem` may still say how the last one went. */
  | 'idle'
  /** The caller asked for a call: ICE servers, camera and microphone, then `call:start`. */
  | 'preparing'
  /** `call:start` succeeded: it rings at the other side. */
  | 'outgoing'
  /** A call rings here. */
  | 'incoming'
  /** The callee pressed Accept: camera and microphone, then `call:accept`. */
  | 'accepting'
  /** Answered: the browsers are negotiating the media connection. */
  | 'connecting'
  /** The media connection is up. */
  | 'active';

export interface CallView<S = unknown> {
  phase: CallPhase;
  role: 'caller' | 'callee' | null;
  /** The server's call id, once known. */
  callId: string | null;
  conversationId: number | null;
  peerId: number | null;
  media: CallMedia;
  /** When the call was answered (this page's clock, ms), for the running duration. */
  answeredAt: number | null;
  micMuted: boolean;
  cameraOff: boolean;
  /** Whether this side sends video (a video call answered without a camera does not). */
  sendsVideo: boolean;
  localStream: S | null;
  remoteStream: S | null;
  problem: CallProblem | null;
}

export type CallEvent<S = unknown> =
  | { type: 'start'; conversationId: number; peerId: number; media: CallMedia }
  | { type: 'ringing'; call: Call }
  | { type: 'incoming'; call: Call; peerId: number }
  | { type: 'accepting' }
  | { type: 'accept_failed'; problem: CallProblem }
  | { type: 'answered'; at: number }
  | { type: 'connected' }
  | { type: 'local_stream'; stream: S; sendsVideo: boolean }
  | { type: 'remote_stream'; stream: S }
  | { type: 'toggle_mic' }
  | { type: 'toggle_camera' }
  | { type: 'finish'; problem: CallProblem | null }
  | { type: 'dismiss' };

export const IDLE: CallView<never> = {
  phase: 'idle',
  role: null,
  callId: null,
  conversationId: null,
  peerId: null,
  media: 'audio',
  answeredAt: null,
  micMuted: false,
  cameraOff: false,
  sendsVideo: false,
  localStream: null,
  remoteStream: null,
  problem: null,
};

/** Phases in which this page holds a call (and a new one cannot start). */
export function inCall(view: Pick<CallView, 'phase'>): boolean {
  return view.phase !== 'idle';
}

/** Phases in which the server knows the call as this page's (ringing for the caller, or answered). */
export function holdsServerCall(view: Pick<CallView, 'phase' | 'callId'>): boolean {
  return view.callId !== null && ['outgoing', 'connecting', 'active'].includes(view.phase);
}

/** Phases shown on the call screen (the ringing callee sees the incoming screen instead). */
export function showsCallScreen(view: Pick<CallView, 'phase'>): boolean {
  return ['preparing', 'outgoing', 'accepting', 'connecting', 'active'].includes(view.phase);
}

export function reduceCall<S>(view: CallView<S>, event: CallEvent<S>): CallView<S> {
  switch (event.type) {
    case 'start':
      if (view.phase !== 'idle') return view;
      return {
        ...IDLE,
        phase: 'preparing',
        role: 'caller',
        conversationId: event.conversationId,
        peerId: event.peerId,
        media: event.media,
        sendsVideo: event.media === 'video',
      };
    case 'ringing':
      if (view.phase !== 'preparing') return view;
      return { ...view, phase: 'outgoing', callId: event.call.id };
    case 'incoming':
      if (view.phase !== 'idle') return view;
      return {
        ...IDLE,
        phase: 'incoming',
        role: 'callee',
        callId: event.call.id,
        conversationId: event.call.conversation_id,
        peerId: event.peerId,
        media: event.call.media,
        sendsVideo: event.call.media === 'video',
      };
    case 'accepting':
      return view.phase === 'incoming' ? { ...view, phase: 'accepting', problem: null } : view;
    case 'accept_failed':
      return view.phase === 'accepting'
        ? { ...view, phase: 'incoming', problem: event.problem, localStream: null, remoteStream: null }
        : view;
    case 'answered':
      if (view.phase !== 'outgoing' && view.phase !== 'accepting') return view;
      return { ...view, phase: 'connecting', answeredAt: event.at };
    case 'connected':
      return view.phase === 'connecting' ? { ...view, phase: 'active' } : view;
    case 'local_stream':
      if (view.phase === 'idle') return view;
      return { ...view, localStream: event.stream, sendsVideo: event.sendsVideo, cameraOff: !event.sendsVideo && view.media === 'video' };
    case 'remote_stream':
      return view.phase === 'idle' ? view : { ...view, remoteStream: event.stream };
    case 'toggle_mic':
      return view.phase === 'idle' ? view : { ...view, micMuted: !view.micMuted };
    case 'toggle_camera':
      return view.phase === 'idle' || !view.sendsVideo ? view : { ...view, cameraOff: !view.cameraOff };
    case 'finish':
      return { ...IDLE, problem: event.problem };
    case 'dismiss':
      return view.problem ? { ...view, problem: null } : view;
  }
}
