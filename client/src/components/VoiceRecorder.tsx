import { useEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent, type PointerEvent } from 'react';
import { formatDuration, pickRecorderMimeType } from '../chat/files';
import {
  canRecordVoice,
  createVoiceRecorder,
  MAX_VOICE_MS,
  type RecorderLike,
  type RecorderState,
  type VoiceRecorder,
} from '../chat/recorder';

/** Holding the microphone button longer than this records until it is released (ms). */
const HOLD_MS = 600;

export interface VoiceRecorderControls {
  recorder: VoiceRecorder;
  state: RecorderState;
  /** Whether this browser can record (the microphone button is hidden otherwise). */
  supported: boolean;
}

/**
 * A voice recorder for the composer of `conversationId`; `onRecorded` gets each finished
 * recording. Switching conversations or leaving throws a running recording away.
 */
export function useVoiceRecorder(conversationId: number, onRecorded: (file: File, durationMs: number) => void): VoiceRecorderControls {
  const latest = useRef(onRecorded);
  latest.current = onRecorded;
  const [supported] = useState(canRecordVoice);
  const [recorder] = useState(() =>
    createVoiceRecorder({
      getUserMedia: (constraints) => navigator.mediaDevices.getUserMedia(constraints),
      createRecorder: (stream, mimeType) =>
        new MediaRecorder(stream as MediaStream, mimeType ? { mimeType } : undefined) as unknown as RecorderLike,
      mimeType: supported ? pickRecorderMimeType((type) => MediaRecorder.isTypeSupported(type)) : '',
      onRecorded: (file, durationMs) => latest.current(file, durationMs),
    }),
  );
  const state = useSyncExternalStore(recorder.subscribe, recorder.getState);
  useEffect(() => () => recorder.cancel(), [recorder, conversationId]);
  return { recorder, state, supported };
}

/** Starts a recording: tap to record (then Send or Cancel), or hold and release to send. */
export function MicButton({ recorder: controls, disabled }: { recorder: VoiceRecorderControls; disabled?: boolean }) {
  const { recorder } = controls;
  const pressedAt = useRef<number | null>(null);

  function onPointerDown(event: PointerEvent<HTMLButtonElement>) {
    if (event.button !== 0 || disabled) return;
    pressedAt.current = Date.now();
    void recorder.start();
    // The button is gone once recording, so the release is watched on the window.
    const release = () => {
      window.removeEventListener('pointerup', release);
      window.removeEventListener('pointercancel', release);
      const held = pressedAt.current !== null && Date.now() - pressedAt.current >= HOLD_MS;
      pressedAt.current = null;
      if (held && recorder.getState().phase === 'recording') recorder.finish();
    };
    window.addEventListener('pointerup', release);
    window.addEventListener('pointercancel', release);
  }

  return (
    <button
      type="button"
      className="button secondary mic-button"
      onPointerDown={onPointerDown}
      onClick={(event) => {
        // Keyboard (Enter / Space): pointer presses already started above.
        if (event.detail === 0) void recorder.start();
      }}
      disabled={disabled}
      aria-label="Record a voice message"
      title="Record a voice message (tap, or hold and release to send)"
      data-testid="mic-button"
    >
      <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
        <rect x="9" y="3" width="6" height="11" rx="3" fill="currentColor" />
        <path d="M6 11a6 6 0 0 0 12 0M12 17v4M9 21h6" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
      </svg>
    </button>
  );
}

/** While recording: the time, Cancel and Send; Escape cancels. */
export function RecorderBar({ recorder: controls }: { recorder: VoiceRecorderControls }) {
  const { recorder, state } = controls;
  const sendButton = useRef<HTMLButtonElement>(null);
  const recording = state.phase === 'recording';
  const elapsedMs = state.phase === 'recording' || state.phase === 'stopping' ? state.elapsedMs : 0;
  const status =
    state.phase === 'requesting'
      ? 'Waiting for the microphone...'
      : state.phase === 'stopping'
        ? 'Finishing the recording...'
        : `Recording a voice message (at most ${formatDuration(MAX_VOICE_MS)})`;

  useEffect(() => {
    if (recording) sendButton.current?.focus();
  }, [recording]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      recorder.cancel();
    }
  }

  return (
    <div className="voice-recorder" role="group" aria-label="Voice message recorder" onKeyDown={onKeyDown} data-testid="voice-recorder" data-phase={state.phase}>
      <span className={`voice-recorder-dot${recording ? ' live' : ''}`} aria-hidden="true" />
      <span className="voice-recorder-time" role="timer" aria-live="polite" aria-atomic="true" data-testid="voice-timer">
        {formatDuration(elapsedMs)}
      </span>
      <span className="voice-recorder-status" aria-live="polite">
        {status}
      </span>
      <button type="button" className="button secondary compact" onClick={() => recorder.cancel()} data-testid="voice-cancel">
        Cancel
      </button>
      <button
        ref={sendButton}
        type="button"
        className="button primary compact"
        onClick={() => recorder.finish()}
        disabled={!recording}
        aria-label="Send the voice message"
        data-testid="voice-send"
      >
        Send
      </button>
    </div>
  );
}
