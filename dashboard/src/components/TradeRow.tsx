// The columns of a closed round trip, shared by the Trades tab and a backtest's trades.

import type { ReactNode } from 'react';
import type { RoundTrip } from '../api/types';
import { formatPrice, formatQty, formatSpan } from '../lib/format';
import { Dir, Money, Time } from './ui';

/** The number of columns of a trade row. */
export const TRADE_COLUMNS = 11;

export function TradeHead() {
  return (
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
  );
}

/** One round trip: `number` in the # column, `pnl` coloured (its field differs between live and backtest trades). */
export function TradeRow(props: {
  trade: RoundTrip;
  number: ReactNode;
  pnl: unknown;
  pnlTestid?: string;
  testid: string;
  tradeId?: number;
  className?: string;
}) {
  const t = props.trade;
  return (
    <tr data-testid={props.testid} data-trade-id={props.tradeId} className={props.className}>
      <td className="r muted num">{props.number}</td>
      <td className="sym">{t.symbol}</td>
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
    </tr>
  );
}
