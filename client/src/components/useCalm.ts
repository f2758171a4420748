import { useEffect, useRef, useState } from 'react';

/**
 * `value`, changing at most once per `intervalMs` (the latest value follows when the interval
 * ends): for a live region that should not speak up at every change of a busy number.
 */
export function useCalm<T>(value: T, intervalMs: number): T {
  const [calm, setCalm] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    if (Object.is(value, calm)) return;
    const wait = Math.max(0, last.current + intervalMs - Date.now());
    const timer = setTimeout(() => {
      last.current = Date.now();
      setCalm(value);
    }, wait);
    return () => clearTimeout(timer);
  }, [value, calm, intervalMs]);
  return calm;
}
