import type { Exposure as ExposureData, ExposureLine } from '../api/types';
import type { Resource } from '../hooks/useResource';
import { formatPct, num } from '../lib/format';
import { Card, CountOfMax, Money, ResourceNote } from './ui';

/** How full a measure is against its cap: ok below 75 %, warn below 100 %, bad at or over. */
export function capTone(pct: number | null, cap: number | null): 'ok' | 'warn' | 'bad' | 'none' {
  if (pct === null || cap === null || cap <= 0) return 'none';
  const used = pct / cap;
  if (used >= 1) return 'bad';
  if (used >= 0.75) return 'warn';
  return 'ok';
}

/** A horizontal bar of `pct` (percent of equity) with a marker at its cap. */
export function CapBar(props: { label: string; pct: unknown; cap?: unknown; notional?: unknown; scale: number; testid?: string }) {
  const pct = num(props.pct);
  const cap = num(props.cap);
  const tone = capTone(pct, cap);
  const width = pct === null ? 0 : Math.min(100, (Math.abs(pct) / props.scale) * 100);
  const capAt = cap === null ? null : Math.min(100, (cap / props.scale) * 100);
  const title = `${props.label}: ${formatPct(pct, 1)} of equity${cap !== null ? ` (cap ${formatPct(cap, 0)})` : ' (no cap)'}`;
  return (
    <div className="capbar" data-testid={props.testid} data-name={props.label} title={title}>
      {props.label === '' ? null : <div className="capbar-label">
        <span className="capbar-name">{props.label}</span>
        <span className="num">
          {formatPct(pct, 1)}
          <span className="muted">{cap !== null ? ` / ${formatPct(cap, 0)}` : ''}</span>
          {props.notional !== undefined ? (
            <span className="muted small">
              {' '}
              <Money value={props.notional} />
            </span>
          ) : null}
        </span>
      </div>}
      <div className="capbar-track">
        <div className={`capbar-fill tone-${tone}`} style={{ width: `${width}%` }} />
        {capAt !== null ? <div className="capbar-cap" style={{ left: `${capAt}%` }} aria-hidden="true" /> : null}
      </div>
    </div>
  );
}

function scaleFor(lines: { pct?: unknown; cap_pct?: unknown }[]): number {
  let max = 0;
  for (const l of lines) {
    max = Math.max(max, Math.abs(num(l.pct) ?? 0), num(l.cap_pct) ?? 0);
  }
  return max > 0 ? max * 1.08 : 100;
}

function Group(props: { title: string; lines: ExposureLine[]; testid: string }) {
  const scale = scaleFor(props.lines);
  return (
    <div className="exposure-group" data-testid={props.testid}>
      <h3>{props.title}</h3>
      {props.lines.length === 0 ? <p className="note muted">None</p> : null}
      {props.lines.map((l) => (
        <CapBar key={l.name} label={l.name} pct={l.pct} cap={l.cap_pct ?? null} notional={l.notional} scale={scale} testid="exposure-bar" />
      ))}
    </div>
  );
}

export function Exposure(props: { exposure: Resource<ExposureData> }) {
  const { data } = props.exposure;
  return (
    <Card title="Exposure" testid="exposure">
      <ResourceNote resource={props.exposure} what="exposure (GET /api/risk/exposure)" />
      {data ? (
        <>
          <div className="exposure-head">
            <div className="exposure-gross" data-testid="exposure-gross">
              <CapBar
                label="Gross"
                pct={data.gross.pct}
                cap={data.gross.cap_pct}
                notional={data.gross.notional}
                scale={scaleFor([data.gross])}
              />
            </div>
            <CountOfMax
              className="exposure-count"
              testid="open-positions-count"
              label="Open positions"
              count={data.open_positions.count}
              max={data.open_positions.max}
              overTone="warn-text"
            >
              of equity <Money value={data.equity} />
            </CountOfMax>
          </div>
          <div className="exposure-groups">
            <Group title="By asset class" lines={data.by_asset_class} testid="exposure-by-class" />
            <Group title="By correlation group" lines={data.by_group} testid="exposure-by-group" />
            <Group title="By symbol" lines={data.by_symbol} testid="exposure-by-symbol" />
          </div>
          <p className="muted small legend">
            Bars: notional as % of equity; the white tick is the cap. Amber from 75 % of a cap, red at it.
          </p>
        </>
      ) : null}
    </Card>
  );
}
