import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createVoiceRecorder, describeMicrophoneError, type RecorderLike, type RecorderState } from './recorder';

/** A MediaRecorder the test drives: data arrives when stopped, then `onstop`. */
class FakeRecorder implements RecorderLike {
  state: RecorderLike['state'] = 'inactive';
  ondataavailable: RecorderLike['ondataavailable'] = null;
  onstop: RecorderLike['onstop'] = null;
  onerror: RecorderLike['onerror'] = null;
  stops = 0;
  readonly mimeType: string;
  private readonly bytes: number;
  constructor(mimeType: string, bytes = 100) {
    this.mimeType = mimeType;
    this.bytes = bytes;
  }
  start() {
    this.state = 'recording';
  }
  stop() {
    this.stops++;
    if (this.state === 'inactive') return;
    this.state = 'inactive';
    // As in browsers: the last data, then stop, after the call returns.
    queueMicrotask(() => {
      this.ondataavailable?.({ data: new Blob([new Uint8Array(this.bytes)], { type: this.mimeType }) });
      this.onstop?.();
    });
  }
}

function setup(options: { deny?: unknown; bytes?: number; mimeType?: string } = {}) {
  const tracks = [{ stop: vi.fn() }];
  const recorders: FakeRecorder[] = [];
  let grant: () => void = () => {};
  const getUserMedia = vi.fn(
    () =>
      new Promise<{ getTracks(): { stop(): void }[] }>((resolve, reject) => {
        grant = () => (options.deny ? reject(options.deny) : resolve({ getTracks: () => tracks }));
      }),
  );
  const recorded: { file: File; durationMs: number }[] = [];
  const recorder = createVoiceRecorder({
    getUserMedia,
    createRecorder: (_stream, mimeType) => {
      const made = new FakeRecorder(mimeType || 'audio/webm;codecs=opus', options.bytes);
      recorders.push(made);
      return made;
    },
    mimeType: options.mimeType ?? 'audio/webm;codecs=opus',
    onRecorded: (file, durationMs) => recorded.push({ file, durationMs }),
    maxMs: 5_000,
  });
  const phases: RecorderState['phase'][] = [];
  recorder.subscribe(() => {
    const phase = recorder.getState().phase;
    if (phases[phases.length - 1] !== phase) phases.push(phase);
  });
  const started = async () => {
    const running = recorder.start();
    grant();
    await running;
  };
  return { recorder, getUserMedia, tracks, recorders, recorded, phases, started, grant: () => grant() };
}

const flush = () => new Promise<void>((resolve) => queueMicrotask(resolve));

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('voice recorder', () => {
  it('asks for the microphone, counts the time, and on Send hands over voice.<ext> and releases the microphone', async () => {
    const { recorder, getUserMedia, tracks, recorders, recorded, phases, started } = setup();
    await started();
    expect(getUserMedia).toHaveBeenCalledWith({ audio: true });
    expect(recorder.getState()).toEqual({ phase: 'recording', elapsedMs: 0 });
    expect(recorders[0].state).toBe('recording');

    vi.advanceTimersByTime(2_400);
    expect(recorder.getState()).toMatchObject({ phase: 'recording' });
    expect((recorder.getState() as { elapsedMs: number }).elapsedMs).toBeGreaterThanOrEqual(2_200);

    recorder.finish();
    expect(recorder.getState()).toMatchObject({ phase: 'stopping' });
    await flush();
    expect(recorder.getState()).toEqual({ phase: 'idle', error: null });
    expect(recorded).toHaveLength(1);
    expect(recorded[0].file.name).toBe('voice.webm');
    expect(recorded[0].file.type).toBe('audio/webm');
    expect(recorded[0].file.size).toBe(100);
    expect(recorded[0].durationMs).toBe(2_400);
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(phases).toEqual(['requesting', 'recording', 'stopping', 'idle']);
  });

  it('names an Ogg recording voice.ogg and an MP4 one voice.m4a', async () => {
    for (const [mimeType, name] of [
      ['audio/ogg;codecs=opus', 'voice.ogg'],
      ['audio/mp4', 'voice.m4a'],
    ]) {
      const { recorder, recorded, started } = setup({ mimeType });
      await started();
      recorder.finish();
      await flush();
      expect(recorded[0].file.name).toBe(name);
    }
  });

  it('Cancel throws the recording away and releases the microphone', async () => {
    const { recorder, tracks, recorders, recorded, started } = setup();
    await started();
    vi.advanceTimersByTime(1_000);
    recorder.cancel();
    expect(recorder.getState()).toEqual({ phase: 'idle', error: null });
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(recorders[0].state).toBe('inactive');
    await flush();
    expect(recorded).toHaveLength(0);
    // And it can record again.
    await started();
    expect(recorder.getState().phase).toBe('recording');
  });

  it('Cancel while the browser asks for the microphone releases it once granted', async () => {
    const { recorder, tracks, recorders, grant } = setup();
    const running = recorder.start();
    expect(recorder.getState()).toEqual({ phase: 'requesting' });
    recorder.cancel();
    grant();
    await running;
    expect(recorder.getState()).toEqual({ phase: 'idle', error: null });
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(recorders).toHaveLength(0);
  });

  it('stops by itself at the longest length and hands the recording over', async () => {
    const { recorder, recorded, tracks, started } = setup();
    await started();
    vi.advanceTimersByTime(5_000);
    expect(recorder.getState().phase).toBe('stopping');
    await flush();
    expect(recorded).toHaveLength(1);
    expect(recorded[0].durationMs).toBe(5_000);
    expect(tracks[0].stop).toHaveBeenCalled();
    expect(recorder.getState()).toEqual({ phase: 'idle', error: null });
  });

  it('says clearly when the microphone is refused', async () => {
    const denied = Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
    const { recorder, recorders, started } = setup({ deny: denied });
    await started();
    expect(recorder.getState()).toEqual({
      phase: 'idle',
      error: "Microphone access was denied. Allow the microphone for this site in your browser's settings to record a voice message.",
    });
    expect(recorders).toHaveLength(0);
    recorder.dismissError();
    expect(recorder.getState()).toEqual({ phase: 'idle', error: null });
  });

  it('explains a missing or busy microphone', () => {
    expect(describeMicrophoneError({ name: 'NotFoundError' })).toBe('No microphone was found.');
    expect(describeMicrophoneError({ name: 'NotReadableError' })).toMatch(/another application/);
    expect(describeMicrophoneError(new Error('x'))).toBe('The microphone could not be started.');
  });

  it('an empty recording is not sent', async () => {
    const { recorder, recorded, started } = setup({ bytes: 0 });
    await started();
    recorder.finish();
    await flush();
    expect(recorded).toHaveLength(0);
    expect(recorder.getState()).toEqual({ phase: 'idle', error: 'Nothing was recorded.' });
  });

  it('does not start twice, and Send does nothing unless recording', async () => {
    const { recorder, getUserMedia, recorded, started } = setup();
    recorder.finish();
    await started();
    await recorder.start();
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    recorder.finish();
    recorder.finish();
    await flush();
    expect(recorded).toHaveLength(1);
  });
});
