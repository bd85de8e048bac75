import { useCallback, useMemo, useState } from 'react';
import type { BacktestMetrics, BacktestSummary } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useResource } from '../hooks/useResource';
import { DASH, formatDuration, formatNumber, formatRatio, formatRatioPct, formatSpan } from '../lib/format';
import { EquityChart, cleanCurve } from './EquityChart';
import { TRADE_COLUMNS, TradeHead, TradeRow } from './TradeRow';
import { EmptyRow, Money, Pager, ResourceNote, Stat, Time } from './ui';

const PAGE = 20;
const TRADES_PAGE = 50;

function MetricsGrid(props: { m: BacktestMetrics | null | undefined; starting: unknown; final: unknown }) {
  const m = props.m ?? {};
  return (
    <div className="metrics-grid" data-testid="backtest-metrics">
      <Stat label="Total return">
        <span className={Number(m.total_return) >= 0 ? 'pos' : 'neg'}>{formatRatioPct(m.total_return, 2, { sign: true })}</span>
      </Stat>
      <Stat label="CAGR">{formatRatioPct(m.cagr, 2, { sign: true })}</Stat>
      <Stat label="Sharpe">{formatRatio(m.sharpe)}</Stat>
      <Stat label="Sortino">{formatRatio(m.sortino)}</Stat>
      <Stat label="Max drawdown">{formatRatioPct(m.max_drawdown)}</Stat>
      <Stat label="Longest under water">{formatDuration(m.max_drawdown_duration)}</Stat>
      <Stat label="Win rate">{formatRatioPct(m.win_rate, 1)}</Stat>
      <Stat label="Profit factor">{formatRatio(m.profit_factor)}</Stat>
      <Stat label="Expectancy">
        <Money value={m.expectancy} pnl />
      </Stat>
      <Stat label="Avg trade">{formatDuration(m.average_trade_duration)}</Stat>
      <Stat label="Exposure">{formatRatioPct(m.exposure, 1)}</Stat>
      <Stat label="Trades">{formatNumber(m.trades, 0)}</Stat>
      <Stat label="Starting equity">
        <Money value={props.starting} />
      </Stat>
      <Stat label="Final equity">
        <Money value={props.final} />
      </Stat>
    </div>
  );
}

function BacktestTrades(props: { id: number }) {
  const { client } = useSession();
  const [offset, setOffset] = useState(0);
  const trades = useResource(`bt-trades|${props.id}|${offset}`, (s) => client.backtestTrades(props.id, { limit: TRADES_PAGE, offset }, s));
  const items = trades.data?.items ?? [];
  return (
    <div data-testid="backtest-trades">
      <h3>Trades</h3>
      <ResourceNote resource={trades} what="backtest trades" />
      <div className="table-scroll">
        <table className="grid">
          <TradeHead />
          <tbody>
            {items.map((t, i) => (
              <TradeRow key={`${offset + i}`} trade={t} number={offset + i + 1} pnl={t.pnl} testid="backtest-trade-row" />
            ))}
            <EmptyRow shown={!!trades.data && items.length === 0} colSpan={TRADE_COLUMNS}>
              No trades in this run.
            </EmptyRow>
          </tbody>
        </table>
      </div>
      <div className="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - TRADES_PAGE))}>
          ‹ Previous
        </button>
        <span className="muted">
          {items.length ? `${offset + 1}–${offset + items.length}` : DASH}
        </span>
        <button type="button" disabled={trades.data?.next_offset == null} onClick={() => setOffset(trades.data?.next_offset ?? offset)}>
          Next ›
        </button>
      </div>
    </div>
  );
}

function BacktestDetail(props: { id: number; onClose: () => void }) {
  const { client } = useSession();
  const run = useResource(`bt|${props.id}`, (s) => client.backtest(props.id, s));
  const r = run.data;
  const points = useMemo(() => cleanCurve((r?.equity_curve ?? []).map((p) => ({ time: p[0], equity: p[1] }))), [r]);
  const options = r?.options ?? {};
  return (
    <div className="backtest-detail" data-testid="backtest-detail" data-run-id={props.id}>
      <div className="toolbar">
        <h3>
          Run #{props.id} {r ? <span className="muted">— {r.strategy} on {r.symbols}</span> : null}
        </h3>
        <button type="button" className="ghost" onClick={props.onClose}>
          Close
        </button>
      </div>
      <ResourceNote resource={run} what="this backtest run" />
      {r ? (
        <>
          <p className="muted small">
            {r.data_source} · <Time value={r.period_start} /> → <Time value={r.period_end} /> · {formatNumber(r.bars, 0)} bars
            {r.elapsed_ms !== undefined ? ` · simulated in ${formatNumber(r.elapsed_ms, 1)} ms` : ''} · stored <Time value={r.created_at} />
          </p>
          <MetricsGrid m={r.metrics} starting={r.starting_equity} final={r.final_equity} />
          <EquityChart points={points} testid="backtest-chart" height={280} fitKey={props.id} />
          {Object.keys(options).length ? (
            <dl className="options">
              {Object.entries(options).map(([k, v]) => (
                <div key={k}>
                  <dt>{k.replace(/_/g, ' ')}</dt>
                  <dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
                </div>
              ))}
            </dl>
          ) : null}
          {r.open_positions && r.open_positions.length > 0 ? (
            <details>
              <summary>{r.open_positions.length} position(s) open at the end</summary>
              <pre className="json">{JSON.stringify(r.open_positions, null, 2)}</pre>
            </details>
          ) : null}
          <BacktestTrades id={props.id} />
        </>
      ) : null}
    </div>
  );
}

export function Backtests() {
  const { client } = useSession();
  const [selected, setSelected] = useState<number | null>(null);
  const fetchPage = useCallback(
    (before: number | null, signal: AbortSignal) => client.backtests({ limit: PAGE, before }, signal),
    [client],
  );
  const pages = useCursorPages<BacktestSummary>('backtests', fetchPage, { pollMs: 30000 });
  const items = pages.data?.items ?? [];
  return (
    <div className="tab-panel" data-testid="backtests">
      <p className="muted small">
        Runs stored by <code>noise backtest</code> in the engine’s database, newest first. Select one for its metrics, curve and trades.
      </p>
      <ResourceNote resource={pages} what="backtests" />
      <div className="table-scroll">
        <table className="grid" data-testid="backtests-table">
          <thead>
            <tr>
              <th className="r">#</th>
              <th>Stored</th>
              <th>Strategy</th>
              <th>Symbols</th>
              <th>Period</th>
              <th className="r">Bars</th>
              <th className="r">Return</th>
              <th className="r">Sharpe</th>
              <th className="r">Max DD</th>
              <th className="r">Trades</th>
              <th className="r">Win rate</th>
              <th className="r">Final equity</th>
            </tr>
          </thead>
          <tbody>
            {items.map((b) => (
              <tr
                key={b.id}
                className={`clickable ${selected === b.id ? 'selected' : ''}`}
                onClick={() => setSelected(selected === b.id ? null : b.id)}
                data-testid="backtest-row"
                data-run-id={b.id}
              >
                <td className="r muted num">{b.id}</td>
                <td className="small">
                  <Time value={b.created_at} />
                </td>
                <td>{b.strategy}</td>
                <td className="sym">{b.symbols}</td>
                <td className="small">{formatSpan(b.period_start, b.period_end)}</td>
                <td className="r num">{formatNumber(b.bars, 0)}</td>
                <td className={`r num ${Number(b.metrics?.total_return) >= 0 ? 'pos' : 'neg'}`}>{formatRatioPct(b.metrics?.total_return, 2, { sign: true })}</td>
                <td className="r num">{formatRatio(b.metrics?.sharpe)}</td>
                <td className="r num">{formatRatioPct(b.metrics?.max_drawdown)}</td>
                <td className="r num">{formatNumber(b.metrics?.trades, 0)}</td>
                <td className="r num">{formatRatioPct(b.metrics?.win_rate, 1)}</td>
                <td className="r">
                  <Money value={b.final_equity} />
                </td>
              </tr>
            ))}
            <EmptyRow shown={!!pages.data && items.length === 0} colSpan={12}>
              No stored backtests. Run <code>noise backtest --data … --db &lt;the engine’s db&gt;</code> to add one.
            </EmptyRow>
          </tbody>
        </table>
      </div>
      <Pager pages={pages} />
      {selected !== null ? <BacktestDetail key={selected} id={selected} onClose={() => setSelected(null)} /> : null}
    </div>
  );
}
