import { useCallback, useState } from 'react';
import type { Signal } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useEventTrigger } from '../hooks/useStream';
import { useToggleSet } from '../hooks/useToggleSet';
import { DASH, formatNumber, formatPrice } from '../lib/format';
import { KNOWN_SYMBOLS, SymbolFilter } from './SymbolFilter';
import { Badge, Dir, EmptyRow, ExpandableRow, MissedUpdatesLink, Pager, ResourceNote, Time } from './ui';

const PAGE = 50;

/** Why a row did not trade: a filter's rejection, or the risk manager's block. */
function riskOrFilterReason(s: Signal): string | null {
  if (s.status === 'rejected') return s.reason ?? DASH;
  if (s.risk_verdict === 'block') return s.risk_reason ?? DASH;
  return null;
}

function SignalDetail(props: { signal: Signal }) {
  const s = props.signal;
  const regime = s.regime;
  return (
    <div className="signal-detail" data-testid="signal-detail">
      {s.status === 'rejected' ? (
        <p className="note err small" data-testid="signal-reason">
          <b>Rejected:</b> {s.reason ?? DASH}
        </p>
      ) : null}
      {s.status !== 'rejected' && s.risk_verdict === 'block' ? (
        <p className="note err small" data-testid="signal-risk-reason">
          <b>Not traded (risk):</b> {s.risk_reason ?? DASH}
        </p>
      ) : null}
      <table className="grid inner" data-testid="signal-components">
        <thead>
          <tr>
            <th>Strategy</th>
            <th>Direction</th>
            <th className="r">Strength</th>
            <th className="r">Weight</th>
            <th className="r">Base weight</th>
            <th className="r">Contribution</th>
            <th>Reasons</th>
          </tr>
        </thead>
        <tbody>
          {s.components.map((c, i) => (
            <tr key={`${c.strategy}-${i}`} data-testid="signal-component">
              <td>{c.strategy}</td>
              <td>
                <Dir value={c.direction} />
              </td>
              <td className="r num">{formatNumber(c.strength, 2, 2)}</td>
              <td className="r num">{formatNumber(c.weight, 2, 2)}</td>
              <td className="r num">{formatNumber(c.base_weight, 2, 2)}</td>
              <td className="r num">{formatNumber(c.contribution, 3, 3)}</td>
              <td className="small">
                <ul className="reasons">
                  {c.reasons.map((r, j) => (
                    <li key={j}>{r}</li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
          <EmptyRow shown={s.components.length === 0} colSpan={7}>
            No components.
          </EmptyRow>
        </tbody>
      </table>
      {s.filters && s.filters.length > 0 ? (
        <div className="filters-list">
          <span className="muted small">Filters: </span>
          {s.filters.map((f) => (
            <span key={f.name} className={`filter-chip ${f.passed ? 'pass' : 'fail'}`} title={f.detail}>
              {f.passed ? '✓' : '✗'} {f.name}: {f.detail}
            </span>
          ))}
        </div>
      ) : null}
      {regime ? (
        <p className="muted small">
          Regime: {regime.trend ?? DASH} / {regime.volatility ?? DASH}; ADX {formatNumber(regime.adx, 1)}, +DI {formatNumber(regime.plus_di, 1)}, −DI{' '}
          {formatNumber(regime.minus_di, 1)}, ATR percentile {formatNumber(regime.atr_percentile, 1)}
        </p>
      ) : null}
    </div>
  );
}

export function Signals() {
  const { client } = useSession();
  const [symbol, setSymbol] = useState('');
  const [status, setStatus] = useState('');
  const [open, toggle] = useToggleSet();
  const trigger = useEventTrigger(['signal', 'decision'], 2000);
  const fetchPage = useCallback(
    (before: number | null, signal: AbortSignal) => client.signals({ symbol, status, limit: PAGE, before }, signal),
    [client, symbol, status],
  );
  const pages = useCursorPages<Signal>(`signals|${symbol}|${status}`, fetchPage, { trigger, pollMs: 15000 });
  const items = pages.data?.items ?? [];

  return (
    <div className="tab-panel" data-testid="signals">
      <div className="toolbar">
        <SymbolFilter id="signals" value={symbol} onChange={setSymbol} symbols={KNOWN_SYMBOLS} testid="signals-symbol" />
        <label className="filter">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value)} data-testid="signals-status">
            <option value="">all</option>
            <option value="signal">signal (passed)</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
        <span className="muted small">Click a row for its components and filters.</span>
        <MissedUpdatesLink pages={pages} what="signals" />
      </div>
      <ResourceNote resource={pages} what="signals" />
      <div className="table-scroll">
        <table className="grid" data-testid="signals-table">
          <thead>
            <tr>
              <th />
              <th>Time</th>
              <th>Symbol</th>
              <th>Dir</th>
              <th className="r">Strength</th>
              <th className="r">Entry</th>
              <th className="r">Stop</th>
              <th className="r">Target</th>
              <th>Strategies</th>
              <th>Status</th>
              <th>Why rejected</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <ExpandableRow
                key={s.id}
                open={open.has(s.id)}
                onToggle={() => toggle(s.id)}
                fresh={pages.fresh.has(s.id)}
                testid="signal-row"
                attributes={{ 'data-signal-id': s.id, 'data-status': s.status }}
                colSpan={11}
                detail={() => <SignalDetail signal={s} />}
              >
                <td className="small">
                  <Time value={s.time} />
                </td>
                <td className="sym">
                  {s.symbol} <span className="muted small">{s.timeframe}</span>
                </td>
                <td>
                  <Dir value={s.direction} />
                </td>
                <td className="r num">{formatNumber(s.strength, 2, 2)}</td>
                <td className="r num">{formatPrice(s.entry)}</td>
                <td className="r num">{formatPrice(s.stop_loss)}</td>
                <td className="r num">{formatPrice(s.take_profit)}</td>
                <td className="small">
                  {s.components.map((c) => `${c.strategy} ${formatNumber(c.strength, 2, 2)}×${formatNumber(c.weight, 2, 2)}`).join(', ') || DASH}
                </td>
                <td>
                  <Badge tone={s.status === 'rejected' || s.risk_verdict === 'block' ? 'bad' : 'ok'}>
                    {s.status === 'signal' && s.risk_verdict === 'block' ? 'not traded' : s.status}
                  </Badge>
                </td>
                <td className="small reason-cell" title={riskOrFilterReason(s) ?? undefined}>
                  {riskOrFilterReason(s) ?? ''}
                </td>
              </ExpandableRow>
            ))}
            <EmptyRow shown={!!pages.data && items.length === 0} colSpan={11}>
              No signals match.
            </EmptyRow>
          </tbody>
        </table>
      </div>
      <Pager pages={pages} testid="signals-pager" />
    </div>
  );
}
