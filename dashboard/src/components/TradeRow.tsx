// The columns of a closed round trip, shared by the Trades tab and a backtest's trades.

import type { ReactNode } from 'react';
import type { RoundTrip } from '../api/types';
import { formatPrice, formatQty, formatSpan } from '../lib/format';
import { Dir, Money, Time } from './ui';

/** The number of columns of a trade row (without the ▸ column of an expandable one). */
export const TRADE_COLUMNS = 11;

/** The header; `expandable` adds the empty head of the ▸ column. */
export function TradeHead(props: { expandable?: boolean }) {
  return (
    <thead>
      <tr>
        {props.expandable ? <th aria-label="Open" /> : null}
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
  );
}

/** The cells of one round trip: `number` in the # column, `pnl` coloured, `badge` after the symbol. */
export function TradeCells(props: { trade: RoundTrip; number: ReactNode; pnl: unknown; pnlTestid?: string; badge?: ReactNode }) {
  const t = props.trade;
  return (
    <>
      <td className="r muted num">{props.number}</td>
      <td className="sym">
        {t.symbol}
        {props.badge ? <> {props.badge}</> : null}
      </td>
      <td>
        <Dir value={t.side} />
      </td>
      <td className="r num">{formatQty(t.quantity)}</td>
      <td className="r">
        <Money value={props.pnl} pnl testid={props.pnlTestid} />
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
    </>
  );
}

/** One round trip as a plain row (its field for P&L differs between live and backtest trades). */
export function TradeRow(props: {
  trade: RoundTrip;
  number: ReactNode;
  pnl: unknown;
  pnlTestid?: string;
  testid: string;
  tradeId?: number;
  className?: string;
}) {
  return (
    <tr data-testid={props.testid} data-trade-id={props.tradeId} className={props.className}>
      <TradeCells trade={props.trade} number={props.number} pnl={props.pnl} pnlTestid={props.pnlTestid} />
    </tr>
  );
}
