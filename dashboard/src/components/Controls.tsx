import { useCallback, useState, type ReactNode } from 'react';
import { ApiError, type ControlPath } from '../api/client';
import type { ControlOutcome, Position, RiskState, Status } from '../api/types';
import { useSession } from '../hooks/session';
import { formatPct } from '../lib/format';
import { ConfirmDialog } from './ConfirmDialog';
import { Card } from './ui';

interface ControlSpec {
  id: 'pause' | 'resume' | 'reset' | 'sync' | 'flatten';
  path: ControlPath;
  label: string;
  verb: string;
  title: string;
  confirm: string;
  danger?: boolean;
}

const CONTROLS: ControlSpec[] = [
  {
    id: 'pause',
    path: 'trading/pause',
    label: 'Pause',
    verb: 'Pause',
    title: 'Pause trading?',
    confirm: 'Pause trading',
  },
  {
    id: 'resume',
    path: 'trading/resume',
    label: 'Resume',
    verb: 'Resume',
    title: 'Resume trading?',
    confirm: 'Resume trading',
  },
  {
    id: 'reset',
    path: 'risk/reset-circuit-breaker',
    label: 'Reset breaker',
    verb: 'Reset circuit breaker',
    title: 'Reset the circuit breakers?',
    confirm: 'Reset breakers',
  },
  {
    id: 'sync',
    path: 'positions/sync',
    label: 'Sync positions',
    verb: 'Sync positions',
    title: 'Sync positions with the broker?',
    confirm: 'Sync now',
  },
  {
    id: 'flatten',
    path: 'trading/flatten',
    label: 'Flatten all',
    verb: 'Flatten all',
    title: 'FLATTEN EVERYTHING?',
    confirm: 'Yes, flatten everything',
    danger: true,
  },
];

type Outcome =
  | { kind: 'pending'; spec: ControlSpec }
  | { kind: 'ok'; spec: ControlSpec; body: ControlOutcome; at: number }
  | { kind: 'error'; spec: ControlSpec; error: ApiError; at: number };

/** The outcome JSON in words: the state after, the breakers, the events. */
export function describeOutcome(body: ControlOutcome): string {
  const parts: string[] = [];
  if (body.trading_state) parts.push(`trading state ${body.trading_state}`);
  if (Array.isArray(body.breakers)) {
    parts.push(
      body.breakers.length === 0
        ? 'no breaker tripped'
        : `breakers tripped: ${body.breakers.map((b) => `${b.kind.replace('_', ' ')} ${formatPct(b.measured_pct)}`).join(', ')}`,
    );
  }
  if (typeof body.events === 'number') parts.push(`${body.events} event${body.events === 1 ? '' : 's'}`);
  const known = new Set(['control', 'trading_state', 'breakers', 'events']);
  for (const [k, v] of Object.entries(body)) {
    if (known.has(k) || v === null || typeof v === 'object') continue;
    parts.push(`${k.replace(/_/g, ' ')} ${String(v)}`);
  }
  return parts.join('; ');
}

function Explain(props: { spec: ControlSpec; status?: Status; risk?: RiskState; positions?: Position[] }): ReactNode {
  const { spec, risk, positions } = props;
  const state = props.status?.tradingState ?? risk?.trading_state;
  switch (spec.id) {
    case 'pause':
      return (
        <p>
          The engine halts: no new orders, only cancels pass, until you resume. Open positions stay open (their protective orders stay
          in place). Trading state now: <b>{state ?? '—'}</b>.
        </p>
      );
    case 'resume':
      return (
        <p>
          The engine trades again (ACTIVE, or REDUCING while a circuit breaker is tripped). Refused if trading is not paused.
          {risk && !risk.halted_manually ? <span className="warn-text"> Trading does not look paused right now.</span> : null}
        </p>
      );
    case 'reset':
      return (
        <p>
          Clears every tripped circuit breaker (daily loss, weekly loss, drawdown); the drawdown breaker resets only this way.{' '}
          {risk ? (
            risk.breakers?.length ? (
              <>Tripped now: {risk.breakers.map((b) => b.kind.replace('_', ' ')).join(', ')}.</>
            ) : (
              <span className="warn-text">No breaker is tripped now.</span>
            )
          ) : null}
        </p>
      );
    case 'sync':
      return <p>Brings the engine’s positions in line with the broker’s now; round trips the broker closed are recorded.</p>;
    case 'flatten':
      return (
        <div className="flatten-warning">
          <p>
            <b>Kill switch.</b> This will, at once:
          </p>
          <ul>
            <li>cancel every open order,</li>
            <li>
              close <b>every</b> position with a <b>market order</b>
              {positions ? ` (${positions.length} open now)` : ''} — at whatever price the market gives,
            </li>
            <li>pause trading until you resume it.</li>
          </ul>
          <p>Losses on the closed positions become realized. This cannot be undone.</p>
        </div>
      );
  }
}

export function Controls(props: { status?: Status; risk?: RiskState; positions?: Position[]; onDone: () => void }) {
  const { client } = useSession();
  const [asking, setAsking] = useState<ControlSpec | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const pending = outcome?.kind === 'pending';
  const { onDone } = props;

  const run = useCallback(
    async (spec: ControlSpec) => {
      setAsking(null);
      setOutcome({ kind: 'pending', spec });
      try {
        const body = await client.control(spec.path);
        setOutcome({ kind: 'ok', spec, body, at: Date.now() });
      } catch (e) {
        const error = e instanceof ApiError ? e : new ApiError(0, 'client', String(e));
        setOutcome({ kind: 'error', spec, error, at: Date.now() });
      } finally {
        onDone();
      }
    },
    [client, onDone],
  );
  const cancel = useCallback(() => setAsking(null), []);

  const state = props.status?.tradingState;
  const paused = props.risk?.halted_manually ?? state === 'HALTED';
  return (
    <Card title="Controls" testid="controls" className="controls-card">
      <div className="controls">
        {CONTROLS.map((spec) => {
          const hint =
            (spec.id === 'resume' && paused) || (spec.id === 'reset' && props.status?.circuitBreaker === 'on') ? ' suggested' : '';
          return (
            <button
              key={spec.id}
              type="button"
              className={`control ${spec.danger ? 'danger' : ''}${hint}`}
              onClick={() => setAsking(spec)}
              disabled={pending}
              data-testid={`control-${spec.id}`}
            >
              {spec.label}
            </button>
          );
        })}
      </div>
      {outcome ? (
        <div
          className={`outcome ${outcome.kind}`}
          data-testid="control-outcome"
          data-kind={outcome.kind}
          role={outcome.kind === 'error' ? 'alert' : 'status'}
        >
          <span data-testid="control-outcome-text">
          {outcome.kind === 'pending' ? (
            <span>{outcome.spec.verb}: waiting for the engine…</span>
          ) : outcome.kind === 'ok' ? (
            <span>
              <b>{outcome.spec.verb}: done.</b> {describeOutcome(outcome.body)}.
            </span>
          ) : (
            <span>
              <b>
                {outcome.spec.verb} {outcome.error.status === 409 ? 'refused' : 'failed'}
                {outcome.error.status ? ` (${outcome.error.status})` : ''}:
              </b>{' '}
              {outcome.error.message}
            </span>
          )}
          </span>
          {outcome.kind !== 'pending' ? (
            <button type="button" className="ghost small" onClick={() => setOutcome(null)} aria-label="Dismiss">
              ✕
            </button>
          ) : null}
        </div>
      ) : null}
      {asking ? (
        <ConfirmDialog
          title={asking.title}
          confirmLabel={asking.confirm}
          danger={asking.danger}
          onConfirm={() => void run(asking)}
          onCancel={cancel}
        >
          <Explain spec={asking} status={props.status} risk={props.risk} positions={props.positions} />
        </ConfirmDialog>
      ) : null}
    </Card>
  );
}
