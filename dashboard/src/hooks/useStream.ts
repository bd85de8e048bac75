import { useEffect, useRef, useState } from 'react';
import type { StreamEvent } from '../api/types';
import { useSession } from './session';

/** Calls `handler` for each stream event of the given kinds. */
export function useStreamEvent(kinds: readonly string[], handler: (event: StreamEvent) => void): void {
  const { subscribe } = useSession();
  const latest = useRef(handler);
  latest.current = handler;
  const key = kinds.join(',');
  useEffect(() => {
    const wanted = new Set(key.split(','));
    return subscribe((event) => {
      if (wanted.has(event.kind)) latest.current(event);
    });
  }, [subscribe, key]);
}

/**
 * A number that changes when events of these kinds arrive (at most once per
 * `throttleMs`, the last burst always counted) and on every resync: feed it
 * to a resource as its trigger.
 */
export function useEventTrigger(kinds: readonly string[], throttleMs = 1000): number {
  const { resyncKey } = useSession();
  const [count, setCount] = useState(0);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useStreamEvent(kinds, () => {
    if (timer.current) return;
    const wait = Math.max(0, last.current + throttleMs - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      setCount((c) => c + 1);
    }, wait);
  });
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return count * 1_000_000 + resyncKey;
}
