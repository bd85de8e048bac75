import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  /** The first load for these inputs is under way. */
  loading: boolean;
  /** The engine has no such endpoint (404): show "not available". */
  notAvailable: boolean;
  /** When the data was last fetched (ms). */
  updatedAt: number | null;
  reload: () => void;
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'client', error instanceof Error ? error.message : String(error));
}

/**
 * Fetches with `fetcher` when `key` or `trigger` changes, every `pollMs`
 * while the page is visible, and on reload(). A failed refresh keeps the
 * last data (with the error beside it); a change of `key` drops it.
 */
export function useResource<T>(
  key: string,
  fetcher: (signal: AbortSignal) => Promise<T>,
  options: { pollMs?: number; trigger?: number; enabled?: boolean } = {},
): Resource<T> {
  const { enabled = true } = options;
  const [state, setState] = useState<{
    key: string;
    data: T | undefined;
    error: ApiError | null;
    updatedAt: number | null;
  }>({ key, data: undefined, error: null, updatedAt: null });
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const inFlight = useRef<AbortController | null>(null);
  // An endpoint this engine does not have (404) is asked again only once a minute.
  const missing = state.key === key && state.error?.status === 404;
  const trigger = missing ? 0 : (options.trigger ?? 0);
  const pollMs = missing ? 60000 : options.pollMs;

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    inFlight.current?.abort();
    inFlight.current = controller;
    fetcherRef
      .current(controller.signal)
      .then((data) => {
        if (controller.signal.aborted) return;
        setState({ key, data, error: null, updatedAt: Date.now() });
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        const apiError = asApiError(error);
        setState((prev) => ({
          key,
          data: prev.key === key ? prev.data : undefined,
          error: apiError,
          updatedAt: prev.key === key ? prev.updatedAt : null,
        }));
      });
    return () => controller.abort();
  }, [key, trigger, tick, enabled]);

  useEffect(() => {
    if (!pollMs || !enabled) return;
    const id = setInterval(() => {
      if (typeof document === 'undefined' || !document.hidden) setTick((t) => t + 1);
    }, pollMs);
    const onVisible = () => {
      if (!document.hidden) setTick((t) => t + 1);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [pollMs, enabled]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  const data = current ? state.data : undefined;
  const error = current ? state.error : null;
  return {
    data,
    error,
    loading: enabled && data === undefined && error === null,
    notAvailable: error?.status === 404,
    updatedAt: current ? state.updatedAt : null,
    reload,
  };
}
