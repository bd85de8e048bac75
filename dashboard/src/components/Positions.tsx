import type { Position } from '../api/types';
import type { Resource } from '../hooks/useResource';
import { useToggleSet } from '../hooks/useToggleSet';
import { DASH, formatPrice, formatQty, num } from '../lib/format';
import { lotsAgree, lotsTotal, lotsUnrealized, signedLotQuantity } from '../lib/ledger';
import { Card, Dir, ExpandableRow, Id, Money, ReconciledBadge, ResourceNote, Time, orDash } from './ui';

const COLUMNS = 10;

/** An open position's lots: the entry fills it is still made of, oldest first. */
function PositionLots(props: { position: Position }) {
  const p = props.position;
  const lots = p.lots;
  if (!lots) {
    return <p className="note muted small">This engine does not list a position’s lots.</p>;
  }
  const total = lotsTotal(lots);
  const agree = lotsAgree(p.quantity, lots);
  const unrealized = lotsUnrealized(lots);
  return (
    <div className="lots-detail">
      <div className="table-scroll">
        <table className="grid inner" data-testid="position-lots" data-count={lots.length}>
          <thead>
            <tr>
              <th>Opened</th>
              <th>Side</th>
              <th className="r">Qty open</th>
              <th className="r">Entry price</th>
              <th className="r" title="The part of the entry fill’s fee not yet charged to a round trip">
                Entry fee left
              </th>
              <th className="r" title="At the market price, less the entry fee left">
                Unrealized P&L
              </th>
              <th>Fill / order</th>
            </tr>
          </thead>
          <tbody>
            {lots.map((lot, i) => (
              <tr
                key={`${lot.broker}:${lot.fill_id}:${i}`}
                data-testid="position-lot-row"
                data-quantity={String(lot.quantity)}
                data-signed-quantity={signedLotQuantity(lot) ?? ''}
                data-reconciled={lot.reconciled ? 'true' : 'false'}
              >
                <td className="small">
                  <Time value={lot.time} />
                </td>
                <td>
                  <Dir value={lot.direction} />
                </td>
                <td className="r num" data-testid="lot-qty">
                  {formatQty(lot.quantity)}
                </td>
                <td className="r num">{formatPrice(lot.price)}</td>
                <td className="r">
                  <Money value={lot.fees} className="muted" />
                </td>
                <td className="r">
                  <Money value={lot.unrealized_pnl} pnl />
                </td>
                <td>
                  <Id value={lot.fill_id} /> <span className="muted small">/</span>{' '}
                  {lot.client_order_id ? <Id value={lot.client_order_id} /> : <span className="muted small">no order</span>}
                  {lot.reconciled ? (
                    <>
                      {' '}
                      <ReconciledBadge testid="lot-reconciled" />
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
            {lots.length === 0 ? (
              <tr>
                <td colSpan={7} className="muted">
                  No open lots.
                </td>
              </tr>
            ) : null}
          </tbody>
          {lots.length > 1 ? (
            <tfoot>
              <tr>
                <td colSpan={2} className="muted">
                  {lots.length} lots
                </td>
                <td className="r num" data-testid="lots-total">
                  {formatQty(total === null ? null : Math.abs(total))}
                </td>
                <td colSpan={2} />
                <td className="r">
                  <Money value={unrealized} pnl />
                </td>
                <td />
              </tr>
            </tfoot>
          ) : null}
        </table>
      </div>
      {agree === false ? (
        <p className="note warn small" role="status">
          The lots add up to {formatQty(total)}, the position says {formatQty(p.quantity)}.
        </p>
      ) : null}
    </div>
  );
}

export function Positions(props: { positions: Resource<Position[]> }) {
  const { data } = props.positions;
  const [open, toggle] = useToggleSet<string>();
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
      actions={rows.length > 0 ? <span className="muted small">click one for its lots</span> : undefined}
      testid="positions"
    >
      <ResourceNote resource={props.positions} what="positions" />
      {data && rows.length === 0 ? <p className="note muted">No open positions.</p> : null}
      <div className="table-scroll">
        <table className="grid" data-testid="positions-table" data-count={rows.length}>
          <thead>
            <tr>
              <th aria-label="Open" />
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
              const key = `${p.broker}:${p.symbol}`;
              const reconciledLots = p.lots?.filter((l) => l.reconciled).length ?? 0;
              return (
                <ExpandableRow
                  key={key}
                  open={open.has(key)}
                  onToggle={() => toggle(key)}
                  testid="position-row"
                  attributes={{ 'data-symbol': p.symbol, 'data-quantity': String(p.quantity), 'data-lots': p.lots?.length ?? '' }}
                  colSpan={COLUMNS}
                  detail={() => <PositionLots position={p} />}
                >
                  <td className="sym">
                    {p.symbol}
                    {manyBrokers ? <span className="muted small"> {p.broker}</span> : null}
                    {reconciledLots > 0 ? (
                      <>
                        {' '}
                        <ReconciledBadge what={`${reconciledLots} of its lots`} />
                      </>
                    ) : null}
                  </td>
                  <td>
                    <Dir value={q === null ? null : q > 0 ? 'LONG' : q < 0 ? 'SHORT' : 'FLAT'} />
                  </td>
                  <td className="r num" data-testid="position-qty">
                    {formatQty(q === null ? null : Math.abs(q))}
                  </td>
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
                </ExpandableRow>
              );
            })}
          </tbody>
          {rows.length > 0 ? (
            <tfoot>
              <tr>
                <td colSpan={4} className="muted">
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
