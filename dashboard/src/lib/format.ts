// Display formatting. Every formatter returns DASH for a missing or
// non-finite value: the page never shows NaN, undefined or null.

export const DASH = '—';

/** A number from a decimal string or number; null when missing or not finite. */
export function num(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const n = Number(value.trim());
    return value.trim() !== '' && Number.isFinite(n) ? n : null;
  }
  return null;
}

const moneyFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `$1,234.56`, `-$1,234.56`; with `sign`, `+$1,234.56` for gains. */
export function formatMoney(value: unknown, options: { sign?: boolean; currency?: boolean } = {}): string {
  const n = num(value);
  if (n === null) return DASH;
  const rounded = Math.round(n * 100) / 100;
  const abs = moneyFormat.format(Math.abs(rounded));
  const symbol = options.currency === false ? '' : '$';
  if (rounded < 0) return `-${symbol}${abs}`;
  if (options.sign && rounded > 0) return `+${symbol}${abs}`;
  return `${symbol}${abs}`;
}

/** A number with thousands separators and between min and max decimals. */
export function formatNumber(value: unknown, maxDecimals = 2, minDecimals = 0): string {
  const n = num(value);
  if (n === null) return DASH;
  return new Intl.NumberFormat('en-US', {
    minimumFractionDigits: Math.min(minDecimals, maxDecimals),
    maximumFractionDigits: maxDecimals,
  }).format(n);
}

/** A price: at least 2 decimals, up to 4 (futures tick sizes, fractional averages). */
export function formatPrice(value: unknown): string {
  return formatNumber(value, 4, 2);
}

/** A quantity: as many decimals as it has, up to 8 (shares, contracts, crypto-like fractions). */
export function formatQty(value: unknown): string {
  return formatNumber(value, 8, 0);
}

/** A value already in percent (1.5 → `1.50%`). */
export function formatPct(value: unknown, decimals = 2, options: { sign?: boolean } = {}): string {
  const n = num(value);
  if (n === null) return DASH;
  const text = `${n.toFixed(decimals)}%`;
  return options.sign && n > 0 ? `+${text}` : text;
}

/** A fraction as percent (0.015 → `1.50%`). */
export function formatRatioPct(value: unknown, decimals = 2, options: { sign?: boolean } = {}): string {
  const n = num(value);
  return n === null ? DASH : formatPct(n * 100, decimals, options);
}

/** A plain ratio (Sharpe, profit factor). */
export function formatRatio(value: unknown, decimals = 2): string {
  const n = num(value);
  return n === null ? DASH : n.toFixed(decimals);
}

/** A duration in seconds as `3d 4h`, `2h 05m`, `12m`, `40s`. */
export function formatDuration(seconds: unknown): string {
  const n = num(seconds);
  if (n === null || n < 0) return DASH;
  const s = Math.round(n);
  if (s < 60) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  const days = Math.floor(hours / 24);
  return `${days}d ${hours % 24}h`;
}

/** Milliseconds between two instants as a duration, or DASH. */
export function formatSpan(from: unknown, to: unknown): string {
  const a = parseTime(from);
  const b = parseTime(to);
  if (a === null || b === null) return DASH;
  return formatDuration((b - a) / 1000);
}

/** Epoch ms of an RFC 3339 instant, or null. */
export function parseTime(value: unknown): number | null {
  if (typeof value !== 'string' || value === '') return null;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Local time `2026-03-13 08:24` (with `:ss` when the seconds are not zero). */
export function formatLocalTime(value: unknown, options: { seconds?: boolean; dateOnly?: boolean } = {}): string {
  const t = parseTime(value);
  if (t === null) return DASH;
  const d = new Date(t);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (options.dateOnly) return date;
  let time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (options.seconds || d.getSeconds() !== 0) time += `:${pad(d.getSeconds())}`;
  return `${date} ${time}`;
}

/** The UTC instant for a tooltip: `2026-03-13T12:24:00Z UTC`. */
export function formatUtc(value: unknown): string {
  const t = parseTime(value);
  if (t === null) return '';
  return `${new Date(t).toISOString().replace('.000Z', 'Z')} UTC`;
}

/** The user's time zone name, for labels. */
export function localZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/** `-1`, `0` or `1` for colouring P&L; 0 for missing values. */
export function signOf(value: unknown): -1 | 0 | 1 {
  const n = num(value);
  if (n === null || n === 0) return 0;
  return n > 0 ? 1 : -1;
}

/** A short one-line text for a JSON value (audit details, outcomes). */
export function summarize(value: unknown, max = 160): string {
  if (value === null || value === undefined) return DASH;
  if (typeof value !== 'object') return String(value);
  const parts: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    let text: string;
    if (Array.isArray(v)) text = `[${v.length}]`;
    else if (typeof v === 'object') text = '{…}';
    else text = String(v);
    parts.push(`${key}=${text}`);
  }
  const joined = parts.join(' ');
  return joined.length > max ? `${joined.slice(0, max - 1)}…` : joined || DASH;
}
