import { useEffect, useState } from 'react';
import { AccountSummary } from '../components/AccountSummary';
import { Audit } from '../components/Audit';
import { Backtests } from '../components/Backtests';
import { Controls } from '../components/Controls';
import { Daily } from '../components/Daily';
import { EquityChart } from '../components/EquityChart';
import { Exposure } from '../components/Exposure';
import { Header } from '../components/Header';
import { Positions } from '../components/Positions';
import { RiskPanel } from '../components/RiskPanel';
import { Signals } from '../components/Signals';
import { Trades } from '../components/Trades';
import { Card, ResourceNote } from '../components/ui';
import { useSession } from '../hooks/session';
import { EQUITY_LIMIT, useLiveData } from '../hooks/useLiveData';

const TABS = [
  { id: 'trades', label: 'Trades' },
  { id: 'signals', label: 'Signals' },
  { id: 'audit', label: 'Audit log' },
  { id: 'backtests', label: 'Backtests' },
  { id: 'daily', label: 'Daily' },
] as const;
type TabId = (typeof TABS)[number]['id'];

function tabFromHash(): TabId {
  const h = window.location.hash.replace(/^#/, '');
  return (TABS.find((t) => t.id === h)?.id ?? 'trades') as TabId;
}

export function Dashboard(props: { onLogout: () => void }) {
  const data = useLiveData();
  const { engineTime, stream, reconnectStream } = useSession();
  // The engine answers again while the stream waits out its backoff: reconnect now.
  const statusOk = data.status.updatedAt;
  useEffect(() => {
    if (statusOk && (stream.state === 'reconnecting' || stream.state === 'unavailable')) reconnectStream();
  }, [statusOk]);
  const [tab, setTab] = useState<TabId>(tabFromHash);
  useEffect(() => {
    const onHash = () => setTab(tabFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const choose = (id: TabId) => {
    setTab(id);
    history.replaceState(null, '', `#${id}`);
  };

  const statusError = data.status.error && data.status.error.status !== 401 ? data.status.error.message : null;
  const eq = data.equity;
  return (
    <div className="app">
      <Header status={data.status.data} onLogout={props.onLogout} statusError={statusError} />
      <main className="content">
        <div className="row-top">
          <AccountSummary data={data} />
          <Controls status={data.status.data} risk={data.risk.data} positions={data.positions.data} onDone={data.reloadAll} />
        </div>
        <div className="grid-main">
          <Card
            title="Equity & drawdown"
            testid="equity-card"
            className="span-chart"
            actions={<span className="muted small">hourly snapshots (last {EQUITY_LIMIT}) + live</span>}
          >
            <ResourceNote resource={eq.resource} what="equity snapshots" />
            <EquityChart points={eq.points} testid="equity-chart" height={320} />
          </Card>
          <RiskPanel risk={data.risk} account={data.account} engineTime={engineTime} />
          <Positions positions={data.positions} />
          <Exposure exposure={data.exposure} />
        </div>
        <section className="card tabs-card">
          <nav className="tabs" role="tablist">
            {TABS.map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                aria-selected={tab === t.id}
                className={tab === t.id ? 'active' : ''}
                onClick={() => choose(t.id)}
                data-testid={`tab-${t.id}`}
              >
                {t.label}
              </button>
            ))}
          </nav>
          <div className="card-body">
            {tab === 'trades' ? <Trades /> : null}
            {tab === 'signals' ? <Signals /> : null}
            {tab === 'audit' ? <Audit /> : null}
            {tab === 'backtests' ? <Backtests /> : null}
            {tab === 'daily' ? <Daily /> : null}
          </div>
        </section>
        <footer className="muted small footer">
          NOISE {data.status.data?.version ? `v${data.status.data.version}` : ''} · API at {window.location.origin}/api · decimals shown rounded for
          display
        </footer>
      </main>
    </div>
  );
}
