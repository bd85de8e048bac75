import { useSession } from '../hooks/session';
import { useResource } from '../hooks/useResource';
import { useEventTrigger } from '../hooks/useStream';
import { formatNumber, formatRatioPct, num } from '../lib/format';
import { EmptyRow, Money, ResourceNote } from './ui';

export function Daily() {
  const { client } = useSession();
  const trigger = useEventTrigger(['daily'], 1000);
  const daily = useResource('daily', (s) => client.daily(90, s), { trigger, pollMs: 60000 });
  const rows = daily.data ?? [];
  return (
    <div className="tab-panel" data-testid="daily">
      <p className="muted small">End-of-day metrics, the latest first (written at each session close).</p>
      <ResourceNote resource={daily} what="daily metrics" />
      <div className="table-scroll">
        <table className="grid" data-testid="daily-table">
          <thead>
            <tr>
              <th>Date</th>
              <th className="r">Start equity</th>
              <th className="r">End equity</th>
              <th className="r">Change</th>
              <th className="r">Realized P&L</th>
              <th className="r">Trades</th>
              <th className="r">Won / lost</th>
              <th className="r">Win rate</th>
              <th className="r">Fees</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => {
              const start = num(d.starting_equity);
              const end = num(d.ending_equity);
              const change = start !== null && end !== null && start > 0 ? end / start - 1 : null;
              return (
                <tr key={d.date} data-testid="daily-row">
                  <td>{d.date}</td>
                  <td className="r">
                    <Money value={d.starting_equity} />
                  </td>
                  <td className="r">
                    <Money value={d.ending_equity} />
                  </td>
                  <td className={`r num ${change === null ? '' : change >= 0 ? 'pos' : 'neg'}`}>{formatRatioPct(change, 2, { sign: true })}</td>
                  <td className="r">
                    <Money value={d.realized_pnl} pnl />
                  </td>
                  <td className="r num">{formatNumber(d.trades, 0)}</td>
                  <td className="r num">
                    {formatNumber(d.wins, 0)} / {formatNumber(d.losses, 0)}
                  </td>
                  <td className="r num">{formatRatioPct(d.trades > 0 ? d.wins / d.trades : null, 1)}</td>
                  <td className="r">
                    <Money value={d.fees} className="muted" />
                  </td>
                </tr>
              );
            })}
            <EmptyRow shown={!!daily.data && rows.length === 0} colSpan={9}>
              No trading day has closed yet.
            </EmptyRow>
          </tbody>
        </table>
      </div>
    </div>
  );
}
