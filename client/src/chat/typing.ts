// Typing indicators. Outgoing: while the user types, `typing:start` goes out at most once per
// throttle period (the server forgets a typist 5 s after the last start), and `typing:stop` after a
// pause or when the message is sent. Incoming: a label naming who is typing.

export interface TypingEmitterOptions {
  start: () => void;
  stop: () => void;
  /** Minimum time between two `start`s while typing goes on. */
  throttleMs?: number;
  /** Pause after which `stop` is sent. */
  idleMs?: number;
  now?: () => number;
}

export interface TypingEmitter {
  /** The user changed the text. */
  input(): void;
  /** The user sent the message, cleared the box or left. */
  stop(): void;
  dispose(): void;
}

export function createTypingEmitter(options: TypingEmitterOptions): TypingEmitter {
  const { start, stop, throttleMs = 2_500, idleMs = 3_000, now = Date.now } = options;
  let typing = false;
  let lastStartAt = -Infinity;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  function clearIdle() {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = undefined;
  }

  function halt() {
    clearIdle();
    if (!typing) return;
    typing = false;
    lastStartAt = -Infinity;
    stop();
  }

  return {
    input() {
      const at = now();
      if (!typing || at - lastStartAt >= throttleMs) {
        typing = true;
        lastStartAt = at;
        start();
      }
      clearIdle();
      idleTimer = setTimeout(halt, idleMs);
    },
    stop: halt,
    dispose: halt,
  };
}

/** "Bob is typing...", "Bob and Ann are typing...", "Several people are typing...". */
export function typingLabel(usernames: readonly string[]): string | null {
  const names = [...new Set(usernames)];
  if (names.length === 0) return null;
  if (names.length === 1) return `${names[0]} is typing...`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing...`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing...`;
  return 'Several people are typing...';
}
