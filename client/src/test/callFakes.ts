// Stand-ins for the browser's media and WebRTC objects and for the call socket, for unit tests.

import { vi } from 'vitest';
import type { CallAck, CallDeps, CallSignaling, SignalAck } from '../calls/callController';
import type { SignalData } from '../calls/peer';
import type { Call } from '../api/types';

export class FakeTrack {
  enabled = true;
  stopped = false;
  readonly kind: 'audio' | 'video';
  constructor(kind: 'audio' | 'video') {
    this.kind = kind;
  }
  stop() {
    this.stopped = true;
  }
}

export class FakeStream {
  readonly tracks: FakeTrack[];
  constructor(kinds: ('audio' | 'video')[]) {
    this.tracks = kinds.map((kind) => new FakeTrack(kind));
  }
  getTracks() {
    return this.tracks;
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
}

export const asStream = (stream: FakeStream) => stream as unknown as MediaStream;

/** An RTCPeerConnection that records what was asked of it. */
export class FakePeerConnection {
  connectionState: RTCPeerConnectionState = 'new';
  remoteDescription: { type: string; sdp: string } | null = null;
  localDescription: { type: string; sdp: string } | null = null;
  added: { track: FakeTrack; stream: FakeStream }[] = [];
  candidates: RTCIceCandidateInit[] = [];
  closed = false;
  onicecandidate: ((event: { candidate: { toJSON(): RTCIceCandidateInit } | null }) => void) | null = null;
  ontrack: ((event: { track: FakeTrack; streams: FakeStream[] }) => void) | null = null;
  onconnectionstatechange: (() => void) | null = null;

  readonly config: RTCConfiguration;
  constructor(config: RTCConfiguration) {
    this.config = config;
  }

  addTrack(track: FakeTrack, stream: FakeStream) {
    this.added.push({ track, stream });
  }
  async createOffer() {
    return { type: 'offer' as const, sdp: 'offer-sdp' };
  }
  async createAnswer() {
    return { type: 'answer' as const, sdp: 'answer-sdp' };
  }
  async setLocalDescription(description: { type: string; sdp: string }) {
    this.localDescription = description;
  }
  async setRemoteDescription(description: { type: string; sdp: string }) {
    this.remoteDescription = description;
  }
  async addIceCandidate(candidate: RTCIceCandidateInit) {
    this.candidates.push(candidate);
  }
  close() {
    this.closed = true;
    this.connectionState = 'closed';
  }
  /** The browser found a local candidate. */
  emitCandidate(candidate: RTCIceCandidateInit) {
    this.onicecandidate?.({ candidate: { toJSON: () => candidate } });
  }
  setState(state: RTCPeerConnectionState) {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
}

export const asPeerConnection = (pc: FakePeerConnection) => pc as unknown as RTCPeerConnection;

export function call(overrides: Partial<Call> = {}): Call {
  return {
    id: '0123456789abcdef0123456789abcdef',
    conversation_id: 12,
    caller_id: 1,
    callee_id: 2,
    media: 'video',
    state: 'ringing',
    started_at: '2030-01-01T00:00:00Z',
    answered_at: null,
    ended_at: null,
    end_reason: null,
    duration_ms: 0,
    ...overrides,
  };
}

/** The call socket: every call event is recorded and answered by `answers` (success by default). */
export function fakeSignaling() {
  const sent: { event: string; callId?: string; data?: SignalData; conversationId?: number; media?: string }[] = [];
  const state = { connected: true };
  const answers: Partial<Record<'start' | 'accept' | 'decline' | 'end' | 'resume', () => Promise<CallAck>>> = {};
  const ok = (c: Call): Promise<CallAck> => Promise.resolve({ ok: true, call: c });
  const signaling: CallSignaling = {
    connected: () => state.connected,
    start: vi.fn(async (conversationId, media) => {
      sent.push({ event: 'call:start', conversationId, media });
      return (answers.start ?? (() => ok(call({ conversation_id: conversationId, media }))))();
    }),
    accept: vi.fn(async (callId) => {
      sent.push({ event: 'call:accept', callId });
      return (answers.accept ?? (() => ok(call({ id: callId, state: 'active' }))))();
    }),
    decline: vi.fn(async (callId) => {
      sent.push({ event: 'call:decline', callId });
      return (answers.decline ?? (() => ok(call({ id: callId, state: 'ended', end_reason: 'declined' }))))();
    }),
    end: vi.fn(async (callId) => {
      sent.push({ event: 'call:end', callId });
      return (answers.end ?? (() => ok(call({ id: callId, state: 'ended', end_reason: 'hangup' }))))();
    }),
    resume: vi.fn(async (callId) => {
      sent.push({ event: 'call:resume', callId });
      return (answers.resume ?? (() => ok(call({ id: callId, state: 'active' }))))();
    }),
    signal: vi.fn(async (callId, data): Promise<SignalAck> => {
      sent.push({ event: 'call:signal', callId, data });
      return { ok: true };
    }),
  };
  return { signaling, sent, state, answers };
}

/** Everything a CallController needs, as fakes; `peers` are the connections it made. */
export function fakeCallDeps(meId: number) {
  const peers: FakePeerConnection[] = [];
  const streams: FakeStream[] = [];
  const socket = fakeSignaling();
  const ringer = { start: vi.fn(), stop: vi.fn() };
  const media = { fail: null as Error | null, failVideoOnly: null as Error | null };
  const deps: CallDeps = {
    me: { id: meId },
    signaling: socket.signaling,
    getUserMedia: vi.fn(async (constraints: { audio: true; video: boolean }) => {
      if (media.fail) throw media.fail;
      if (constraints.video && media.failVideoOnly) throw media.failVideoOnly;
      const stream = new FakeStream(constraints.video ? ['audio', 'video'] : ['audio']);
      streams.push(stream);
      return asStream(stream);
    }),
    iceServers: vi.fn(async () => [{ urls: ['stun:stun.example.com:3478'] }]),
    createPeerConnection: (config) => {
      const pc = new FakePeerConnection(config);
      peers.push(pc);
      return asPeerConnection(pc);
    },
    ringer,
    nameOf: () => 'Bob',
    now: () => 1_000,
  };
  return { deps, peers, streams, socket, answers: socket.answers, ringer, media };
}

export const domError = (name: string) => Object.assign(new Error(name), { name });
