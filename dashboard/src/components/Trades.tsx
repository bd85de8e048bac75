import { useCallback, useState } from 'react';
import type { Trade } from '../api/types';
import { useSession } from '../hooks/session';
import { useCursorPages } from '../hooks/useCursorPages';
import { useEventTrigger } from '../hooks/useStream';
import { useToggleSet } from '../hooks/useToggleSet';
import { KNOWN_SYMBOLS, SymbolFilter } from './SymbolFilter';
import { TradeFills } from './TradeFills';
import { TRADE_COLUMNS, TradeCells, TradeHead } from './TradeRow';
import { EmptyRow, ExpandableRow, MissedUpdatesLink, Money, Pager, ReconciledBadge, ResourceNote } from './ui';

const PAGE = 50;

export function Trades() {
  const { client } = useSession();
  const [symbol, setSymbol] = useState('');
  const [open, toggle] = useToggleSet();
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
        <span className="muted small">
          Closed round trips, newest first{pages.pageIndex === 0 ? '; new ones appear live' : ''}. Click a row for its fills.
        </span>
        <MissedUpdatesLink pages={pages} what="trades" />
      </div>
      <ResourceNote resource={pages} what="trades" />
      <div className="table-scroll">
        <table className="grid" data-testid="trades-table" data-page={pages.pageIndex}>
          <TradeHead expandable />
          <tbody>
            {items.map((t) => (
              <ExpandableRow
                key={t.id}
                open={open.has(t.id)}
                onToggle={() => toggle(t.id)}
                fresh={pages.fresh.has(t.id)}
                testid="trade-row"
                attributes={{ 'data-trade-id': t.id, 'data-reconciled': t.reconciled ? 'true' : 'false' }}
                colSpan={TRADE_COLUMNS + 1}
                detail={() => <TradeFills trade={t} />}
              >
                <TradeCells
                  trade={t}
                  number={t.id}
                  pnl={t.net_pnl}
                  pnlTestid="trade-pnl"
                  badge={t.reconciled ? <ReconciledBadge testid="trade-reconciled" what="a side of this round trip" /> : null}
                />
              </ExpandableRow>
            ))}
            <EmptyRow shown={!!pages.data && items.length === 0} colSpan={TRADE_COLUMNS + 1}>
              No closed trades{symbol ? ` for ${symbol}` : ''}.
            </EmptyRow>
          </tbody>
          {items.length > 0 ? (
            <tfoot>
              <tr>
                <td colSpan={5} className="muted">
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
