import type { LiveData } from '../hooks/useLiveData';
import { DASH, formatNumber, formatPct, formatRatio, formatRatioPct, num } from '../lib/format';
import { Badge, Money, Stat, Time } from './ui';

/** Day P&L: the engine's own figure when it has one, else equity − day-start equity. */
export function dayPnl(data: Pick<LiveData, 'summary' | 'account' | 'risk'>): { value: number | null; source: string } {
  const fromSummary = num(data.summary.data?.day_pnl);
  if (fromSummary !== null) return { value: fromSummary, source: 'metrics/summary' };
  const equity = num(data.account.data?.equity);
  const start = num(data.risk.data?.day_start_equity);
  if (equity !== null && start !== null) return { value: equity - start, source: 'equity − day-start equity' };
  return { value: null, source: '' };
}

export function AccountSummary(props: { data: LiveData }) {
  const { status, account, summary, risk } = props.data;
  const a = account.data;
  const s = summary.data;
  const day = dayPnl(props.data);
  const dayStart = num(risk.data?.day_start_equity);
  const dayPct = day.value !== null && dayStart ? (day.value / dayStart) * 100 : null;
  const brokers = Object.entries(status.data?.brokers ?? {});
  return (
    <section className="summary" data-testid="account-summary">
      <Stat label="Equity" testid="equity" sub={a?.broker ? `at broker ${a.broker}` : null}>
        <Money value={a?.equity} />
      </Stat>
      <Stat
        label="Day P&L"
        testid="day-pnl"
        title={day.source ? `From ${day.source}` : undefined}
        sub={dayPct !== null ? <span className={dayPct >= 0 ? 'pos' : 'neg'}>{formatPct(dayPct, 2, { sign: true })} today</span> : null}
      >
        <Money value={day.value} pnl />
      </Stat>
      <Stat label="Cash" testid="cash">
        <Money value={a?.cash} />
      </Stat>
      <Stat label="Buying power" testid="buying-power">
        <Money value={a?.buying_power} />
      </Stat>
      <Stat label="Available margin" testid="available-margin">
        <Money value={a?.available_margin} />
      </Stat>
      <Stat
        label="Realized P&L"
        testid="realized-pnl"
        title={summary.notAvailable ? 'metrics/summary is not available on this engine' : undefined}
        sub={s ? <>fees <Money value={s.fees} /></> : null}
      >
        {summary.notAvailable ? <span className="muted">n/a</span> : <Money value={s?.realized_pnl} pnl />}
      </Stat>
      <Stat
        label="Win rate"
        testid="win-rate"
        sub={s ? `${formatNumber(s.wins, 0)} won / ${formatNumber(s.losses, 0)} lost · PF ${formatRatio(s.profit_factor)}` : null}
      >
        {summary.notAvailable ? <span className="muted">n/a</span> : formatRatioPct(s?.win_rate, 1)}
      </Stat>
      <Stat label="Max drawdown" testid="max-drawdown" title="Deepest fall from a peak of the equity snapshots" sub={s ? 'from the snapshots' : null}>
        {summary.notAvailable ? <span className="muted">n/a</span> : formatPct(s?.max_drawdown_pct)}
      </Stat>
      <Stat label="Broker · database" testid="broker-status">
        <span className="badges">
          {brokers.length === 0 ? (
            <Badge>broker {DASH}</Badge>
          ) : (
            brokers.map(([name, state]) => (
              <Badge key={name} tone={state === 'connected' ? 'ok' : 'bad'} title={`Broker ${name}: ${state}`}>
                {name} {state === 'connected' ? '✓' : state}
              </Badge>
            ))
          )}
          <Badge
            tone={status.data?.database === 'connected' ? 'ok' : status.data ? 'bad' : 'muted'}
            testid="database-status"
            title={`Database: ${status.data?.database ?? 'unknown'}`}
          >
            db {status.data?.database === 'connected' ? '✓' : (status.data?.database ?? DASH)}
          </Badge>
        </span>
      </Stat>
      <Stat label="Last signal" testid="last-signal">
        <Time value={status.data?.lastSignalTime} />
      </Stat>
    </section>
  );
}
