// An opened round trip in the Trades tab: its P&L (gross − fees = net) and
// the fills behind it, from GET /api/trades/{id} (fetched once per id).

import type { Trade, TradeFill } from '../api/types';
import { useTradeDetail } from '../hooks/useTradeDetail';
import { formatMoney, formatPrice, formatQty } from '../lib/format';
import { fillRoles, pnlDiscrepancy } from '../lib/ledger';
import { Badge, Dir, Id, Money, ReconciledBadge, ResourceNote, Time, orDash } from './ui';

function RoleBadge(props: { role: TradeFill['role'] }) {
  if (props.role === 'entry') return <Badge tone="info" title="This round trip took its entry units from this fill">entry</Badge>;
  if (props.role === 'exit') return <Badge tone="info" title="This round trip took its exit units from this fill">exit</Badge>;
  return (
    <span className="muted small" title="Another partial fill of the same entry or exit order">
      part
    </span>
  );
}

/** `gross − fees = net`, each with its exact decimal in `data-value` (for tests). */
function PnlStrip(props: { trade: Trade }) {
  const t = props.trade;
  const gap = pnlDiscrepancy(t.gross_pnl, t.fees, t.net_pnl);
  return (
    <div className="pnl-strip" data-testid="trade-pnl-strip">
      <span className="pnl-part">
        <span className="muted small">Gross</span>{' '}
        <span data-testid="trade-gross" data-value={String(t.gross_pnl ?? '')}>
          <Money value={t.gross_pnl} pnl />
        </span>
      </span>
      <span className="muted">−</span>
      <span className="pnl-part">
        <span className="muted small">Fees</span>{' '}
        <span data-testid="trade-fees" data-value={String(t.fees ?? '')}>
          <Money value={t.fees} />
        </span>
      </span>
      <span className="muted">=</span>
      <span className="pnl-part">
        <span className="muted small">Net</span>{' '}
        <b data-testid="trade-net" data-value={String(t.net_pnl ?? '')}>
          <Money value={t.net_pnl} pnl />
        </b>
      </span>
      {gap !== null && gap !== 0 ? (
        <span className="warn-text small" role="status">
          (does not add up: off by {formatMoney(gap, { sign: true })})
        </span>
      ) : null}
    </div>
  );
}

export function TradeFills(props: { trade: Trade }) {
  const t = props.trade;
  const detail = useTradeDetail(t.id);
  const fills = detail.data?.fills ?? [];
  const roles = fillRoles(fills);
  return (
    <div className="trade-detail" data-testid="trade-detail" data-trade-id={t.id}>
      <PnlStrip trade={t} />
      <p className="muted small trade-facts">
        {orDash(t.broker)} · {orDash(t.asset_class)} · entry order <Id value={t.entry_order} /> → exit order <Id value={t.exit_order} />
        {t.reconciled ? (
          <>
            {' '}
            · <ReconciledBadge what="a side of this round trip" /> its price is the broker’s or the market’s, not an execution’s
          </>
        ) : null}
      </p>
      <ResourceNote resource={detail} what="the fills of a round trip" />
      {detail.error ? (
        <button type="button" className="small" onClick={detail.retry} data-testid="trade-fills-retry">
          Retry
        </button>
      ) : null}
      {detail.data ? (
        <>
          <div className="table-scroll">
            <table className="grid inner" data-testid="trade-fills" data-count={fills.length}>
              <thead>
                <tr>
                  <th>Role</th>
                  <th>Time</th>
                  <th>Side</th>
                  <th className="r">Qty</th>
                  <th className="r">Price</th>
                  <th className="r">Fee</th>
                  <th>Fill id</th>
                  <th>Order</th>
                </tr>
              </thead>
              <tbody>
                {fills.map((f) => (
                  <tr
                    key={f.id}
                    data-testid="trade-fill-row"
                    data-role={f.role ?? ''}
                    data-reconciled={f.reconciled ? 'true' : 'false'}
                    data-fill-id={f.fill_id}
                    className={f.role ? 'fill-used' : 'fill-other'}
                  >
                    <td>
                      <RoleBadge role={f.role} />
                    </td>
                    <td className="small">
                      <Time value={f.time} seconds />
                    </td>
                    <td>
                      <Dir value={f.side} />
                    </td>
                    <td className="r num">{formatQty(f.quantity)}</td>
                    <td className="r num">{formatPrice(f.price)}</td>
                    <td className="r">
                      <Money value={f.fee} className="muted" />
                    </td>
                    <td>
                      <Id value={f.fill_id} />
                      {f.reconciled ? (
                        <>
                          {' '}
                          <ReconciledBadge testid="fill-reconciled" />
                        </>
                      ) : null}
                    </td>
                    <td>
                      {f.client_order_id ? <Id value={f.client_order_id} /> : <span className="muted small">none (reconciliation)</span>}
                      {f.protects ? (
                        <span className="muted small">
                          {' '}
                          protects <Id value={f.protects} />
                        </span>
                      ) : null}
                    </td>
                  </tr>
                ))}
                {fills.length === 0 ? (
                  <tr>
                    <td colSpan={8} className="muted">
                      The engine lists no fills for this round trip.
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </div>
          {fills.length > 0 && (!roles.entry || !roles.exit) ? (
            <p className="note warn small">
              The {!roles.entry ? 'entry' : 'exit'} fill of this round trip is not among its orders’ fills.
            </p>
          ) : null}
          {roles.others > 0 ? (
            <p className="muted small">
              “entry” and “exit” mark the fills this round trip took its units from; the {roles.others === 1 ? 'other row is another part' : `other ${roles.others} rows are other parts`} of the same orders.
            </p>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
