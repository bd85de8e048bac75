// The engine's current state, shared by the header, the summary, the risk and
// exposure panels and the positions: each fetched on a poll and refreshed at
// once when the event stream says it changed.

import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Account, EquitySnapshot, Exposure, Position, RiskState, Status, Summary } from '../api/types';
import { cleanCurve, type CurvePoint } from '../components/EquityChart';
import { useSession } from './session';
import { useResource, type Resource } from './useResource';
import { useEventTrigger, useStreamEvent } from './useStream';

const MONEY_EVENTS = ['fill', 'closed', 'equity', 'order_placed', 'position_mismatch'] as const;

export interface LiveData {
  status: Resource<Status>;
  account: Resource<Account>;
  risk: Resource<RiskState>;
  summary: Resource<Summary>;
  positions: Resource<Position[]>;
  exposure: Resource<Exposure>;
  equity: { points: CurvePoint[]; resource: Resource<EquitySnapshot[]> };
  reloadAll: () => void;
}

export const EQUITY_LIMIT = 1000;

export function useLiveData(): LiveData {
  const { client, refreshAll } = useSession();
  const riskTrigger = useEventTrigger(['risk', 'closed', 'equity', 'daily'], 1000);
  const moneyTrigger = useEventTrigger(MONEY_EVENTS, 1000);
  const statusTrigger = useEventTrigger(['risk', 'signal'], 2000);

  const status = useResource('status', (s) => client.status(s), { pollMs: 5000, trigger: statusTrigger });
  const account = useResource('account', (s) => client.account(s), { pollMs: 5000, trigger: moneyTrigger });
  const risk = useResource('risk', (s) => client.riskState(s), { pollMs: 5000, trigger: riskTrigger });
  const summary = useResource('summary', (s) => client.summary(s), { pollMs: 10000, trigger: moneyTrigger });
  const positions = useResource('positions', (s) => client.positions(s), { pollMs: 5000, trigger: moneyTrigger });
  const exposure = useResource('exposure', (s) => client.exposure(s), { pollMs: 5000, trigger: moneyTrigger });

  // The curve: the stored snapshots, then each `equity` event appended.
  const resyncOnly = useEventTrigger([], 0);
  const equityResource = useResource('equity', (s) => client.equity(EQUITY_LIMIT, s), {
    pollMs: 60000,
    trigger: resyncOnly,
  });
  const [live, setLive] = useState<EquitySnapshot[]>([]);
  useEffect(() => {
    // a fresh fetch already holds what was appended before it
    setLive([]);
  }, [equityResource.data]);
  useStreamEvent(['equity'], (event) => {
    const env = event.data as { event?: { data?: EquitySnapshot } } | null;
    const snap = env?.event?.data;
    if (snap && typeof snap.time === 'string') setLive((l) => [...l, snap].slice(-EQUITY_LIMIT));
  });
  const points = useMemo(() => {
    const all = cleanCurve([...(equityResource.data ?? []), ...live]);
    return all.length > EQUITY_LIMIT ? all.slice(-EQUITY_LIMIT) : all;
  }, [equityResource.data, live]);

  const reloadAll = useCallback(() => {
    refreshAll();
  }, [refreshAll]);

  return { status, account, risk, summary, positions, exposure, equity: { points, resource: equityResource }, reloadAll };
}
