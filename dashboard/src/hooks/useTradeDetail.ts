// A round trip's fills (GET /api/trades/{id}), fetched when its row is first
// opened and kept per id: a closed round trip does not change. The cache
// belongs to the client (one per sign-in), so it outlives tab switches.

import { useCallback, useEffect, useState } from 'react';
import type { ApiClient, ApiError } from '../api/client';
import type { TradeDetail } from '../api/types';
import { parseTradeDetail } from '../lib/ledger';
import { useSession } from './session';
import { asApiError } from './useResource';

const caches = new WeakMap<ApiClient, Map<number, TradeDetail>>();

function cacheOf(client: ApiClient): Map<number, TradeDetail> {
  let cache = caches.get(client);
  if (!cache) {
    cache = new Map();
    caches.set(client, cache);
  }
  return cache;
}

export interface TradeDetailState {
  data: TradeDetail | undefined;
  error: ApiError | null;
  loading: boolean;
  /** Always false: a 404 here is an unknown round trip, said by the error's message. */
  notAvailable: false;
  retry: () => void;
}

export function useTradeDetail(id: number): TradeDetailState {
  const { client } = useSession();
  const cache = cacheOf(client);
  const [state, setState] = useState<{ id: number; data?: TradeDetail; error: ApiError | null }>(() => ({
    id,
    data: cache.get(id),
    error: null,
  }));
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const cached = cache.get(id);
    if (cached) {
      setState({ id, data: cached, error: null });
      return;
    }
    setState({ id, error: null });
    const controller = new AbortController();
    client
      .trade(id, controller.signal)
      .then((body) => {
        const detail = parseTradeDetail(body);
        cache.set(id, detail);
        if (!controller.signal.aborted) setState({ id, data: detail, error: null });
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setState({ id, error: asApiError(error) });
      });
    return () => controller.abort();
  }, [client, cache, id, attempt]);

  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  const current = state.id === id;
  const data = current ? state.data : cache.get(id);
  const error = current ? state.error : null;
  return { data, error, loading: !data && !error, notAvailable: false, retry };
}
