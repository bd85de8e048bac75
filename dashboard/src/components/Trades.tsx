import { useCallback, useState } from 'react';
import type { Trade } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useEventTrigger } from '../hooks/useStream';
import { KNOWN_SYMBOLS, SymbolFilter } from './SymbolFilter';
import { TRADE_COLUMNS, TradeHead, TradeRow } from './TradeRow';
import { EmptyRow, MissedUpdatesLink, Money, Pager, ResourceNote } from './ui';

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
  const pagePnl = items.reduce((s, t) => s + (Number(t.net_pnl) || 0), 0);

  return (
    <div className="tab-panel" data-testid="trades">
      <div className="toolbar">
        <SymbolFilter id="trades" value={symbol} onChange={setSymbol} symbols={KNOWN_SYMBOLS} testid="trades-symbol" />
        <span className="muted small">Closed round trips, newest first{pages.pageIndex === 0 ? '; new ones appear live' : ''}.</span>
        <MissedUpdatesLink pages={pages} what="trades" />
      </div>
      <ResourceNote resource={pages} what="trades" />
      <div className="table-scroll">
        <table className="grid" data-testid="trades-table" data-page={pages.pageIndex}>
          <TradeHead />
          <tbody>
            {items.map((t) => (
              <TradeRow
                key={t.id}
                trade={t}
                number={t.id}
                pnl={t.net_pnl}
                pnlTestid="trade-pnl"
                testid="trade-row"
                tradeId={t.id}
                className={pages.fresh.has(t.id) ? 'fresh' : ''}
              />
            ))}
            <EmptyRow shown={!!pages.data && items.length === 0} colSpan={TRADE_COLUMNS}>
              No closed trades{symbol ? ` for ${symbol}` : ''}.
            </EmptyRow>
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
      <Pager pages={pages} testid="trades-pager" />
    </div>
  );
}
