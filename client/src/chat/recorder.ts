// Recording a voice message, without React: idle, then asking for the microphone, then recording
// (with the time elapsed), then stopping (the recorder hands over its last data); Send delivers
// the recording as a file (`voice.<ext>`), Cancel throws it away. The microphone is released as
// soon as the recording ends either way, and a recording stops by itself at the longest length
// the server takes (as if Send was pressed).

import { recordingExtension } from './files';

/** The longest voice message the server takes (MAX_VOICE_SECONDS). */
export const MAX_VOICE_MS = 300_000;

/** Where a recording stops by itself: a little before the limit, as the recorder may still add
 * a few frames after it is told to stop, and a longer recording would be sent as a plain file. */
export const RECORDING_LIMIT_MS = MAX_VOICE_MS - 1_000;

export type RecorderState =
  /** Not recording; `error` says why the last attempt failed (microphone refused, ...). */
  | { phase: 'idle'; error: string | null }
  /** Waiting for the microphone (the browser may be asking the user). */
  | { phase: 'requesting' }
  /** Recording for `elapsedMs`. */
  | { phase: 'recording'; elapsedMs: number }
  /** Stopped by Send; the recording is being put together. */
  | { phase: 'stopping'; elapsedMs: number };

/** The part of `MediaRecorder` used here. */
export interface RecorderLike {
  readonly mimeType: string;
  readonly state: 'inactive' | 'recording' | 'paused';
  start(timeslice?: number): void;
  stop(): void;
  ondataavailable: ((event: { data: Blob }) => void) | null;
  onstop: (() => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** The part of `MediaStream` used here. */
export interface StreamLike {
  getTracks(): { stop(): void }[];
}

export interface VoiceRecorderOptions {
  getUserMedia: (constraints: { audio: true }) => Promise<StreamLike>;
  createRecorder: (stream: StreamLike, mimeType: string) => RecorderLike;
  /** The recording format to ask for ('' lets the browser choose); see `pickRecorderMimeType`. */
  mimeType: string;
  /** A finished recording and how long it is. */
  onRecorded: (file: File, durationMs: number) => void;
  maxMs?: number;
  now?: () => number;
}

export interface VoiceRecorder {
  getState(): RecorderState;
  subscribe(listener: () => void): () => void;
  /** Asks for the microphone and starts recording. */
  start(): Promise<void>;
  /** Stops and delivers the recording to `onRecorded`. */
  finish(): void;
  /** Stops and throws the recording away (also while the microphone is being asked for). */
  cancel(): void;
  /** Forgets the error message. */
  dismissError(): void;
}

/** How often the elapsed time is updated while recording (ms). */
const TICK_MS = 200;

/** Why the microphone could not be used, as a sentence. */
export function describeMicrophoneError(error: unknown): string {
  const name = error && typeof error === 'object' && 'name' in error ? String((error as { name: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return "Microphone access was denied. Allow the microphone for this site in your browser's settings to record a voice message.";
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return 'No microphone was found.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The microphone could not be started: another application may be using it.';
    default:
      return 'The microphone could not be started.';
  }
}

export function createVoiceRecorder(options: VoiceRecorderOptions): VoiceRecorder {
  const maxMs = options.maxMs ?? RECORDING_LIMIT_MS;
  const now = options.now ?? (() => Date.now());
  let state: RecorderState = { phase: 'idle', error: null };
  const listeners = new Set<() => void>();
  /** Bumped by every start and cancel: an answer for an earlier attempt is ignored. */
  let attempt = 0;
  let stream: StreamLike | null = null;
  let recorder: RecorderLike | null = null;
  let ticker: ReturnType<typeof setInterval> | null = null;
  let startedAt = 0;

  function set(next: RecorderState) {
    state = next;
    for (const listener of [...listeners]) listener();
  }

  function release() {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    if (recorder) {
      recorder.ondataavailable = null;
      recorder.onstop = null;
      recorder.onerror = null;
      if (recorder.state !== 'inactive') {
        try {
          recorder.stop();
        } catch {
          // Already stopped.
        }
      }
    }
    recorder = null;
  }

  function elapsed(): number {
    return Math.min(maxMs, Math.max(0, now() - startedAt));
  }

  function finish() {
    if (state.phase !== 'recording' || !recorder) return;
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
    set({ phase: 'stopping', elapsedMs: elapsed() });
    try {
      recorder.stop();
    } catch {
      release();
      set({ phase: 'idle', error: 'The recording could not be finished.' });
    }
  }

  async function start() {
    if (state.phase !== 'idle') return;
    const mine = ++attempt;
    set({ phase: 'requesting' });
    let media: StreamLike;
    try {
      media = await options.getUserMedia({ audio: true });
    } catch (error) {
      if (mine === attempt) set({ phase: 'idle', error: describeMicrophoneError(error) });
      return;
    }
    if (mine !== attempt) {
      // Cancelled while the user was being asked.
      for (const track of media.getTracks()) track.stop();
      return;
    }
    stream = media;
    let made: RecorderLike;
    try {
      made = options.createRecorder(media, options.mimeType);
    } catch {
      release();
      set({ phase: 'idle', error: 'This browser cannot record audio.' });
      return;
    }
    recorder = made;
    const chunks: Blob[] = [];
    made.ondataavailable = (event) => {
      if (event.data && event.data.size > 0) chunks.push(event.data);
    };
    made.onerror = () => {
      if (recorder !== made) return;
      release();
      set({ phase: 'idle', error: 'The recording failed.' });
    };
    made.onstop = () => {
      if (recorder !== made) return;
      const durationMs = state.phase === 'stopping' ? state.elapsedMs : elapsed();
      const type = (made.mimeType || options.mimeType || chunks[0]?.type || 'audio/webm').split(';')[0];
      release();
      const blob = new Blob(chunks, { type });
      if (blob.size === 0) {
        set({ phase: 'idle', error: 'Nothing was recorded.' });
        return;
      }
      set({ phase: 'idle', error: null });
      options.onRecorded(new File([blob], `voice.${recordingExtension(type)}`, { type }), durationMs);
    };
    try {
      // Data every second, so a recording stopped abruptly still has most of its sound.
      made.start(1000);
    } catch {
      release();
      set({ phase: 'idle', error: 'The recording could not be started.' });
      return;
    }
    startedAt = now();
    set({ phase: 'recording', elapsedMs: 0 });
    ticker = setInterval(() => {
      if (state.phase !== 'recording') return;
      const ms = elapsed();
      if (ms >= maxMs) {
        finish();
        return;
      }
      set({ phase: 'recording', elapsedMs: ms });
    }, TICK_MS);
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start,
    finish,
    cancel() {
      attempt++;
      release();
      if (state.phase !== 'idle' || state.error !== null) set({ phase: 'idle', error: null });
    },
    dismissError() {
      if (state.phase === 'idle' && state.error !== null) set({ phase: 'idle', error: null });
    },
  };
}

/** Whether this browser can record voice messages (microphone access and `MediaRecorder`). */
export function canRecordVoice(): boolean {
  return (
    typeof window !== 'undefined' &&
    typeof window.MediaRecorder === 'function' &&
    typeof navigator !== 'undefined' &&
    typeof navigator.mediaDevices?.getUserMedia === 'function'
  );
}
