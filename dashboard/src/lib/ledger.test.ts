import { describe, expect, it } from 'vitest';
import type { TradeFill } from '../api/types';
import {
  describeBooked,
  describeHolding,
  fillRoles,
  lotsAgree,
  lotsTotal,
  lotsUnrealized,
  parseMismatch,
  parseTradeDetail,
  pnlDiscrepancy,
  sameMismatch,
  shortId,
  signedLotQuantity,
} from './ledger';

const fill = (over: Partial<TradeFill>): TradeFill => ({
  id: 1,
  broker: 'sim',
  fill_id: 'f1',
  client_order_id: 'o1',
  protects: null,
  symbol: 'MES',
  side: 'BUY',
  quantity: '1',
  price: '5000.25',
  fee: '0.62',
  time: '2026-03-09T14:00:00Z',
  reconciled: false,
  recorded_at: '2026-03-09T14:00:01Z',
  role: null,
  ...over,
});

const detail = {
  id: 7,
  symbol: 'MES',
  asset_class: 'future',
  side: 'LONG',
  quantity: '2',
  entry_time: '2026-03-09T14:00:00Z',
  entry_price: '5000.25',
  exit_time: '2026-03-09T15:00:00Z',
  exit_price: '5010.25',
  gross_pnl: '100',
  fees: '2.48',
  net_pnl: '97.52',
  broker: 'sim',
  entry_fill_id: 'f1',
  exit_fill_id: 'f3',
  entry_order: 'o1',
  exit_order: 'o2',
  reconciled: false,
};

describe('parseTradeDetail', () => {
  it('keeps the round trip and orders its fills by row id', () => {
    const d = parseTradeDetail({
      ...detail,
      fills: [
        fill({ id: 12, fill_id: 'f3', side: 'SELL', role: 'exit' }),
        fill({ id: 10, fill_id: 'f1', role: 'entry' }),
        fill({ id: 11, fill_id: 'f2' }),
      ],
    });
    expect(d.id).toBe(7);
    expect(d.net_pnl).toBe('97.52');
    expect(d.fills.map((f) => f.fill_id)).toEqual(['f1', 'f2', 'f3']);
    expect(d.fills.map((f) => f.role)).toEqual(['entry', null, 'exit']);
  });

  it('normalizes unknown roles, missing flags and nulls', () => {
    const d = parseTradeDetail({
      ...detail,
      fills: [{ ...fill({ id: 1 }), role: 'other', reconciled: undefined, client_order_id: undefined, protects: undefined }, null, { nope: 1 }],
    });
    expect(d.fills).toHaveLength(1);
    expect(d.fills[0]).toMatchObject({ role: null, reconciled: false, client_order_id: null, protects: null });
  });

  it('gives an empty list when the engine sent no fills', () => {
    expect(parseTradeDetail(detail).fills).toEqual([]);
  });

  it('refuses what is not a round trip', () => {
    for (const body of [null, 'x', [], { fills: [] }, { id: '7', symbol: 'MES' }]) expect(() => parseTradeDetail(body)).toThrow();
  });
});

describe('fillRoles', () => {
  it('finds the entry and exit fills and counts the other parts', () => {
    const fills = [fill({ fill_id: 'a', role: 'entry' }), fill({ fill_id: 'b' }), fill({ fill_id: 'c', role: 'exit' }), fill({ fill_id: 'd' })];
    const r = fillRoles(fills);
    expect(r.entry?.fill_id).toBe('a');
    expect(r.exit?.fill_id).toBe('c');
    expect(r.others).toBe(2);
  });
  it('is empty for no fills', () => {
    expect(fillRoles([])).toEqual({ entry: null, exit: null, others: 0 });
  });
});

describe('pnlDiscrepancy', () => {
  it('is 0 when net = gross − fees, also through floating-point noise', () => {
    expect(pnlDiscrepancy('100', '2.48', '97.52')).toBe(0);
    expect(pnlDiscrepancy('-12.5', '1.24', '-13.74')).toBe(0);
    expect(pnlDiscrepancy(0.3, 0.1, 0.2)).toBe(0);
  });
  it('gives the gap otherwise, and null for a missing figure', () => {
    expect(pnlDiscrepancy('100', '2', '99')).toBeCloseTo(1);
    expect(pnlDiscrepancy('100', null, '99')).toBeNull();
    expect(pnlDiscrepancy('x', '1', '1')).toBeNull();
  });
});

describe('lots', () => {
  const lots = [
    { direction: 'LONG', quantity: '0.1', unrealized_pnl: '1.25' },
    { direction: 'LONG', quantity: '0.2', unrealized_pnl: null },
  ];
  it('signs a lot by its direction', () => {
    expect(signedLotQuantity({ direction: 'LONG', quantity: '3' })).toBe(3);
    expect(signedLotQuantity({ direction: 'SHORT', quantity: '2' })).toBe(-2);
    expect(signedLotQuantity({ direction: 'FLAT', quantity: '2' })).toBeNull();
    expect(signedLotQuantity({ direction: 'LONG', quantity: 'x' })).toBeNull();
  });
  it('adds lots up to the position (without floating-point noise)', () => {
    expect(lotsTotal(lots)).toBe(0.3);
    expect(lotsAgree('0.3', lots)).toBe(true);
    expect(lotsAgree('0.4', lots)).toBe(false);
    expect(lotsAgree('-3', [{ direction: 'SHORT', quantity: '1' }, { direction: 'SHORT', quantity: '2' }])).toBe(true);
    expect(lotsAgree('0', [])).toBe(true);
  });
  it('cannot tell without lots or with an unreadable one', () => {
    expect(lotsAgree('1', undefined)).toBeNull();
    expect(lotsAgree(null, lots)).toBeNull();
    expect(lotsTotal([{ direction: 'LONG', quantity: '' }])).toBeNull();
  });
  it('sums the unrealized P&L of the lots that have one', () => {
    expect(lotsUnrealized(lots)).toBe(1.25);
    expect(lotsUnrealized([{ unrealized_pnl: '0.1' }, { unrealized_pnl: '0.2' }])).toBe(0.3);
    expect(lotsUnrealized([{ unrealized_pnl: null }])).toBeNull();
  });
});

describe('shortId', () => {
  it('keeps short ids and shortens long ones in the middle', () => {
    expect(shortId('sim-42')).toBe('sim-42');
    expect(shortId('0123456789abcdef0123456789', 10)).toBe('01234…6789');
    expect(shortId('0123456789abcdef0123456789', 10)).toHaveLength(10);
    expect(shortId(null)).toBe('—');
    expect(shortId('')).toBe('—');
  });
});

describe('parseMismatch', () => {
  const envelope = {
    event: { type: 'position_mismatch', data: { symbol: 'MES', ledger: '1', broker: '3', booked: [['BUY', '2', '5012.25']] } },
    time: '2026-03-09T14:05:00Z',
  };
  it('reads the engine envelope', () => {
    expect(parseMismatch({ data: envelope as never, time: '2026-03-09T14:05:00Z' })).toEqual({
      symbol: 'MES',
      ledger: '1',
      broker: '3',
      booked: [{ side: 'BUY', quantity: '2', price: '5012.25' }],
      time: '2026-03-09T14:05:00Z',
    });
  });
  it('reads bare data, skips malformed booked entries', () => {
    const a = parseMismatch({ data: { symbol: 'SPY', ledger: 0, broker: -5, booked: [['sell', 5, 501.5], ['BUY'], 'x'] } as never, time: null });
    expect(a).toEqual({ symbol: 'SPY', ledger: 0, broker: -5, booked: [{ side: 'SELL', quantity: 5, price: 501.5 }], time: null });
  });
  it('tells one event seen twice from another', () => {
    const a = parseMismatch({ data: envelope as never, time: '2026-03-09T14:05:00Z' })!;
    const b = parseMismatch({ data: envelope as never, time: '2026-03-09T14:05:00Z' })!;
    const later = parseMismatch({ data: envelope as never, time: '2026-03-09T14:06:00Z' })!;
    expect(sameMismatch(a, b)).toBe(true);
    expect(sameMismatch(a, later)).toBe(false);
    expect(sameMismatch(a, { ...b, broker: '4' })).toBe(false);
  });
  it('gives null for what is not a mismatch', () => {
    expect(parseMismatch({ data: null, time: null })).toBeNull();
    expect(parseMismatch({ data: { missed: 3 }, time: null })).toBeNull();
    expect(parseMismatch({ data: { event: { type: 'x', data: 'nope' }, time: 'now' } as never, time: null })).toBeNull();
  });
});

describe('describeBooked / describeHolding', () => {
  it('says what reconciliation booked', () => {
    expect(describeBooked([{ side: 'BUY', quantity: '2', price: '5012.25' }, { side: 'SELL', quantity: 1, price: '1234.5' }])).toBe(
      'BUY 2 @ 5,012.25, SELL 1 @ 1,234.50',
    );
    expect(describeBooked([])).toBe('nothing');
  });
  it('says a signed quantity in words', () => {
    expect(describeHolding('2')).toBe('long 2');
    expect(describeHolding('-1.5')).toBe('short 1.5');
    expect(describeHolding('0')).toBe('flat');
    expect(describeHolding(null)).toBe('—');
  });
});
