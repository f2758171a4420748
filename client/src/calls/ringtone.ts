// Ringing for an incoming call: a tone made with WebAudio (no sound files), and a notification when
// the page is hidden and notifications are allowed. A hidden page without that permission stays
// silent (a tab in the background should not ring out of nowhere); it rings once shown again.

import type { Ringer } from './callController';
import { mediaWord } from './callText';

/** What ringing does in the page's present situation. */
export function ringPlan(hidden: boolean, permission: NotificationPermission | null): { sound: boolean; notify: boolean } {
  const granted = permission === 'granted';
  return { sound: !hidden || granted, notify: hidden && granted };
}

export interface Tone {
  start(): void;
  stop(): void;
}

export interface RingerDeps {
  hidden(): boolean;
  permission(): NotificationPermission | null;
  /** Calls `listener` when the page is shown or hidden; returns the unsubscribe function. */
  onVisibilityChange(listener: () => void): () => void;
  tone(): Tone;
  /** Shows a notification; resolves to what closes it (null when none could be shown). */
  notify(title: string, options: { body: string; tag: string; conversationId: number }): Promise<{ close(): void } | null>;
}

export function createRinger(deps: RingerDeps): Ringer {
  let ringing: { tone: Tone; sounding: boolean; notification: Promise<{ close(): void } | null> | null; unsubscribe: () => void } | null =
    null;
  let current: Parameters<Ringer['start']>[0] | null = null;

  function update() {
    if (!ringing || !current) return;
    const plan = ringPlan(deps.hidden(), deps.permission());
    if (plan.sound && !ringing.sounding) ringing.tone.start();
    if (!plan.sound && ringing.sounding) ringing.tone.stop();
    ringing.sounding = plan.sound;
    if (plan.notify && !ringing.notification) {
      ringing.notification = deps
        .notify(`Incoming ${mediaWord(current.media)} call from ${current.callerName}`, {
          body: 'Open the chat to answer.',
          tag: `call-${current.callId}`,
          conversationId: current.conversationId,
        })
        .catch(() => null);
    }
  }

  return {
    start(ring) {
      this.stop();
      current = ring;
      ringing = { tone: deps.tone(), sounding: false, notification: null, unsubscribe: deps.onVisibilityChange(update) };
      update();
    },
    stop() {
      if (!ringing) return;
      const { tone, notification, unsubscribe } = ringing;
      ringing = null;
      current = null;
      unsubscribe();
      tone.stop();
      void notification?.then((shown) => shown?.close());
    },
  };
}

/** Seconds of one ring cycle: two short bursts, then a pause. */
const CYCLE_S = 3;
const BURSTS: readonly [start: number, length: number][] = [
  [0, 0.4],
  [0.6, 0.4],
];

/** The ringtone, made with WebAudio: two tones together, in bursts, until stopped. */
export function webAudioTone(): Tone {
  let context: AudioContext | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;

  function ringOnce(at: number) {
    if (!context) return;
    const gain = context.createGain();
    gain.gain.value = 0;
    gain.connect(context.destination);
    for (const [start, length] of BURSTS) {
      const t = at + start;
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(0.12, t + 0.02);
      gain.gain.setValueAtTime(0.12, t + length - 0.03);
      gain.gain.linearRampToValueAtTime(0, t + length);
    }
    for (const frequency of [440, 480]) {
      const oscillator = context.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(at);
      oscillator.stop(at + CYCLE_S);
    }
  }

  return {
    start() {
      if (context || typeof AudioContext === 'undefined') return;
      context = new AudioContext();
      // Browsers start audio without a click in the page suspended; it sounds once allowed.
      void context.resume().catch(() => undefined);
      ringOnce(context.currentTime + 0.05);
      timer = setInterval(() => context && ringOnce(context.currentTime + 0.05), CYCLE_S * 1000);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      void context?.close().catch(() => undefined);
      context = null;
    },
  };
}
