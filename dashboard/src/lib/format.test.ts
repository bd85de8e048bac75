import { describe, expect, it } from 'vitest';
import {
  DASH,
  formatDuration,
  formatLocalTime,
  formatMoney,
  formatNumber,
  formatPct,
  formatPrice,
  formatQty,
  formatRatioPct,
  formatUtc,
  num,
  signOf,
  summarize,
} from './format';

describe('num', () => {
  it('parses decimal strings and numbers', () => {
    expect(num('194934.99')).toBe(194934.99);
    expect(num(-2)).toBe(-2);
    expect(num('-0.5')).toBe(-0.5);
  });
  it('gives null for anything unusable', () => {
    for (const v of [null, undefined, '', ' ', 'abc', NaN, Infinity, {}, []]) expect(num(v)).toBeNull();
  });
});

describe('formatMoney', () => {
  it('has two decimals and thousands separators', () => {
    expect(formatMoney('194934.99')).toBe('$194,934.99');
    expect(formatMoney('1234567.891')).toBe('$1,234,567.89');
    expect(formatMoney(0)).toBe('$0.00');
    expect(formatMoney('-142.48')).toBe('-$142.48');
  });
  it('signs gains when asked', () => {
    expect(formatMoney('343.8', { sign: true })).toBe('+$343.80');
    expect(formatMoney('-0.001', { sign: true })).toBe('$0.00');
  });
  it('never shows NaN', () => {
    for (const v of [null, undefined, 'NaN', 'x', NaN]) expect(formatMoney(v)).toBe(DASH);
  });
});

describe('numbers', () => {
  it('formats prices, quantities, percents', () => {
    expect(formatPrice('74.05597451')).toBe('74.056');
    expect(formatPrice('2948.1')).toBe('2,948.10');
    expect(formatQty('-2531')).toBe('-2,531');
    expect(formatQty('0.125')).toBe('0.125');
    expect(formatNumber('1234.5', 1)).toBe('1,234.5');
    expect(formatPct(1.8893)).toBe('1.89%');
    expect(formatPct(2, 1, { sign: true })).toBe('+2.0%');
    expect(formatRatioPct(0.0142)).toBe('1.42%');
    expect(formatPct(undefined)).toBe(DASH);
  });
  it('formats durations', () => {
    expect(formatDuration(40)).toBe('40s');
    expect(formatDuration(650)).toBe('10m');
    expect(formatDuration(3429)).toBe('57m');
    expect(formatDuration(7500)).toBe('2h 05m');
    expect(formatDuration(232440)).toBe('2d 16h');
    expect(formatDuration(null)).toBe(DASH);
  });
});

describe('times', () => {
  it('shows the UTC instant for tooltips', () => {
    expect(formatUtc('2026-03-13T12:24:00Z')).toBe('2026-03-13T12:24:00Z UTC');
    expect(formatUtc('garbage')).toBe('');
  });
  it('shows local time, or a dash', () => {
    const text = formatLocalTime('2026-03-13T12:24:00Z');
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    expect(formatLocalTime('2026-03-13T12:24:05Z')).toMatch(/:\d{2}:05$/);
    expect(formatLocalTime(null)).toBe(DASH);
    expect(formatLocalTime('not a time')).toBe(DASH);
  });
});

describe('misc', () => {
  it('signs', () => {
    expect(signOf('-1')).toBe(-1);
    expect(signOf('0')).toBe(0);
    expect(signOf('x')).toBe(0);
    expect(signOf(3)).toBe(1);
  });
  it('summarizes objects on one line', () => {
    expect(summarize({ a: 1, b: null, c: [1, 2], d: { x: 1 } })).toBe('a=1 c=[2] d={…}');
    expect(summarize(null)).toBe(DASH);
  });
});
