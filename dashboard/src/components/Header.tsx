import { useEffect, useState } from 'react';
import type { StreamState } from '../api/sse';
import type { Status } from '../api/types';
import { useSession } from '../hooks/session';
import { localZone } from '../lib/format';
import { MismatchAlerts } from './MismatchAlerts';
import { Badge, Time } from './ui';

function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

export function LiveIndicator(props: { stream: StreamState; onRetry?: () => void }) {
  const now = useNow(1000);
  const s = props.stream;
  let text: string;
  let title: string;
  switch (s.state) {
    case 'live':
      text = 'Live';
      title = 'Receiving the engine’s events as they happen';
      break;
    case 'connecting':
      text = s.attempt > 0 ? 'Reconnecting…' : 'Connecting…';
      title = 'Opening the event stream';
      break;
    case 'reconnecting': {
      const secs = Math.max(0, Math.ceil((s.retryAt - now) / 1000));
      text = `Reconnecting in ${secs}s`;
      title = `The event stream dropped (${s.reason}); data is polled meanwhile`;
      break;
    }
    case 'unavailable': {
      const secs = Math.max(0, Math.ceil((s.retryAt - now) / 1000));
      text = `No stream (retry ${secs}s)`;
      title = `The engine serves no event stream: ${s.reason}`;
      break;
    }
    default:
      text = 'Offline';
      title = 'The event stream is stopped';
  }
  const waiting = s.state === 'reconnecting' || s.state === 'unavailable';
  return (
    <span className={`live live-${s.state}`} data-testid="live-indicator" data-state={s.state} title={title}>
      <i className="dot" aria-hidden="true" />
      {text}
      {waiting && props.onRetry ? (
        <button type="button" className="linkish small" onClick={props.onRetry}>
          retry now
        </button>
      ) : null}
    </span>
  );
}

export function tradingTone(state: string | null | undefined): 'ok' | 'warn' | 'bad' | 'muted' {
  if (state === 'ACTIVE') return 'ok';
  if (state === 'REDUCING') return 'warn';
  if (state === 'HALTED') return 'bad';
  return 'muted';
}

export function Header(props: { status: Status | undefined; onLogout: () => void; statusError?: string | null }) {
  const { stream, engineTime, reconnectStream } = useSession();
  const st = props.status;
  const live = st?.mode === 'live';
  return (
    <>
      <header className="topbar">
        <div className="brand">
          NOISE <span className="muted small">{st?.version ? `v${st.version}` : ''}</span>
        </div>
        <div className="topbar-items">
          <span
            className={`mode ${live ? 'mode-live' : 'mode-paper'}`}
            data-testid="mode"
            title={live ? 'Live trading: orders use real money' : 'Paper trading: simulated money'}
          >
            {st?.mode ? st.mode.toUpperCase() : '—'}
          </span>
          <Badge tone={tradingTone(st?.tradingState)} testid="trading-state" title="Trading state">
            {st?.tradingState ?? '—'}
          </Badge>
          <Badge tone={st?.circuitBreaker === 'on' ? 'bad' : st?.circuitBreaker === 'off' ? 'ok' : 'muted'} testid="breaker" title="Circuit breaker">
            Breaker {st?.circuitBreaker === 'on' ? 'TRIPPED' : st?.circuitBreaker === 'off' ? 'off' : '—'}
          </Badge>
          <LiveIndicator stream={stream} onRetry={reconnectStream} />
          <span className="muted small engine-time" title="The engine’s clock as of its latest event (simulated in the sim)">
            Engine time <Time value={engineTime} />
          </span>
          <button type="button" className="ghost" onClick={props.onLogout} data-testid="logout">
            Log out
          </button>
        </div>
      </header>
      {live ? (
        <div className="live-banner" role="alert" data-testid="live-banner">
          LIVE TRADING — orders use real money
        </div>
      ) : null}
      {props.statusError ? (
        <div className="conn-banner" role="status" data-testid="status-error">
          Engine not answering: {props.statusError}
        </div>
      ) : null}
      <MismatchAlerts />
      <div className="tz-note muted small">Times in your time zone ({localZone()}); hover one for its UTC instant.</div>
    </>
  );
}
