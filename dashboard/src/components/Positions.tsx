import type { Position } from '../api/types';
import type { Resource } from '../hooks/useResource';
import { DASH, formatPrice, formatQty, num } from '../lib/format';
import { Card, Dir, Money, ResourceNote, Time, orDash } from './ui';

export function Positions(props: { positions: Resource<Position[]> }) {
  const { data } = props.positions;
  const rows = [...(data ?? [])].sort((a, b) => a.symbol.localeCompare(b.symbol));
  const manyBrokers = new Set(rows.map((p) => p.broker)).size > 1;
  const hasPnl = rows.some((p) => num(p.unrealized_pnl) !== null);
  const totalPnl = hasPnl ? rows.reduce((sum, p) => sum + (num(p.unrealized_pnl) ?? 0), 0) : null;
  const hasNotional = rows.some((p) => num(p.notional) !== null);
  const totalNotional = hasNotional ? rows.reduce((sum, p) => sum + Math.abs(num(p.notional) ?? 0), 0) : null;
  return (
    <Card
      title={
        <>
          Open positions <span className="muted">({data ? rows.length : DASH})</span>
        </>
      }
      testid="positions"
    >
      <ResourceNote resource={props.positions} what="positions" />
      {data && rows.length === 0 ? <p className="note muted">No open positions.</p> : null}
      <div className="table-scroll">
        <table className="grid" data-testid="positions-table" data-count={rows.length}>
          <thead>
            <tr>
              <th>Symbol</th>
              <th>Side</th>
              <th className="r">Qty</th>
              <th className="r">Unrealized P&L</th>
              <th className="r">Market</th>
              <th className="r">Avg price</th>
              <th className="r">Notional</th>
              <th>Class / group</th>
              <th>Opened</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => {
              const q = num(p.quantity);
              return (
                <tr key={`${p.broker}:${p.symbol}`} data-testid="position-row" data-symbol={p.symbol}>
                  <td className="sym">
                    {p.symbol}
                    {manyBrokers ? <span className="muted small"> {p.broker}</span> : null}
                  </td>
                  <td>
                    <Dir value={q === null ? null : q > 0 ? 'LONG' : q < 0 ? 'SHORT' : 'FLAT'} />
                  </td>
                  <td className="r num">{formatQty(q === null ? null : Math.abs(q))}</td>
                  <td className="r">
                    <Money value={p.unrealized_pnl} pnl testid="position-pnl" />
                  </td>
                  <td className="r num">{formatPrice(p.market_price)}</td>
                  <td className="r num">{formatPrice(p.average_price)}</td>
                  <td className="r num">
                    <Money value={p.notional} />
                  </td>
                  <td className="small">
                    {orDash(p.asset_class)}
                    {p.correlation_group ? <span className="muted"> / {p.correlation_group}</span> : null}
                  </td>
                  <td className="small">
                    <Time value={p.opened_at} />
                  </td>
                </tr>
              );
            })}
          </tbody>
          {rows.length > 0 ? (
            <tfoot>
              <tr>
                <td colSpan={3} className="muted">
                  Total
                </td>
                <td className="r">
                  <Money value={totalPnl} pnl testid="positions-total-pnl" />
                </td>
                <td colSpan={2} />
                <td className="r">
                  <Money value={totalNotional} />
                </td>
                <td colSpan={2} />
              </tr>
            </tfoot>
          ) : null}
        </table>
      </div>
    </Card>
  );
}
