import { useCallback, useEffect, useState } from 'react';
import type { AuditEntry } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useEventTrigger } from '../hooks/useStream';
import { useToggleSet } from '../hooks/useToggleSet';
import { summarize } from '../lib/format';
import { EmptyRow, ExpandableRow, Pager, ResourceNote, Time } from './ui';

const PAGE = 50;

/** The event types the engine writes (suggestions; any text is accepted). */
export const AUDIT_TYPES = [
  'auth_failed',
  'backtest_completed',
  'bracket_leg',
  'breaker_reset',
  'breaker_tripped',
  'config_loaded',
  'control',
  'daily_reset',
  'end_of_day',
  'engine_stopped',
  'fill_conflict',
  'fill_not_ours',
  'fill_refused',
  'flatten',
  'mode_change',
  'order_cancelled',
  'order_filled',
  'order_intent',
  'order_placed',
  'position_changed',
  'position_closed',
  'position_mismatch',
  'position_unknown_symbol',
  'positions_synced',
  'reconciliation',
  'risk_decision',
  'risk_event',
  'signal_generated',
  'signal_rejected',
  'weekly_reset',
];

/** One line for an entry: the interesting fields first for the common kinds. */
export function auditSummary(entry: AuditEntry): string {
  const d = entry.details as Record<string, unknown> | null;
  if (d && typeof d === 'object') {
    const decision = d.decision as Record<string, unknown> | undefined;
    if (decision && typeof decision === 'object') {
      const verdict = decision.verdict as { verdict?: string; reason?: unknown; reasons?: unknown[] } | undefined;
      const why =
        verdict?.reason !== undefined
          ? `: ${typeof verdict.reason === 'string' ? verdict.reason : summarize(verdict.reason, 80)}`
          : verdict?.reasons?.length
            ? `: ${verdict.reasons.map((r) => summarize(r, 60)).join(', ')}`
            : '';
      const checks = Array.isArray(decision.checks) ? decision.checks as { name?: string; status?: string }[] : [];
      const failed = checks.filter((c) => c.status && !['passed', 'not_applicable'].includes(c.status)).map((c) => `${c.name} ${c.status}`);
      return [
        `${decision.symbol ?? ''} ${decision.direction ?? ''} ${decision.intent ?? ''}`.trim(),
        `${verdict?.verdict ?? '?'}${why}`,
        failed.length ? `(${failed.join(', ')})` : '',
        d.signal_id !== undefined ? `signal_id=${String(d.signal_id)}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
    }
  }
  return summarize(entry.details, 220);
}

const ALL_EVENTS = ['signal', 'decision', 'order_placed', 'order_rejected', 'fill', 'closed', 'position_mismatch', 'equity', 'daily', 'risk'];

export function Audit() {
  const { client } = useSession();
  const [eventType, setEventType] = useState('');
  const [typed, setTyped] = useState('');
  const [live, setLive] = useState(true);
  const [open, toggle] = useToggleSet();
  const eventTrigger = useEventTrigger(ALL_EVENTS, 3000);
  const fetchPage = useCallback(
    (before: number | null, signal: AbortSignal) => client.audit({ event_type: eventType, limit: PAGE, before }, signal),
    [client, eventType],
  );
  // While not live the newest page stays as it was until refreshed by hand.
  const [frozen, setFrozen] = useState(0);
  useEffect(() => {
    if (live) setFrozen(eventTrigger);
  }, [live, eventTrigger]);
  const pages = useCursorPages<AuditEntry>(`audit|${eventType}`, fetchPage, { trigger: frozen, pollMs: live ? 15000 : undefined });
  const items = pages.data?.items ?? [];

  useEffect(() => {
    const t = setTimeout(() => setEventType(typed.trim()), 500);
    return () => clearTimeout(t);
  }, [typed]);

  return (
    <div className="tab-panel" data-testid="audit">
      <div className="toolbar">
        <label className="filter">
          <span>Event type</span>
          <input
            type="search"
            list="audit-types"
            value={typed}
            placeholder="all"
            onChange={(e) => setTyped(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && setEventType(typed.trim())}
            data-testid="audit-type"
            spellCheck={false}
          />
          <datalist id="audit-types">
            {AUDIT_TYPES.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </label>
        <label className="filter checkbox">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} data-testid="audit-live" />
          <span>Live</span>
        </label>
        <button type="button" onClick={pages.reload}>
          Refresh
        </button>
        <span className="muted small">Append-only log, newest first. Click a row for its details.</span>
      </div>
      <ResourceNote resource={pages} what="the audit log" />
      <div className="table-scroll">
        <table className="grid" data-testid="audit-table">
          <thead>
            <tr>
              <th />
              <th className="r">#</th>
              <th>Time</th>
              <th>Event</th>
              <th>Actor</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <ExpandableRow
                key={e.id}
                open={open.has(e.id)}
                onToggle={() => toggle(e.id)}
                fresh={pages.fresh.has(e.id)}
                testid="audit-row"
                colSpan={6}
                detail={() => (
                  <pre className="json" data-testid="audit-details">
                    {JSON.stringify(e.details, null, 2)}
                  </pre>
                )}
              >
                <td className="r muted num">{e.id}</td>
                <td className="small">
                  <Time value={e.time} />
                </td>
                <td>
                  <code className={`etype etype-${e.event_type}`}>{e.event_type}</code>
                </td>
                <td className="small">{e.actor}</td>
                <td className="small details-cell">{auditSummary(e)}</td>
              </ExpandableRow>
            ))}
            <EmptyRow shown={!!pages.data && items.length === 0} colSpan={6}>
              No entries{eventType ? ` of type ${eventType}` : ''}.
            </EmptyRow>
          </tbody>
        </table>
      </div>
      <Pager pages={pages} testid="audit-pager" />
    </div>
  );
}
