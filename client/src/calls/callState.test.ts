import { describe, expect, it } from 'vitest';
import { IDLE, holdsServerCall, inCall, reduceCall, showsCallScreen, type CallEvent, type CallView } from './callState';
import { call } from '../test/callFakes';

const run = (events: CallEvent<string>[], from: CallView<string> = IDLE) => events.reduce(reduceCall<string>, from);

describe('the caller', () => {
  it('goes from preparing to ringing to connecting to active', () => {
    let view = run([{ type: 'start', conversationId: 12, peerId: 2, media: 'video' }]);
    expect(view).toMatchObject({ phase: 'preparing', role: 'caller', conversationId: 12, peerId: 2, media: 'video', callId: null });
    expect(showsCallScreen(view)).toBe(true);
    expect(holdsServerCall(view)).toBe(false);
    view = run([{ type: 'local_stream', stream: 'local', sendsVideo: true }, { type: 'ringing', call: call() }], view);
    expect(view).toMatchObject({ phase: 'outgoing', callId: call().id, localStream: 'local' });
    expect(holdsServerCall(view)).toBe(true);
    view = run([{ type: 'answered', at: 5_000 }], view);
    expect(view).toMatchObject({ phase: 'connecting', answeredAt: 5_000 });
    view = run([{ type: 'remote_stream', stream: 'remote' }, { type: 'connected' }], view);
    expect(view).toMatchObject({ phase: 'active', remoteStream: 'remote' });
  });

  it('cannot start a second call while one is held', () => {
    const view = run([{ type: 'start', conversationId: 12, peerId: 2, media: 'audio' }]);
    expect(run([{ type: 'start', conversationId: 13, peerId: 3, media: 'video' }], view)).toBe(view);
    expect(run([{ type: 'incoming', call: call({ id: 'b'.repeat(32) }), peerId: 3 }], view)).toBe(view);
  });

  it('keeps the problem once the call is over, until dismissed or the next call', () => {
    let view = run([
      { type: 'start', conversationId: 12, peerId: 2, media: 'audio' },
      { type: 'finish', problem: { kind: 'info', message: 'Bob is offline.' } },
    ]);
    expect(view).toMatchObject({ phase: 'idle', callId: null, localStream: null, problem: { message: 'Bob is offline.' } });
    expect(inCall(view)).toBe(false);
    expect(run([{ type: 'dismiss' }], view).problem).toBeNull();
    view = run([{ type: 'start', conversationId: 12, peerId: 2, media: 'audio' }], view);
    expect(view.problem).toBeNull();
  });
});

describe('the callee', () => {
  it('rings, accepts and connects', () => {
    let view = run([{ type: 'incoming', call: call({ media: 'audio' }), peerId: 1 }]);
    expect(view).toMatchObject({ phase: 'incoming', role: 'callee', callId: call().id, conversationId: 12, peerId: 1, media: 'audio' });
    expect(showsCallScreen(view)).toBe(false);
    expect(holdsServerCall(view)).toBe(false);
    view = run([{ type: 'accepting' }], view);
    expect(view.phase).toBe('accepting');
    view = run([{ type: 'answered', at: 1 }, { type: 'connected' }], view);
    expect(view.phase).toBe('active');
  });

  it('goes back to ringing with the reason when accepting fails', () => {
    const view = run([
      { type: 'incoming', call: call(), peerId: 1 },
      { type: 'accepting' },
      { type: 'local_stream', stream: 'local', sendsVideo: true },
      { type: 'accept_failed', problem: { kind: 'error', message: 'denied' } },
    ]);
    expect(view).toMatchObject({ phase: 'incoming', localStream: null, problem: { message: 'denied' } });
  });

  it('answers a video call without a camera: camera off, nothing to turn on', () => {
    let view = run([
      { type: 'incoming', call: call(), peerId: 1 },
      { type: 'accepting' },
      { type: 'local_stream', stream: 'local', sendsVideo: false },
    ]);
    expect(view).toMatchObject({ sendsVideo: false, cameraOff: true });
    view = run([{ type: 'toggle_camera' }], view);
    expect(view.cameraOff).toBe(true);
  });
});

describe('controls', () => {
  it('toggle the microphone and the camera during a call only', () => {
    expect(run([{ type: 'toggle_mic' }])).toBe(IDLE);
    const view = run([{ type: 'start', conversationId: 12, peerId: 2, media: 'video' }, { type: 'toggle_mic' }, { type: 'toggle_camera' }]);
    expect(view).toMatchObject({ micMuted: true, cameraOff: true });
    expect(run([{ type: 'toggle_mic' }, { type: 'toggle_camera' }], view)).toMatchObject({ micMuted: false, cameraOff: false });
  });

  it('ignores events that do not fit the phase', () => {
    expect(run([{ type: 'answered', at: 1 }])).toBe(IDLE);
    expect(run([{ type: 'connected' }])).toBe(IDLE);
    expect(run([{ type: 'ringing', call: call() }])).toBe(IDLE);
    expect(run([{ type: 'remote_stream', stream: 'x' }])).toBe(IDLE);
  });
});
