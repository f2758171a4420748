// The call on this page: starting one, ringing, accepting, declining, hanging up, the media
// connection, and picking the call up again after the socket reconnected. The browser's media and
// WebRTC APIs, the socket and the ringtone come in as `CallDeps`, so this runs (and is tested)
// without a browser; the state itself is the pure machine of `callState.ts`.

import type { CallProblem } from './callProblems';
import { describeCallError, describeEnd, describeEndedAtStart, describeMediaError, isMissingDevice } from './callProblems';
import { IDLE, holdsServerCall, reduceCall, type CallEvent, type CallView } from './callState';
import { PeerLink, type SignalData } from './peer';
import type { Call, CallElsewhere, CallEnded, CallMedia, CallSignalEvent } from '../api/types';

/** An acknowledgement as the controller sees it: timeouts and disconnects are codes too. */
export type CallAck = { ok: true; call: Call } | { ok: false; code: string; error?: string };
export type SignalAck = { ok: true } | { ok: false; code: string; error?: string };

/** The call events this page sends. */
export interface CallSignaling {
  connected(): boolean;
  start(conversationId: number, media: CallMedia): Promise<CallAck>;
  accept(callId: string): Promise<CallAck>;
  decline(callId: string): Promise<CallAck>;
  end(callId: string): Promise<CallAck>;
  resume(callId: string): Promise<CallAck>;
  signal(callId: string, data: SignalData): Promise<SignalAck>;
}

/** What rings for an incoming call (sound, a notification); `stop` silences it. */
export interface Ringer {
  start(ring: { callId: string; callerName: string; media: CallMedia; conversationId: number }): void;
  stop(): void;
}

export interface CallDeps {
  me: { id: number };
  signaling: CallSignaling;
  getUserMedia(constraints: { audio: true; video: boolean }): Promise<MediaStream>;
  /** The ICE servers for a new call (`GET /api/calls/ice-servers`). */
  iceServers(): Promise<RTCIceServer[]>;
  createPeerConnection(config: RTCConfiguration): RTCPeerConnection;
  ringer: Ringer;
  /** How the other person of a conversation is named. */
  nameOf(userId: number, conversationId: number): string;
  now?: () => number;
  /**
   * A call still ringing here after this long stops ringing (its end may have been missed while the
   * socket was away); the server gives up on it sooner.
   */
  ringTimeoutMs?: number;
}

export type CallSnapshot = CallView<MediaStream>;

export class CallController {
  private view: CallSnapshot = IDLE;
  private readonly listeners = new Set<() => void>();
  private readonly deps: CallDeps;
  private readonly now: () => number;
  private stream: MediaStream | null = null;
  private link: PeerLink | null = null;
  private iceServers: RTCIceServer[] = [];
  /** Signals wait here until the server takes them (before the callee's accept, while reconnecting). */
  private outbox: SignalData[] = [];
  private signalsOpen = false;
  private disconnected = false;
  /** Counts attempts, so that an answer to an abandoned one is recognised. */
  private attempt = 0;
  private ringTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: CallDeps) {
    this.deps = deps;
    this.now = deps.now ?? (() => Date.now());
  }

  getState = (): CallSnapshot => this.view;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private dispatch(event: CallEvent<MediaStream>): void {
    const next = reduceCall(this.view, event);
    if (next === this.view) return;
    this.view = next;
    for (const listener of [...this.listeners]) listener();
  }

  private peerName(): string {
    const { peerId, conversationId } = this.view;
    return peerId !== null && conversationId !== null ? this.deps.nameOf(peerId, conversationId) : 'The other person';
  }

  // ---- the caller ----

  /** Calls the other member of direct conversation `conversationId`. */
  async start(conversationId: number, peerId: number, media: CallMedia): Promise<void> {
    if (this.view.phase !== 'idle') return;
    const attempt = ++this.attempt;
    this.dispatch({ type: 'start', conversationId, peerId, media });
    // Offline, the camera would only blink on and off again.
    if (!this.deps.signaling.connected()) {
      this.finish({ kind: 'error', message: describeCallError('disconnected', this.peerName()) });
      return;
    }
    const [servers, opened] = await Promise.all([
      this.fetchIceServers(),
      this.deps.getUserMedia({ audio: true, video: media === 'video' }).then(
        (stream) => ({ stream }),
        (error: unknown) => ({ error }),
      ),
    ]);
    if (attempt !== this.attempt) {
      if ('stream' in opened) stopTracks(opened.stream);
      return;
    }
    if ('error' in opened) {
      const problem: CallProblem = { kind: 'error', message: describeMediaError(opened.error, media) };
      if (media === 'video' && isMissingDevice(opened.error)) problem.voiceInstead = { conversationId, peerId };
      this.finish(problem);
      return;
    }
    const { stream } = opened;
    this.iceServers = servers;
    this.stream = stream;
    this.dispatch({ type: 'local_stream', stream, sendsVideo: media === 'video' });
    const ack = await this.deps.signaling.start(conversationId, media);
    if (attempt !== this.attempt) {
      // Hung up while the server was starting it.
      if (ack.ok && ack.call.state !== 'ended') void this.deps.signaling.end(ack.call.id);
      return;
    }
    if (!ack.ok) {
      this.finish({ kind: 'error', message: describeCallError(ack.code, this.peerName(), ack.error) });
      return;
    }
    if (ack.call.state === 'ended') {
      this.finish(describeEndedAtStart(ack.call, this.peerName()));
      return;
    }
    this.dispatch({ type: 'ringing', call: ack.call });
    if (ack.call.state === 'active') this.handleAccepted(ack.call);
  }

  /** `call:accepted`: the callee answered; the caller makes the offer. */
  handleAccepted = (call: Call): void => {
    if (call.id !== this.view.callId || this.view.phase !== 'outgoing') return;
    this.dispatch({ type: 'answered', at: this.now() });
    this.signalsOpen = true;
    const link = this.connect();
    if (link) void link.offer();
  };

  // ---- the callee ----

  /** `call:incoming`: rings unless a call is already held here. */
  handleIncoming = (call: Call): void => {
    if (call.callee_id !== this.deps.me.id || call.state !== 'ringing' || this.view.phase !== 'idle') return;
    this.dispatch({ type: 'incoming', call, peerId: call.caller_id });
    this.deps.ringer.start({
      callId: call.id,
      callerName: this.deps.nameOf(call.caller_id, call.conversation_id),
      media: call.media,
      conversationId: call.conversation_id,
    });
    this.ringTimer = setTimeout(() => {
      if (this.view.callId === call.id && this.view.phase === 'incoming') this.finish(null);
    }, this.deps.ringTimeoutMs ?? 60_000);
  };

  /** Answers the ringing call: camera and microphone first, then `call:accept`. */
  async accept(): Promise<void> {
    const { phase, callId, media } = this.view;
    if (phase !== 'incoming' || !callId) return;
    const attempt = ++this.attempt;
    this.deps.ringer.stop();
    this.dispatch({ type: 'accepting' });
    const [servers, opened] = await Promise.all([this.fetchIceServers(), this.openMedia(media)]);
    if (attempt !== this.attempt) {
      if ('stream' in opened) stopTracks(opened.stream);
      return;
    }
    if ('error' in opened) {
      this.dispatch({ type: 'accept_failed', problem: { kind: 'error', message: describeMediaError(opened.error, media) } });
      return;
    }
    this.iceServers = servers;
    this.stream = opened.stream;
    this.dispatch({ type: 'local_stream', stream: opened.stream, sendsVideo: opened.video });
    // Ready before the accept goes out, so that the offer finds it; it sends nothing before the ack.
    this.connect();
    const ack = await this.deps.signaling.accept(callId);
    if (attempt !== this.attempt || this.view.callId !== callId) return;
    if (!ack.ok) {
      this.finish(
        ack.code === 'call_not_ringing' ? null : { kind: 'error', message: describeCallError(ack.code, this.peerName(), ack.error) },
      );
      return;
    }
    this.dispatch({ type: 'answered', at: this.now() });
    this.openSignals();
  }

  /** Camera and microphone for answering; a video call without a camera is answered with voice. */
  private async openMedia(media: CallMedia): Promise<{ stream: MediaStream; video: boolean } | { error: unknown }> {
    try {
      return { stream: await this.deps.getUserMedia({ audio: true, video: media === 'video' }), video: media === 'video' };
    } catch (error) {
      if (media !== 'video' || !isMissingDevice(error)) return { error };
      try {
        return { stream: await this.deps.getUserMedia({ audio: true, video: false }), video: false };
      } catch (second) {
        return { error: second };
      }
    }
  }

  /** Refuses the ringing call. */
  decline(): void {
    const { phase, callId } = this.view;
    if ((phase !== 'incoming' && phase !== 'accepting') || !callId) return;
    this.attempt++;
    void this.deps.signaling.decline(callId);
    this.finish(null);
  }

  /** `call:answered_elsewhere`: another page of the user took the call. */
  handleAnsweredElsewhere = (event: CallElsewhere): void => {
    if (event.call_id !== this.view.callId) return;
    this.attempt++;
    this.finish(null);
  };

  // ---- both sides ----

  /** Ends the call (cancels it while it rings at the other side, declines it while it rings here). */
  hangUp(): void {
    const { phase, callId } = this.view;
    if (phase === 'idle') return;
    if (phase === 'incoming') return this.decline();
    this.attempt++;
    if (callId) void this.deps.signaling.end(callId);
    this.finish(null);
  }

  /** `call:ended`: whoever ended it, the call is over here too. */
  handleEnded = (event: CallEnded): void => {
    if (event.call_id !== this.view.callId) return;
    const { role, answeredAt } = this.view;
    const problem = describeEnd(event.reason, { role: role ?? 'callee', answered: answeredAt !== null }, this.peerName());
    this.attempt++;
    this.finish(problem);
  };

  /** `call:signal` from the other side. */
  handleSignal = (event: CallSignalEvent): void => {
    if (event.call_id !== this.view.callId || !this.link) return;
    void this.link.receive(event.data);
  };

  toggleMic(): void {
    this.dispatch({ type: 'toggle_mic' });
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = !this.view.micMuted;
  }

  toggleCamera(): void {
    this.dispatch({ type: 'toggle_camera' });
    for (const track of this.stream?.getVideoTracks() ?? []) track.enabled = !this.view.cameraOff;
  }

  /** Forgets the problem shown. */
  dismiss(): void {
    this.dispatch({ type: 'dismiss' });
  }

  // ---- the socket ----

  /** The socket dropped: signals wait until the call is picked up again. */
  handleDisconnect = (): void => {
    this.disconnected = true;
  };

  /** The socket is back: a call held here is picked up by the new socket (`call:resume`). */
  handleConnect = async (): Promise<void> => {
    if (!this.disconnected) return;
    this.disconnected = false;
    const { callId } = this.view;
    if (!callId || !holdsServerCall(this.view)) return;
    const attempt = this.attempt;
    this.signalsOpen = false;
    const ack = await this.deps.signaling.resume(callId);
    if (attempt !== this.attempt || this.view.callId !== callId) return;
    if (!ack.ok) {
      if (ack.code === 'call_ended' || ack.code === 'not_found') {
        this.attempt++;
        this.finish({ kind: 'info', message: 'The call ended while you were offline.' });
      } else if (this.view.answeredAt !== null) {
        // No answer this time (a timeout): the signals may still get through.
        this.openSignals();
      }
      return;
    }
    if (ack.call.state === 'ended') {
      this.attempt++;
      this.finish(null);
    } else if (ack.call.state === 'active') {
      // Answered while this page was away, `call:accepted` included.
      if (this.view.phase === 'outgoing') this.handleAccepted(ack.call);
      else this.openSignals();
    }
  };

  /** Hangs up and lets go of everything (sign-out, page closing). */
  dispose(): void {
    this.hangUp();
    this.finish(null);
  }

  // ---- internals ----

  private async fetchIceServers(): Promise<RTCIceServer[]> {
    // Without any, browsers on one network still connect with their own addresses.
    return this.deps.iceServers().catch(() => []);
  }

  /** Creates the peer connection for the held call and the local stream. */
  private connect(): PeerLink | null {
    if (!this.stream) return null;
    this.link?.close();
    const pc = this.deps.createPeerConnection({ iceServers: this.iceServers });
    const link = new PeerLink({
      pc,
      stream: this.stream,
      send: (data) => this.sendSignal(data),
      onRemoteStream: (stream) => this.dispatch({ type: 'remote_stream', stream }),
      onConnectionState: (state) => {
        if (state === 'connected') this.dispatch({ type: 'connected' });
        else if (state === 'failed') this.failConnection();
      },
      onError: () => this.failConnection(),
    });
    this.link = link;
    return link;
  }

  private failConnection(): void {
    const { callId, phase } = this.view;
    if (!callId) return;
    this.attempt++;
    void this.deps.signaling.end(callId);
    this.finish({
      kind: 'error',
      message: phase === 'active' ? 'The connection was lost and the call ended.' : 'The call could not be connected.',
    });
  }

  private sendSignal(data: SignalData): void {
    if (!this.signalsOpen || this.disconnected || !this.deps.signaling.connected()) {
      this.outbox.push(data);
      return;
    }
    const callId = this.view.callId;
    if (callId) void this.deps.signaling.signal(callId, data);
  }

  private openSignals(): void {
    this.signalsOpen = true;
    const waiting = this.outbox.splice(0);
    for (const data of waiting) this.sendSignal(data);
  }

  /** Back to no call: the ringing, the camera and microphone, the connection all stop. */
  private finish(problem: CallProblem | null): void {
    clearTimeout(this.ringTimer);
    this.deps.ringer.stop();
    this.link?.close();
    this.link = null;
    if (this.stream) stopTracks(this.stream);
    this.stream = null;
    this.outbox = [];
    this.signalsOpen = false;
    if (this.view.phase === 'idle' && problem === null) return;
    this.dispatch({ type: 'finish', problem });
  }
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}
