import { afterEach, describe, expect, it, vi } from 'vitest';
import { call, domError, fakeCallDeps } from '../test/callFakes';
import { settle } from '../test/fixtures';
import { CallController } from './callController';

const ALICE = 1;
const BOB = 2;
const ID = call().id;

afterEach(() => {
  vi.useRealTimers();
});

/** alice (the caller) and her controller. */
function caller() {
  const fakes = fakeCallDeps(ALICE);
  return { ...fakes, calls: new CallController(fakes.deps) };
}

/** bob (the callee) and his controller. */
function callee() {
  const fakes = fakeCallDeps(BOB);
  return { ...fakes, calls: new CallController(fakes.deps) };
}

const signals = (sent: { event: string; data?: unknown }[]) => sent.filter((s) => s.event === 'call:signal').map((s) => s.data);

describe('calling', () => {
  it('fetches ICE servers and the camera before call:start, then rings', async () => {
    const { calls, deps, socket } = caller();
    await calls.start(12, BOB, 'video');
    expect(deps.iceServers).toHaveBeenCalled();
    expect(deps.getUserMedia).toHaveBeenCalledWith({ audio: true, video: true });
    expect(socket.sent).toEqual([{ event: 'call:start', conversationId: 12, media: 'video' }]);
    expect(calls.getState()).toMatchObject({ phase: 'outgoing', callId: ID, role: 'caller' });
    expect(calls.getState().localStream).not.toBeNull();
  });

  it('asks for the microphone only for a voice call', async () => {
    const { calls, deps } = caller();
    await calls.start(12, BOB, 'audio');
    expect(deps.getUserMedia).toHaveBeenCalledWith({ audio: true, video: false });
  });

  it('offers once the callee accepted, with the ICE servers, its tracks and trickled candidates', async () => {
    const { calls, socket, peers, streams } = caller();
    await calls.start(12, BOB, 'video');
    expect(peers).toHaveLength(0);
    calls.handleAccepted(call({ state: 'active' }));
    await settle();
    expect(calls.getState()).toMatchObject({ phase: 'connecting', answeredAt: 1_000 });
    const pc = peers[0]!;
    expect(pc.config).toEqual({ iceServers: [{ urls: ['stun:stun.example.com:3478'] }] });
    expect(pc.added.map((a) => a.track.kind)).toEqual(['audio', 'video']);
    expect(pc.added.every((a) => a.stream === streams[0])).toBe(true);
    expect(signals(socket.sent)).toEqual([{ type: 'offer', sdp: 'offer-sdp' }]);
    pc.emitCandidate({ candidate: 'candidate:1', sdpMid: '0' });
    expect(signals(socket.sent)[1]).toEqual({ candidate: { candidate: 'candidate:1', sdpMid: '0' } });

    // Candidates of the callee wait for its answer.
    calls.handleSignal({ call_id: ID, from_user_id: BOB, data: { candidate: { candidate: 'candidate:9', sdpMid: '0' } } });
    await settle();
    expect(pc.candidates).toEqual([]);
    calls.handleSignal({ call_id: ID, from_user_id: BOB, data: { type: 'answer', sdp: 'answer-sdp' } });
    await settle();
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'answer-sdp' });
    expect(pc.candidates).toEqual([{ candidate: 'candidate:9', sdpMid: '0' }]);

    pc.setState('connected');
    expect(calls.getState().phase).toBe('active');
  });

  it('ignores signals and events of other calls', async () => {
    const { calls, peers } = caller();
    await calls.start(12, BOB, 'video');
    calls.handleAccepted(call({ id: 'e'.repeat(32), state: 'active' }));
    expect(peers).toHaveLength(0);
    calls.handleEnded({ call_id: 'e'.repeat(32), reason: 'hangup', duration_ms: 0, call: call({ id: 'e'.repeat(32), state: 'ended' }) });
    expect(calls.getState().phase).toBe('outgoing');
  });

  it('hanging up sends call:end and lets go of the camera and the connection', async () => {
    const { calls, socket, peers, streams } = caller();
    await calls.start(12, BOB, 'video');
    calls.handleAccepted(call({ state: 'active' }));
    calls.hangUp();
    expect(socket.sent.at(-1)).toEqual({ event: 'call:end', callId: ID });
    expect(streams[0]!.tracks.every((t) => t.stopped)).toBe(true);
    expect(peers[0]!.closed).toBe(true);
    expect(calls.getState()).toMatchObject({ phase: 'idle', problem: null, localStream: null });
  });

  it('cancelling before the server answered call:start ends the call it then creates', async () => {
    const { calls, socket, answers, streams } = caller();
    let answer: (ack: { ok: true; call: ReturnType<typeof call> }) => void = () => undefined;
    answers.start = () => new Promise((resolve) => (answer = resolve));
    const started = calls.start(12, BOB, 'audio');
    await settle();
    calls.hangUp();
    expect(calls.getState().phase).toBe('idle');
    answer({ ok: true, call: call() });
    await started;
    expect(socket.sent.at(-1)).toEqual({ event: 'call:end', callId: ID });
    expect(streams[0]!.tracks[0]!.stopped).toBe(true);
  });

  it('one call at a time', async () => {
    const { calls, socket } = caller();
    await calls.start(12, BOB, 'audio');
    await calls.start(13, 3, 'video');
    calls.handleIncoming(call({ id: 'd'.repeat(32), caller_id: 3, callee_id: ALICE }));
    expect(socket.sent.filter((s) => s.event === 'call:start')).toHaveLength(1);
    expect(calls.getState()).toMatchObject({ callId: ID, phase: 'outgoing' });
  });
});

describe('what the caller is told', () => {
  it('a refused camera: the permission message, and no call:start', async () => {
    const { calls, socket, media } = caller();
    media.fail = domError('NotAllowedError');
    await calls.start(12, BOB, 'video');
    expect(socket.sent).toEqual([]);
    expect(calls.getState()).toMatchObject({ phase: 'idle', problem: { kind: 'error' } });
    expect(calls.getState().problem?.message).toMatch(/^Access to the camera and microphone was denied/);
  });

  it('no camera: says so and offers the voice call', async () => {
    const { calls, media } = caller();
    media.fail = domError('NotFoundError');
    await calls.start(12, BOB, 'video');
    expect(calls.getState().problem).toEqual({
      kind: 'error',
      message: 'No camera was found. You can make a voice call instead.',
      voiceInstead: { conversationId: 12, peerId: BOB },
    });
  });

  it('offline: says so without asking for the camera', async () => {
    const { calls, socket, deps } = caller();
    socket.state.connected = false;
    await calls.start(12, BOB, 'video');
    expect(deps.getUserMedia).not.toHaveBeenCalled();
    expect(socket.sent).toEqual([]);
    expect(calls.getState().problem?.message).toMatch(/^Not connected to the server/);
  });

  it('a refused call:start, in words', async () => {
    const { calls, answers, streams } = caller();
    answers.start = async () => ({ ok: false, code: 'already_in_call', error: 'Already in a call' });
    await calls.start(12, BOB, 'audio');
    expect(calls.getState().problem?.message).toBe('You are already in a call. End it first.');
    expect(streams[0]!.tracks[0]!.stopped).toBe(true);
  });

  it('a callee in another call, or offline', async () => {
    const busy = caller();
    busy.answers.start = async () => ({ ok: true, call: call({ state: 'ended', end_reason: 'busy' }) });
    await busy.calls.start(12, BOB, 'audio');
    expect(busy.calls.getState()).toMatchObject({ phase: 'idle', problem: { message: 'Bob is in another call.' } });

    const offline = caller();
    offline.answers.start = async () => ({ ok: true, call: call({ state: 'ended', end_reason: 'missed' }) });
    await offline.calls.start(12, BOB, 'audio');
    expect(offline.calls.getState().problem?.message).toBe('Bob is offline.');
  });

  it('a declined call', async () => {
    const { calls } = caller();
    await calls.start(12, BOB, 'audio');
    calls.handleEnded({ call_id: ID, reason: 'declined', duration_ms: 0, call: call({ state: 'ended', end_reason: 'declined' }) });
    expect(calls.getState()).toMatchObject({ phase: 'idle', problem: { kind: 'info', message: 'Bob declined the call.' } });
    calls.dismiss();
    expect(calls.getState().problem).toBeNull();
  });

  it('a connection that fails ends the call', async () => {
    const { calls, peers, socket } = caller();
    await calls.start(12, BOB, 'audio');
    calls.handleAccepted(call({ state: 'active' }));
    peers[0]!.setState('failed');
    expect(socket.sent.at(-1)).toEqual({ event: 'call:end', callId: ID });
    expect(calls.getState().problem?.message).toBe('The call could not be connected.');
  });
});

describe('answering', () => {
  it('rings for call:incoming and stops when accepted', async () => {
    const { calls, ringer, socket, peers, deps } = callee();
    calls.handleIncoming(call());
    expect(calls.getState()).toMatchObject({ phase: 'incoming', peerId: ALICE, media: 'video' });
    expect(ringer.start).toHaveBeenCalledWith({ callId: ID, callerName: 'Bob', media: 'video', conversationId: 12 });
    await calls.accept();
    expect(ringer.stop).toHaveBeenCalled();
    expect(deps.getUserMedia).toHaveBeenCalledWith({ audio: true, video: true });
    expect(socket.sent).toEqual([{ event: 'call:accept', callId: ID }]);
    expect(peers).toHaveLength(1);
    expect(calls.getState().phase).toBe('connecting');
  });

  it('answers the offer, and sends nothing before its accept was acknowledged', async () => {
    const { calls, socket, peers, answers } = callee();
    let acknowledge: () => void = () => undefined;
    answers.accept = () => new Promise((resolve) => (acknowledge = () => resolve({ ok: true, call: call({ state: 'active' }) })));
    calls.handleIncoming(call());
    const accepting = calls.accept();
    await settle();
    const pc = peers[0]!;
    calls.handleSignal({ call_id: ID, from_user_id: ALICE, data: { type: 'offer', sdp: 'offer-sdp' } });
    await settle();
    pc.emitCandidate({ candidate: 'candidate:2' });
    expect(pc.localDescription).toEqual({ type: 'answer', sdp: 'answer-sdp' });
    expect(signals(socket.sent)).toEqual([]);
    acknowledge();
    await accepting;
    expect(signals(socket.sent)).toEqual([{ type: 'answer', sdp: 'answer-sdp' }, { candidate: { candidate: 'candidate:2' } }]);
  });

  it('a refused camera keeps it ringing, with the reason', async () => {
    const { calls, socket, media } = callee();
    media.fail = domError('NotAllowedError');
    calls.handleIncoming(call());
    await calls.accept();
    expect(socket.sent).toEqual([]);
    expect(calls.getState()).toMatchObject({ phase: 'incoming', problem: { kind: 'error' } });
  });

  it('a video call without a camera is answered with voice only', async () => {
    const { calls, media, peers } = callee();
    media.failVideoOnly = domError('NotFoundError');
    calls.handleIncoming(call());
    await calls.accept();
    expect(calls.getState()).toMatchObject({ phase: 'connecting', sendsVideo: false, cameraOff: true });
    expect(peers[0]!.added.map((a) => a.track.kind)).toEqual(['audio']);
  });

  it('declining sends call:decline and stops ringing', () => {
    const { calls, socket, ringer } = callee();
    calls.handleIncoming(call());
    calls.decline();
    expect(socket.sent).toEqual([{ event: 'call:decline', callId: ID }]);
    expect(ringer.stop).toHaveBeenCalled();
    expect(calls.getState().phase).toBe('idle');
  });

  it('stops ringing when answered on another device or ended by the caller', () => {
    const elsewhere = callee();
    elsewhere.calls.handleIncoming(call());
    elsewhere.calls.handleAnsweredElsewhere({ call_id: ID });
    expect(elsewhere.calls.getState()).toMatchObject({ phase: 'idle', problem: null });
    expect(elsewhere.ringer.stop).toHaveBeenCalled();

    const cancelled = callee();
    cancelled.calls.handleIncoming(call());
    cancelled.calls.handleEnded({ call_id: ID, reason: 'missed', duration_ms: 0, call: call({ state: 'ended', end_reason: 'missed' }) });
    expect(cancelled.calls.getState()).toMatchObject({ phase: 'idle', problem: null });
    expect(cancelled.ringer.stop).toHaveBeenCalled();
  });

  it('an accept that comes too late ends quietly', async () => {
    const { calls, answers } = callee();
    answers.accept = async () => ({ ok: false, code: 'call_not_ringing', error: 'Not ringing' });
    calls.handleIncoming(call());
    await calls.accept();
    expect(calls.getState()).toMatchObject({ phase: 'idle', problem: null });
  });

  it('stops ringing by itself when the end never came', () => {
    vi.useFakeTimers();
    const fakes = fakeCallDeps(BOB);
    const calls = new CallController({ ...fakes.deps, ringTimeoutMs: 45_000 });
    calls.handleIncoming(call());
    vi.advanceTimersByTime(45_000);
    expect(calls.getState().phase).toBe('idle');
  });

  it('ignores calls addressed to someone else', () => {
    const { calls } = callee();
    calls.handleIncoming(call({ callee_id: 3 }));
    expect(calls.getState().phase).toBe('idle');
  });
});

describe('controls', () => {
  it('mute and camera off disable the tracks', async () => {
    const { calls, streams } = caller();
    await calls.start(12, BOB, 'video');
    calls.toggleMic();
    calls.toggleCamera();
    expect(streams[0]!.getAudioTracks()[0]!.enabled).toBe(false);
    expect(streams[0]!.getVideoTracks()[0]!.enabled).toBe(false);
    expect(calls.getState()).toMatchObject({ micMuted: true, cameraOff: true });
    calls.toggleMic();
    expect(streams[0]!.getAudioTracks()[0]!.enabled).toBe(true);
  });
});

describe('reconnecting', () => {
  async function inCall() {
    const side = caller();
    await side.calls.start(12, BOB, 'audio');
    side.calls.handleAccepted(call({ state: 'active' }));
    await settle();
    return side;
  }

  it('resumes the call on the new socket; signals wait meanwhile', async () => {
    const { calls, socket, peers } = await inCall();
    calls.handleDisconnect();
    socket.state.connected = false;
    peers[0]!.emitCandidate({ candidate: 'candidate:late' });
    expect(signals(socket.sent)).toHaveLength(1);
    socket.state.connected = true;
    await calls.handleConnect();
    expect(socket.sent.filter((s) => s.event === 'call:resume')).toEqual([{ event: 'call:resume', callId: ID }]);
    expect(signals(socket.sent).at(-1)).toEqual({ candidate: { candidate: 'candidate:late' } });
    expect(calls.getState().phase).toBe('connecting');
  });

  it('cleans up when the call ended meanwhile', async () => {
    const { calls, socket, answers, peers } = await inCall();
    answers.resume = async () => ({ ok: false, code: 'call_ended', error: 'Call ended' });
    calls.handleDisconnect();
    await calls.handleConnect();
    expect(peers[0]!.closed).toBe(true);
    expect(calls.getState()).toMatchObject({ phase: 'idle', problem: { message: 'The call ended while you were offline.' } });
    expect(socket.sent.filter((s) => s.event === 'call:end')).toEqual([]);
  });

  it('does nothing on the first connect, nor without a call', async () => {
    const { calls, socket } = caller();
    await calls.handleConnect();
    calls.handleDisconnect();
    await calls.handleConnect();
    expect(socket.sent).toEqual([]);
  });

  it('a call picked up by another page of the user goes from this one', async () => {
    const { calls, socket, peers } = await inCall();
    calls.handleAnsweredElsewhere({ call_id: ID });
    expect(peers[0]!.closed).toBe(true);
    expect(calls.getState().phase).toBe('idle');
    expect(socket.sent.filter((s) => s.event === 'call:end')).toEqual([]);
  });
});
