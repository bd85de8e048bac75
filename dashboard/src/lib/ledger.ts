// Pure helpers for the ledger's facts: a round trip's fills, a position's
// lots, reconciliation alerts. No React here (unit-tested in ledger.test.ts).

import type { Lot, PositionMismatch, StreamEvent, TradeDetail, TradeFill } from '../api/types';
import { DASH, formatPrice, formatQty, num } from './format';

/**
 * Checks the body of GET /api/trades/{id} and normalizes it: `fills` an array
 * (oldest first, by row id), each fill's `role` `entry`, `exit` or null.
 * Throws on a body that is not a round trip.
 */
export function parseTradeDetail(body: unknown): TradeDetail {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('the round trip is not an object');
  const detail = body as Partial<TradeDetail> & { fills?: unknown };
  if (typeof detail.id !== 'number' || typeof detail.symbol !== 'string') throw new Error('the round trip has no id or symbol');
  const raw = Array.isArray(detail.fills) ? (detail.fills as unknown[]) : [];
  const fills = raw
    .filter((f): f is TradeFill => !!f && typeof f === 'object' && typeof (f as TradeFill).fill_id === 'string')
    .map((f) => ({
      ...f,
      role: f.role === 'entry' || f.role === 'exit' ? f.role : null,
      reconciled: f.reconciled === true,
      client_order_id: f.client_order_id ?? null,
      protects: f.protects ?? null,
    }))
    .sort((a, b) => (num(a.id) ?? 0) - (num(b.id) ?? 0));
  return { ...(detail as TradeDetail), fills };
}

export interface FillRoles {
  entry: TradeFill | null;
  exit: TradeFill | null;
  /** The other partial fills of the same orders. */
  others: number;
}

/** The entry and exit fills a round trip took its units from, and how many others its orders had. */
export function fillRoles(fills: readonly TradeFill[]): FillRoles {
  let entry: TradeFill | null = null;
  let exit: TradeFill | null = null;
  let others = 0;
  for (const f of fills) {
    if (f.role === 'entry' && !entry) entry = f;
    else if (f.role === 'exit' && !exit) exit = f;
    else others += 1;
  }
  return { entry, exit, others };
}

/** net − (gross − fees): 0 when the round trip adds up; null when a figure is missing. */
export function pnlDiscrepancy(gross: unknown, fees: unknown, net: unknown): number | null {
  const g = num(gross);
  const f = num(fees);
  const n = num(net);
  if (g === null || f === null || n === null) return null;
  const gap = n - (g - f);
  // decimals parsed as doubles: ignore what is only floating-point noise
  return Math.abs(gap) < 1e-9 * Math.max(1, Math.abs(g), Math.abs(f)) ? 0 : gap;
}

/** A lot's units signed by its direction (positive long, negative short); null when unreadable. */
export function signedLotQuantity(lot: Pick<Lot, 'direction' | 'quantity'>): number | null {
  const q = num(lot.quantity);
  if (q === null) return null;
  const d = String(lot.direction).toUpperCase();
  if (d === 'SHORT') return -Math.abs(q);
  if (d === 'LONG') return Math.abs(q);
  return null;
}

/** The signed sum of the lots' open units; null when one is unreadable. */
export function lotsTotal(lots: readonly Pick<Lot, 'direction' | 'quantity'>[]): number | null {
  let total = 0;
  for (const lot of lots) {
    const q = signedLotQuantity(lot);
    if (q === null) return null;
    total += q;
  }
  return roundNoise(total);
}

/** Whether the lots add up to the position's (signed) quantity; null when it cannot be told. */
export function lotsAgree(positionQuantity: unknown, lots: readonly Pick<Lot, 'direction' | 'quantity'>[] | undefined): boolean | null {
  const q = num(positionQuantity);
  if (q === null || !lots) return null;
  const total = lotsTotal(lots);
  if (total === null) return null;
  return Math.abs(total - q) <= 1e-9 * Math.max(1, Math.abs(q));
}

/** The sum of the lots' unrealized P&L; null when none has one. */
export function lotsUnrealized(lots: readonly Pick<Lot, 'unrealized_pnl'>[]): number | null {
  let total: number | null = null;
  for (const lot of lots) {
    const p = num(lot.unrealized_pnl);
    if (p !== null) total = (total ?? 0) + p;
  }
  return total === null ? null : roundNoise(total);
}

/** Drops binary floating-point noise from a sum of decimals (0.1 + 0.2 → 0.3). */
function roundNoise(n: number): number {
  return Number.parseFloat(n.toPrecision(12));
}

/** A long id shortened in the middle (`a1b2c3…9f8e`), the whole one being its tooltip. */
export function shortId(id: string | null | undefined, max = 28): string {
  if (id === null || id === undefined || id === '') return DASH;
  if (id.length <= max) return id;
  const keep = Math.max(2, max - 1);
  const head = Math.ceil(keep / 2);
  const tail = keep - head;
  return `${id.slice(0, head)}…${id.slice(id.length - tail)}`;
}

export interface BookedFill {
  side: string;
  quantity: string | number;
  price: string | number;
}

export interface MismatchAlert {
  symbol: string;
  /** The ledger's signed quantity before reconciliation. */
  ledger: string | number;
  /** The broker's signed quantity. */
  broker: string | number;
  booked: BookedFill[];
  /** The engine's time of the event. */
  time: string | null;
}

/** The alert of a `position_mismatch` stream event (its envelope or its bare data); null for anything else. */
export function parseMismatch(event: Pick<StreamEvent, 'data' | 'time'>): MismatchAlert | null {
  const envelope = event.data as { event?: { type?: string; data?: unknown } } | null;
  const inner = envelope && typeof envelope === 'object' && envelope.event && typeof envelope.event === 'object' ? envelope.event.data : envelope;
  if (!inner || typeof inner !== 'object') return null;
  const m = inner as Partial<PositionMismatch>;
  if (typeof m.symbol !== 'string' || m.symbol === '') return null;
  const booked: BookedFill[] = [];
  if (Array.isArray(m.booked)) {
    for (const b of m.booked) {
      if (!Array.isArray(b) || b.length < 3) continue;
      const [side, quantity, price] = b as unknown[];
      booked.push({
        side: String(side ?? '').toUpperCase(),
        quantity: typeof quantity === 'number' ? quantity : String(quantity ?? ''),
        price: typeof price === 'number' ? price : String(price ?? ''),
      });
    }
  }
  const quantity = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? v : '');
  return { symbol: m.symbol, ledger: quantity(m.ledger), broker: quantity(m.broker), booked, time: event.time ?? null };
}

/** The same alert (one event seen twice), by its time and figures. */
export function sameMismatch(a: MismatchAlert, b: MismatchAlert): boolean {
  return (
    a.symbol === b.symbol &&
    a.time === b.time &&
    String(a.ledger) === String(b.ledger) &&
    String(a.broker) === String(b.broker) &&
    JSON.stringify(a.booked) === JSON.stringify(b.booked)
  );
}

/** `BUY 2 @ 5,012.25, SELL 1 @ 101.50`, or "nothing". */
export function describeBooked(booked: readonly BookedFill[]): string {
  if (booked.length === 0) return 'nothing';
  return booked.map((b) => `${b.side || DASH} ${formatQty(b.quantity)} @ ${formatPrice(b.price)}`).join(', ');
}

/** A signed quantity in words: `long 2`, `short 1`, `flat`. */
export function describeHolding(quantity: unknown): string {
  const q = num(quantity);
  if (q === null) return DASH;
  if (q === 0) return 'flat';
  return `${q > 0 ? 'long' : 'short'} ${formatQty(Math.abs(q))}`;
}
