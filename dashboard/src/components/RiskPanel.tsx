import type { Account, BreakerKind, RiskState } from '../api/types';
import type { Resource } from '../hooks/useResource';
import { formatPct, num, parseTime } from '../lib/format';
import { CapBar } from './Exposure';
import { tradingTone } from './Header';
import { Badge, Card, CountOfMax, Money, ResourceNote, Time } from './ui';

const BREAKERS: { kind: BreakerKind; label: string; figure: 'daily_loss_pct' | 'weekly_loss_pct' | 'drawdown_pct'; limit: 'daily_loss_pct' | 'weekly_loss_pct' | 'max_drawdown_pct'; ref: 'day_start_equity' | 'week_start_equity' | 'high_water_mark'; refLabel: string }[] = [
  { kind: 'daily_loss', label: 'Daily loss', figure: 'daily_loss_pct', limit: 'daily_loss_pct', ref: 'day_start_equity', refLabel: 'day start' },
  { kind: 'weekly_loss', label: 'Weekly loss', figure: 'weekly_loss_pct', limit: 'weekly_loss_pct', ref: 'week_start_equity', refLabel: 'week start' },
  { kind: 'drawdown', label: 'Drawdown', figure: 'drawdown_pct', limit: 'max_drawdown_pct', ref: 'high_water_mark', refLabel: 'high-water mark' },
];

/** Loss from `reference` to `equity` in percent (0 for a gain). */
export function lossPct(reference: unknown, equity: unknown): number | null {
  const r = num(reference);
  const e = num(equity);
  if (r === null || e === null || r <= 0) return null;
  return Math.max(0, ((r - e) / r) * 100);
}

export function RiskPanel(props: { risk: Resource<RiskState>; account: Resource<Account>; engineTime: string | null }) {
  const r = props.risk.data;
  const limits = r?.limits;
  const figures = r?.figures ?? null;
  const equity = figures?.equity ?? props.account.data?.equity;
  const now = parseTime(props.engineTime);
  const cooldownEnd = parseTime(r?.cooldown_until);
  const cooling = figures?.in_cooldown ?? (cooldownEnd !== null && now !== null ? cooldownEnd > now : null);
  const breakers = r?.breakers ?? [];
  const pdt = limits?.pdt;

  return (
    <Card
      title="Risk"
      testid="risk-panel"
      actions={
        r ? (
          <Badge tone={tradingTone(r.trading_state)} testid="risk-trading-state">
              {r.trading_state ?? '—'}
            {r.halted_manually ? ' (paused by hand)' : ''}
          </Badge>
        ) : null
      }
    >
      <ResourceNote resource={props.risk} what="the risk state" />
      {r ? (
        <>
          {r.trading_state === undefined ? (
            <p className="note muted small">No risk state yet: the engine has not run its first minute.</p>
          ) : null}
          {!limits ? (
            <p className="note muted small" data-testid="risk-limits-na">
              Limits not available from this engine; measured figures are computed here from the account equity.
            </p>
          ) : null}
          <div className="table-scroll">
          <table className="grid risk-table" data-testid="breakers-table">
            <thead>
              <tr>
                <th>Breaker</th>
                <th className="r">Measured</th>
                <th className="r">Limit</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {BREAKERS.map((b) => {
                const trip = breakers.find((t) => t.kind === b.kind);
                const measured = figures ? num(figures[b.figure]) : lossPct(r[b.ref], equity);
                const limit = limits ? num(limits[b.limit]) : trip ? num(trip.limit_pct) : null;
                return (
                  <tr key={b.kind} data-testid={`breaker-${b.kind}`} data-tripped={trip ? 'true' : 'false'} className={trip ? 'row-bad' : ''}>
                    <td>
                      {b.label}
                      <div className="muted small">
                        from {b.refLabel} <Money value={r[b.ref]} />
                      </div>
                    </td>
                    <td className="r num" title={figures ? 'From the engine' : 'Computed from the account equity'}>
                      {formatPct(measured)}
                      <div className="mini">
                        <CapBar label="" pct={measured} cap={limit} scale={Math.max(limit ?? 0, measured ?? 0, 0.01) * 1.1} />
                      </div>
                    </td>
                    <td className="r num">{formatPct(limit)}</td>
                    <td className="state-cell">
                      {trip ? (
                        <span className="neg" title={`Tripped at ${formatPct(trip.measured_pct)} ≥ ${formatPct(trip.limit_pct)}`}>
                          <b>TRIPPED</b>
                          <div className="small">
                            <Time value={trip.at} />
                          </div>
                          <div className="small">
                            at {formatPct(trip.measured_pct)}, equity <Money value={trip.equity} />
                          </div>
                        </span>
                      ) : (
                        <span className="pos">ok</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          </div>
          <div className="risk-facts">
            <CountOfMax className="fact" testid="loss-streak" label="Loss streak" count={r.losses_in_a_row} max={limits?.max_consecutive_losses} overTone="neg">
              {limits ? `cooldown ${limits.cooldown_minutes} min after ${limits.max_consecutive_losses} losses` : 'losses in a row / max'}
            </CountOfMax>
            <div className="fact" data-testid="cooldown">
              <div className="stat-label">Cooldown until</div>
              <div className="stat-value">
                <Time value={r.cooldown_until} />
              </div>
              <div className="small">
                {!r.cooldown_until ? (
                  <span className="muted">none</span>
                ) : cooling === true ? (
                  <span className="warn-text">active{r.cooldown_after_losses ? ` (after ${r.cooldown_after_losses} losses)` : ''}</span>
                ) : cooling === false ? (
                  <span className="muted">ended</span>
                ) : (
                  <span className="muted">{r.cooldown_after_losses ? `after ${r.cooldown_after_losses} losses` : ''}</span>
                )}
              </div>
            </div>
            <CountOfMax className="fact" testid="pdt" label="Day trades (PDT)" count={figures?.day_trades_in_window} max={pdt?.max_day_trades} overTone="warn-text">
              {pdt ? (
                pdt.enforce ? (
                  <>
                    enforced below <Money value={pdt.min_equity} />
                  </>
                ) : (
                  'not enforced'
                )
              ) : (
                `${r.day_trades?.length ?? 0} recorded; window n/a`
              )}
            </CountOfMax>
          </div>
        </>
      ) : null}
    </Card>
  );
}
