import { useCallback, useEffect, useRef, useState } from 'react';
import type { Page } from '../api/types';
import { useResource, type Resource } from './useResource';

export interface CursorPages<T> extends Resource<Page<T>> {
  /** 0 for the newest page. */
  pageIndex: number;
  hasOlder: boolean;
  older: () => void;
  newer: () => void;
  newest: () => void;
  /** Ids that arrived with a live refresh (for a highlight). */
  fresh: ReadonlySet<number>;
  /** Live updates arrived while an older page was shown. */
  missedUpdates: boolean;
}

/**
 * Cursor paging over a list the API serves newest first. The newest page
 * refreshes on `trigger` (live events) and by polling; older pages stay put.
 * `filterKey` resets to the newest page.
 */
export function useCursorPages<T extends { id: number }>(
  filterKey: string,
  fetchPage: (before: number | null, signal: AbortSignal) => Promise<Page<T>>,
  options: { trigger?: number; pollMs?: number } = {},
): CursorPages<T> {
  // The cursors of the pages walked through, for the filter they belong to
  // (another filter starts again at the newest page).
  const [nav, setNav] = useState<{ key: string; cursors: (number | null)[] }>({ key: filterKey, cursors: [null] });
  const cursors = nav.key === filterKey ? nav.cursors : [null];
  const setCursors = useCallback(
    (update: (c: (number | null)[]) => (number | null)[]) =>
      setNav((n) => ({ key: filterKey, cursors: update(n.key === filterKey ? n.cursors : [null]) })),
    [filterKey],
  );
  const [missedUpdates, setMissed] = useState(false);
  const pageIndex = cursors.length - 1;
  const before = cursors[pageIndex] ?? null;
  const onNewest = pageIndex === 0;

  const lastTrigger = useRef(options.trigger);
  useEffect(() => {
    if (lastTrigger.current !== options.trigger && !onNewest) setMissed(true);
    lastTrigger.current = options.trigger;
  }, [options.trigger, onNewest]);

  const resource = useResource<Page<T>>(`${filterKey}|${before ?? 'newest'}`, (signal) => fetchPage(before, signal), {
    trigger: onNewest ? options.trigger : 0,
    pollMs: onNewest ? options.pollMs : undefined,
  });

  // Rows that were not on the newest page the previous time it was seen.
  const seen = useRef<{ key: string; ids: Set<number> } | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  useEffect(() => {
    if (!onNewest || !resource.data) return;
    const ids = new Set(resource.data.items.map((i) => i.id));
    const prev = seen.current;
    if (prev && prev.key === filterKey) {
      const maxPrev = Math.max(-Infinity, ...prev.ids);
      setFresh(new Set([...ids].filter((id) => !prev.ids.has(id) && id > maxPrev)));
    } else {
      setFresh(new Set());
    }
    seen.current = { key: filterKey, ids };
  }, [resource.data, onNewest, filterKey]);

  const next = resource.data?.next_before ?? null;
  const older = useCallback(() => {
    if (next !== null) setCursors((c) => [...c, next]);
  }, [next, setCursors]);
  const newer = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), [setCursors]);
  const newest = useCallback(() => {
    setCursors(() => [null]);
    setMissed(false);
  }, [setCursors]);
  useEffect(() => {
    if (onNewest) setMissed(false);
  }, [onNewest]);

  return {
    ...resource,
    pageIndex,
    hasOlder: next !== null,
    older,
    newer,
    newest,
    fresh: onNewest ? fresh : new Set(),
    missedUpdates,
  };
}
