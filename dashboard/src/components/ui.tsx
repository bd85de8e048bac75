// Small building blocks shared by the sections.

import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';
import { DASH, formatLocalTime, formatMoney, formatUtc, signOf } from '../lib/format';

/** Money, optionally coloured as P&L (green gain, red loss). */
export function Money(props: { value: unknown; pnl?: boolean; testid?: string; className?: string }) {
  const sign = props.pnl ? signOf(props.value) : 0;
  const cls = [sign > 0 ? 'pos' : sign < 0 ? 'neg' : '', 'num', props.className ?? ''].join(' ').trim();
  return (
    <span className={cls} data-testid={props.testid}>
      {formatMoney(props.value, { sign: props.pnl })}
    </span>
  );
}

/** A time in the user's zone, with the UTC instant as its tooltip. */
export function Time(props: { value: unknown; seconds?: boolean; testid?: string }) {
  const text = formatLocalTime(props.value, { seconds: props.seconds });
  if (text === DASH) return <span data-testid={props.testid}>{DASH}</span>;
  return (
    <time dateTime={String(props.value)} title={formatUtc(props.value)} data-testid={props.testid}>
      {text}
    </time>
  );
}

export function Card(props: {
  title: ReactNode;
  testid?: string;
  actions?: ReactNode;
  className?: string;
  children: ReactNode;
  id?: string;
}) {
  return (
    <section className={`card ${props.className ?? ''}`} data-testid={props.testid} id={props.id}>
      <header className="card-head">
        <h2>{props.title}</h2>
        {props.actions ? <div className="card-actions">{props.actions}</div> : null}
      </header>
      <div className="card-body">{props.children}</div>
    </section>
  );
}

/** What a section shows instead of (or beside) its data: loading, not available, an error. */
export function ResourceNote(props: {
  loading?: boolean;
  notAvailable?: boolean;
  error?: ApiError | null;
  hasData?: boolean;
  what?: string;
}) {
  if (props.notAvailable) {
    return (
      <p className="note muted" data-testid="not-available">
        Not available: this engine does not serve {props.what ?? 'this'} yet.
      </p>
    );
  }
  if (props.error && props.hasData && props.error.status === 0) {
    // the engine is unreachable: the page's banner says so once
    return <p className="note-inline muted small">Stale: the engine is not answering.</p>;
  }
  if (props.error) {
    return (
      <p className={`note ${props.hasData ? 'warn' : 'err'}`} role="status">
        {props.hasData ? 'Showing the last data; refresh failed: ' : 'Could not load: '}
        {props.error.message}
      </p>
    );
  }
  if (props.loading) return <p className="note muted">Loading…</p>;
  return null;
}

export function Badge(props: { tone?: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ReactNode; testid?: string; title?: string }) {
  return (
    <span className={`badge ${props.tone ?? 'muted'}`} data-testid={props.testid} title={props.title}>
      {props.children}
    </span>
  );
}

export function Pager(props: {
  pageIndex: number;
  hasOlder: boolean;
  onNewer: () => void;
  onOlder: () => void;
  onNewest: () => void;
  testid?: string;
  label?: string;
}) {
  return (
    <div className="pager" data-testid={props.testid}>
      <button type="button" onClick={props.onNewest} disabled={props.pageIndex === 0}>
        ⇤ Newest
      </button>
      <button type="button" onClick={props.onNewer} disabled={props.pageIndex === 0}>
        ‹ Newer
      </button>
      <span className="muted">
        {props.label ?? 'Page'} {props.pageIndex + 1}
      </span>
      <button type="button" onClick={props.onOlder} disabled={!props.hasOlder} data-testid={props.testid ? `${props.testid}-older` : undefined}>
        Older ›
      </button>
    </div>
  );
}

/** A label and its value, for the summary strips. */
export function Stat(props: { label: ReactNode; children: ReactNode; sub?: ReactNode; testid?: string; title?: string; className?: string }) {
  return (
    <div className={`stat ${props.className ?? ''}`} title={props.title}>
      <div className="stat-label">{props.label}</div>
      <div className="stat-value" data-testid={props.testid}>
        {props.children}
      </div>
      {props.sub ? <div className="stat-sub muted small">{props.sub}</div> : null}
    </div>
  );
}

/** Direction or side, coloured. */
export function Dir(props: { value: string | null | undefined }) {
  const v = (props.value ?? '').toUpperCase();
  const tone = v === 'LONG' || v === 'BUY' ? 'pos' : v === 'SHORT' || v === 'SELL' ? 'neg' : 'muted';
  return <span className={`dir ${tone}`}>{v || DASH}</span>;
}

/** A value or a dash. */
export function orDash(value: unknown): string {
  if (value === null || value === undefined || value === '') return DASH;
  if (typeof value === 'number' && !Number.isFinite(value)) return DASH;
  return String(value);
}
