// Cleanup at exit: temporary directories, databases and child processes the tests made are
// removed or stopped when the test process exits, also when a test fails halfway.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const cleanups = new Set();
process.on('exit', () => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      /* best effort */
    }
  }
});

/** Runs `cleanup` (synchronous) when the process exits; returns a function that cancels it. */
export function atExit(cleanup) {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** A temporary directory removed by `remove()` (also at exit). */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const remove = () => {
    if (!cancel()) return;
    rmSync(dir, { recursive: true, force: true });
  };
  const cancel = atExit(remove);
  return { dir, remove };
}
