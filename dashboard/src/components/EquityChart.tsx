// Equity and drawdown (from the running peak) on one time axis, in two panes.

import { useEffect, useMemo, useRef } from 'react';
import {
  AreaSeries,
  BaselineSeries,
  ColorType,
  createChart,
  CrosshairMode,
  TickMarkType,
  type IChartApi,
  type ISeriesApi,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { formatLocalTime, formatMoney, num } from '../lib/format';

export interface CurvePoint {
  /** Epoch ms. */
  t: number;
  equity: number;
}

/** Points sorted by time, one per second (the last wins), non-finite ones dropped. */
export function cleanCurve(points: readonly { time: unknown; equity: unknown }[]): CurvePoint[] {
  const bySecond = new Map<number, number>();
  for (const p of points) {
    const t = typeof p.time === 'string' ? Date.parse(p.time) : NaN;
    const equity = num(p.equity);
    if (!Number.isFinite(t) || equity === null) continue;
    bySecond.set(Math.floor(t / 1000), equity);
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([s, equity]) => ({ t: s * 1000, equity }));
}

/** Drawdown in percent (≤ 0) of each point from the highest equity before it. */
export function drawdowns(points: readonly CurvePoint[]): number[] {
  let peak = -Infinity;
  return points.map((p) => {
    peak = Math.max(peak, p.equity);
    return peak > 0 ? (p.equity / peak - 1) * 100 : 0;
  });
}

/** Axis money: whole dollars when the curve spans $100 or more, else cents. */
function axisMoney(v: number, span: number): string {
  if (!Number.isFinite(v)) return '';
  if (span < 100) return formatMoney(v);
  const sign = v < 0 ? '-' : '';
  return `${sign}$${Math.round(Math.abs(v)).toLocaleString('en-US')}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Axis labels in the user's local time (the chart itself works in UTC seconds). */
function tickMark(time: Time, type: TickMarkType): string {
  if (typeof time !== 'number') return String(time);
  const d = new Date(time * 1000);
  switch (type) {
    case TickMarkType.Year:
      return String(d.getFullYear());
    case TickMarkType.Month:
      return MONTHS[d.getMonth()] ?? '';
    case TickMarkType.DayOfMonth:
      return `${MONTHS[d.getMonth()]} ${d.getDate()}`;
    case TickMarkType.TimeWithSeconds:
      return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    default:
      return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
}

export function EquityChart(props: {
  points: readonly CurvePoint[];
  testid: string;
  height?: number;
  /** Changing it refits the view to the whole curve. */
  fitKey?: string | number;
}) {
  const { points, testid, height = 300, fitKey } = props;
  const box = useRef<HTMLDivElement | null>(null);
  const chart = useRef<IChartApi | null>(null);
  const equitySeries = useRef<ISeriesApi<'Area'> | null>(null);
  const ddSeries = useRef<ISeriesApi<'Baseline'> | null>(null);
  const fitted = useRef<string | number | undefined>(undefined);
  const span = useRef(0);
  span.current = points.length ? Math.max(...points.map((p) => p.equity)) - Math.min(...points.map((p) => p.equity)) : 0;
  const dd = useMemo(() => drawdowns(points), [points]);
  const maxDd = dd.length ? Math.min(...dd) : null;

  useEffect(() => {
    if (!box.current) return;
    const c = createChart(box.current, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: '#9aa6b5',
        fontSize: 11,
        fontFamily: 'ui-sans-serif, system-ui, sans-serif',
        attributionLogo: false,
        panes: { separatorColor: '#263040', enableResize: false },
      },
      grid: { vertLines: { color: '#1a212c' }, horzLines: { color: '#1a212c' } },
      rightPriceScale: { borderColor: '#263040' },
      timeScale: { borderColor: '#263040', timeVisible: true, secondsVisible: false, tickMarkFormatter: tickMark },
      crosshair: { mode: CrosshairMode.Magnet },
      localization: {
        timeFormatter: (time: Time) => (typeof time === 'number' ? formatLocalTime(new Date(time * 1000).toISOString()) : String(time)),
      },
      handleScale: { axisPressedMouseMove: true },
    });
    const eq = c.addSeries(AreaSeries, {
      lineColor: '#4ea1ff',
      topColor: 'rgba(78,161,255,0.28)',
      bottomColor: 'rgba(78,161,255,0.02)',
      lineWidth: 2,
      priceFormat: { type: 'custom', minMove: 0.01, formatter: (v: number) => axisMoney(v, span.current) },
      title: 'Equity',
    });
    const ddS = c.addSeries(
      BaselineSeries,
      {
        baseValue: { type: 'price', price: 0 },
        topLineColor: '#ff5c6c',
        topFillColor1: 'rgba(0,0,0,0)',
        topFillColor2: 'rgba(0,0,0,0)',
        bottomLineColor: '#ff5c6c',
        bottomFillColor1: 'rgba(255,92,108,0.10)',
        bottomFillColor2: 'rgba(255,92,108,0.40)',
        lineWidth: 1,
        priceFormat: { type: 'custom', minMove: 0.01, formatter: (v: number) => `${v.toFixed(2)}%` },
        title: 'Drawdown',
      },
      1,
    );
    const panes = c.panes();
    panes[0]?.setStretchFactor(0.68);
    panes[1]?.setStretchFactor(0.32);
    chart.current = c;
    equitySeries.current = eq;
    ddSeries.current = ddS;
    return () => {
      c.remove();
      chart.current = null;
      equitySeries.current = null;
      ddSeries.current = null;
      fitted.current = undefined;
    };
  }, []);

  useEffect(() => {
    const eq = equitySeries.current;
    const ddS = ddSeries.current;
    if (!eq || !ddS) return;
    eq.setData(points.map((p) => ({ time: (p.t / 1000) as UTCTimestamp, value: p.equity })));
    ddS.setData(points.map((p, i) => ({ time: (p.t / 1000) as UTCTimestamp, value: dd[i] ?? 0 })));
    const key = fitKey ?? 'default';
    if (points.length > 0 && fitted.current !== key) {
      chart.current?.timeScale().fitContent();
      fitted.current = key;
    }
  }, [points, dd, fitKey]);

  const last = points[points.length - 1];
  return (
    <div className="chart-wrap">
      <div
        className="chart"
        ref={box}
        style={{ height }}
        data-testid={testid}
        data-points={points.length}
        aria-label={`Equity curve, ${points.length} points`}
        role="img"
      />
      <div className="chart-legend muted">
        <span>
          <i className="swatch blue" /> Equity {last ? formatMoney(last.equity) : ''}
        </span>
        <span>
          <i className="swatch red" /> Drawdown from peak{maxDd !== null ? `, worst ${maxDd.toFixed(2)}%` : ''}
        </span>
        <span data-testid={`${testid}-count`}>{points.length} points</span>
      </div>
      {points.length === 0 ? <div className="chart-empty muted">No equity data yet</div> : null}
    </div>
  );
}
