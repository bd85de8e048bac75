// `position_mismatch` events: reconciliation found the ledger and the broker
// disagreeing on a position and booked fills so they agree again. Shown as a
// dismissible banner under the top bar, newest first (the latest few); the
// audit log keeps every one (event type `position_mismatch`).

import { useRef, useState } from 'react';
import { useStreamEvent } from '../hooks/useStream';
import { describeBooked, describeHolding, parseMismatch, sameMismatch, type MismatchAlert } from '../lib/ledger';
import { Time } from './ui';

const KEEP = 5;

export function MismatchAlerts() {
  const [alerts, setAlerts] = useState<(MismatchAlert & { key: number })[]>([]);
  const next = useRef(0);
  useStreamEvent(['position_mismatch'], (event) => {
    const alert = parseMismatch(event);
    if (!alert) return;
    next.current += 1;
    const key = next.current;
    setAlerts((list) => (list.some((a) => sameMismatch(a, alert)) ? list : [{ ...alert, key }, ...list].slice(0, KEEP)));
  });
  if (alerts.length === 0) return null;
  const dismiss = (key: number) => setAlerts((list) => list.filter((a) => a.key !== key));
  return (
    <div className="alert-banner" role="alert" data-testid="mismatch-alerts" data-count={alerts.length}>
      <div className="alert-head">
        <b>Position mismatch</b>
        <span className="small">reconciliation booked fills so the ledger agrees with the broker</span>
        {alerts.length > 1 ? (
          <button type="button" className="linkish small" onClick={() => setAlerts([])} data-testid="mismatch-dismiss-all">
            dismiss all
          </button>
        ) : null}
      </div>
      <ul>
        {alerts.map((a) => (
          <li key={a.key} data-testid="mismatch-alert" data-symbol={a.symbol}>
            <span className="alert-text">
              <span className="small">
                <Time value={a.time} seconds />
              </span>{' '}
              <b>{a.symbol}</b>: ledger {describeHolding(a.ledger)}, broker {describeHolding(a.broker)}; booked {describeBooked(a.booked)}
            </span>
            <button type="button" className="alert-close" aria-label={`Dismiss the ${a.symbol} mismatch`} title="Dismiss" onClick={() => dismiss(a.key)}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
