import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from './client';

afterEach(() => {
  vi.unstubAllGlobals();
});

function answer(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    }),
  );
  return calls;
}

describe('ApiClient ledger endpoints', () => {
  it('GET /api/trades/{id} with the bearer token and the signal', async () => {
    const calls = answer(200, { id: 7, symbol: 'MES', fills: [] });
    const controller = new AbortController();
    const detail = await new ApiClient('t0k').trade(7, controller.signal);
    expect(detail.id).toBe(7);
    expect(calls[0]?.url).toBe('/api/trades/7');
    expect((calls[0]?.init?.headers as Record<string, string>).Authorization).toBe('Bearer t0k');
    expect(calls[0]?.init?.signal).toBe(controller.signal);
  });

  it('turns the 404 of an unknown round trip into an ApiError with its message', async () => {
    answer(404, { error: { code: 'not_found', message: 'no round trip 99' } });
    const error = await new ApiClient('t').trade(99).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, code: 'not_found', message: 'no round trip 99' });
  });

  it('GET /api/fills with its query, skipping empty parameters', async () => {
    const calls = answer(200, { items: [], next_before: null });
    await new ApiClient('t', { baseUrl: 'http://h:1' }).fills({ symbol: 'MES', limit: 50, before: null, from: '' });
    expect(calls[0]?.url).toBe('http://h:1/api/fills?symbol=MES&limit=50');
  });
});
