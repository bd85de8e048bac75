// Small building blocks shared by the sections.

import { Fragment, type ReactNode } from 'react';
import type { CursorPages } from '../hooks/useCursorPages';
import type { Resource } from '../hooks/useResource';
import { DASH, formatLocalTime, formatMoney, formatUtc, signOf } from '../lib/format';
import { shortId } from '../lib/ledger';

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
export function ResourceNote(props: { resource: Pick<Resource<unknown>, 'data' | 'error' | 'loading' | 'notAvailable'>; what?: string }) {
  const { error, loading, notAvailable } = props.resource;
  const hasData = !!props.resource.data;
  if (notAvailable) {
    return (
      <p className="note muted" data-testid="not-available">
        Not available: this engine does not serve {props.what ?? 'this'} yet.
      </p>
    );
  }
  if (error && hasData && error.status === 0) {
    // the engine is unreachable: the page's banner says so once
    return <p className="note-inline muted small">Stale: the engine is not answering.</p>;
  }
  if (error) {
    return (
      <p className={`note ${hasData ? 'warn' : 'err'}`} role="status">
        {hasData ? 'Showing the last data; refresh failed: ' : 'Could not load: '}
        {error.message}
      </p>
    );
  }
  if (loading) return <p className="note muted">Loading…</p>;
  return null;
}

export function Badge(props: { tone?: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ReactNode; testid?: string; title?: string }) {
  return (
    <span className={`badge ${props.tone ?? 'muted'}`} data-testid={props.testid} title={props.title}>
      {props.children}
    </span>
  );
}

/** The small badge of a fill or round trip booked by reconciliation. */
export function ReconciledBadge(props: { testid?: string; what?: string }) {
  return (
    <Badge
      tone="warn"
      testid={props.testid}
      title={`Booked by reconciliation to make the ledger agree with the broker, not reported as an execution${props.what ? ` (${props.what})` : ''}`}
    >
      reconciled
    </Badge>
  );
}

/** An id in monospace, shortened, the whole id as its tooltip. */
export function Id(props: { value: string | null | undefined; testid?: string }) {
  if (!props.value) return <span className="muted">{DASH}</span>;
  return (
    <code className="id" title={props.value} data-testid={props.testid}>
      {shortId(props.value)}
    </code>
  );
}

/** Newest / Newer / Older buttons for a list paged with useCursorPages. */
export function Pager(props: {
  pages: Pick<CursorPages<unknown>, 'pageIndex' | 'hasOlder' | 'newer' | 'older' | 'newest'>;
  testid?: string;
  label?: string;
}) {
  const { pageIndex, hasOlder, newer, older, newest } = props.pages;
  return (
    <div className="pager" data-testid={props.testid}>
      <button type="button" onClick={newest} disabled={pageIndex === 0}>
        ⇤ Newest
      </button>
      <button type="button" onClick={newer} disabled={pageIndex === 0}>
        ‹ Newer
      </button>
      <span className="muted">
        {props.label ?? 'Page'} {pageIndex + 1}
      </span>
      <button type="button" onClick={older} disabled={!hasOlder} data-testid={props.testid ? `${props.testid}-older` : undefined}>
        Older ›
      </button>
    </div>
  );
}

/** A link back to the newest page, shown once live updates arrived while an older page was shown. */
export function MissedUpdatesLink(props: { pages: Pick<CursorPages<unknown>, 'missedUpdates' | 'newest'>; what: string }) {
  if (!props.pages.missedUpdates) return null;
  return (
    <button type="button" className="linkish" onClick={props.pages.newest}>
      New {props.what} arrived — show newest
    </button>
  );
}

/** The one row of a table whose data came back empty. */
export function EmptyRow(props: { shown: boolean; colSpan: number; children: ReactNode }) {
  if (!props.shown) return null;
  return (
    <tr>
      <td colSpan={props.colSpan} className="muted">
        {props.children}
      </td>
    </tr>
  );
}

/**
 * A clickable table row with a ▸/▾ first cell that opens a detail row below it
 * (spanning `colSpan` columns); `detail` is only called while open. The row
 * takes the focus (Tab) and opens with Enter or Space too.
 */
export function ExpandableRow(props: {
  open: boolean;
  onToggle: () => void;
  fresh?: boolean;
  testid: string;
  attributes?: Record<`data-${string}`, string | number>;
  colSpan: number;
  detail: () => ReactNode;
  children: ReactNode;
}) {
  return (
    <Fragment>
      <tr
        data-testid={props.testid}
        {...props.attributes}
        className={`clickable ${props.fresh ? 'fresh' : ''} ${props.open ? 'open' : ''}`}
        onClick={props.onToggle}
        onKeyDown={(e) => {
          if (e.target !== e.currentTarget || (e.key !== 'Enter' && e.key !== ' ')) return;
          e.preventDefault();
          props.onToggle();
        }}
        tabIndex={0}
        aria-expanded={props.open}
      >
        <td className="muted">{props.open ? '▾' : '▸'}</td>
        {props.children}
      </tr>
      {props.open ? (
        <tr className="detail-row">
          <td colSpan={props.colSpan}>{props.detail()}</td>
        </tr>
      ) : null}
    </Fragment>
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

/** A count against its maximum ("3 / 5"), in `overTone` once it reaches the maximum. */
export function CountOfMax(props: {
  label: ReactNode;
  count: number | null | undefined;
  max: number | null | undefined;
  overTone: 'neg' | 'warn-text';
  testid: string;
  className: string;
  children: ReactNode;
}) {
  const { count, max } = props;
  const over = count !== null && count !== undefined && max !== null && max !== undefined && count >= max;
  return (
    <div className={props.className} data-testid={props.testid}>
      <div className="stat-label">{props.label}</div>
      <div className={`stat-value ${over ? props.overTone : ''}`}>
        {count ?? DASH} <span className="muted">/ {max ?? DASH}</span>
      </div>
      <div className="muted small">{props.children}</div>
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
