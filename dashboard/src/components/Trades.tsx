import { useCallback, useState } from 'react';
import type { Trade } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useEventTrigger } from '../hooks/useStream';
import { formatPrice, formatQty, formatSpan } from '../lib/format';
import { KNOWN_SYMBOLS, SymbolFilter } from './SymbolFilter';
import { Dir, Money, Pager, ResourceNote, Time } from './ui';

const PAGE = 50;

export function Trades() {
  const { client } = useSession();
  const [symbol, setSymbol] = useState('');
  const trigger = useEventTrigger(['closed'], 500);
  const fetchPage = useCallback(
    (before: number | null, signal: AbortSignal) => client.trades({ symbol, limit: PAGE, before }, signal),
    [client, symbol],
  );
  const pages = useCursorPages<Trade>(`trades|${symbol}`, fetchPage, { trigger, pollMs: 15000 });
  const items = pages.data?.items ?? [];
  const pagePnl = items.reduce((s, t) => s + (Number(t.realized_pnl) || 0), 0);

  return (
    <div className="tab-panel" data-testid="trades">
      <div className="toolbar">
        <SymbolFilter id="trades" value={symbol} onChange={setSymbol} symbols={KNOWN_SYMBOLS} testid="trades-symbol" />
        <span className="muted small">Closed round trips, newest first{pages.pageIndex === 0 ? '; new ones appear live' : ''}.</span>
        {pages.missedUpdates ? (
          <button type="button" className="linkish" onClick={pages.newest}>
            New trades arrived — show newest
          </button>
        ) : null}
      </div>
      <ResourceNote loading={pages.loading} notAvailable={pages.notAvailable} error={pages.error} hasData={!!pages.data} what="trades" />
      <div className="table-scroll">
        <table className="grid" data-testid="trades-table" data-page={pages.pageIndex}>
          <thead>
            <tr>
              <th className="r">#</th>
              <th>Symbol</th>
              <th>Side</th>
              <th className="r">Qty</th>
              <th className="r">P&L</th>
              <th className="r">Entry</th>
              <th className="r">Exit</th>
              <th>Opened</th>
              <th>Closed</th>
              <th className="r">Held</th>
              <th className="r">Fees</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.id} data-testid="trade-row" data-trade-id={t.id} className={pages.fresh.has(t.id) ? 'fresh' : ''}>
                <td className="r muted num">{t.id}</td>
                <td className="sym">{t.symbol}</td>
                <td>
                  <Dir value={t.side} />
                </td>
                <td className="r num">{formatQty(t.quantity)}</td>
                <td className="r">
                  <Money value={t.realized_pnl} pnl testid="trade-pnl" />
                </td>
                <td className="r num">{formatPrice(t.entry_price)}</td>
                <td className="r num">{formatPrice(t.exit_price)}</td>
                <td className="small">
                  <Time value={t.entry_time} />
                </td>
                <td className="small">
                  <Time value={t.exit_time} />
                </td>
                <td className="r small">{formatSpan(t.entry_time, t.exit_time)}</td>
                <td className="r">
                  <Money value={t.fees} className="muted" />
                </td>
              </tr>
            ))}
            {pages.data && items.length === 0 ? (
              <tr>
                <td colSpan={11} className="muted">
                  No closed trades{symbol ? ` for ${symbol}` : ''}.
                </td>
              </tr>
            ) : null}
          </tbody>
          {items.length > 0 ? (
            <tfoot>
              <tr>
                <td colSpan={4} className="muted">
                  This page ({items.length} trades)
                </td>
                <td className="r">
                  <Money value={pagePnl} pnl />
                </td>
                <td colSpan={6} />
              </tr>
            </tfoot>
          ) : null}
        </table>
      </div>
      <Pager
        pageIndex={pages.pageIndex}
        hasOlder={pages.hasOlder}
        onNewer={pages.newer}
        onOlder={pages.older}
        onNewest={pages.newest}
        testid="trades-pager"
      />
    </div>
  );
}
