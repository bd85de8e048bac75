// A small typed client for the NOISE API: bearer token, JSON, and the API's
// error body turned into an ApiError with its status, code and message.

import type {
  Account,
  AuditEntry,
  BacktestRun,
  BacktestSummary,
  BacktestTrade,
  ControlOutcome,
  DailyMetrics,
  EquitySnapshot,
  Exposure,
  FillRow,
  OffsetPage,
  Page,
  Position,
  RiskState,
  Signal,
  Status,
  Summary,
  Trade,
  TradeDetail,
} from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** The endpoint does not exist on this engine (yet). */
  get notFound(): boolean {
    return this.status === 404;
  }
}

/** Status 0: the request never got an HTTP answer (network, engine down). */
export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError(0, 'network', `cannot reach the engine (${detail})`);
}

type Query = Record<string, string | number | null | undefined>;

export function queryString(query?: Query): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Turns a non-2xx response into an ApiError, using the API's JSON body when there is one. */
export async function errorFrom(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  let field: string | undefined;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field;
    }
  } catch {
    // not JSON: keep the status text
  }
  if (response.status === 429) {
    const retry = response.headers.get('Retry-After');
    if (retry && !message.includes('retry')) message = `${message} (retry in ${retry} s)`;
  }
  return new ApiError(response.status, code, message, field);
}

export interface ClientOptions {
  /** Base URL of the engine; '' for the same origin. */
  baseUrl?: string;
  /** Called once per 401 answer (the token is no longer accepted). */
  onUnauthorized?: (error: ApiError) => void;
}

export class ApiClient {
  readonly token: string;
  readonly baseUrl: string;
  private readonly onUnauthorized?: (error: ApiError) => void;

  constructor(token: string, options: ClientOptions = {}) {
    this.token = token;
    this.baseUrl = options.baseUrl ?? '';
    this.onUnauthorized = options.onUnauthorized;
  }

  url(path: string, query?: Query): string {
    return `${this.baseUrl}/api/${path.replace(/^\/+/, '')}${queryString(query)}`;
  }

  headers(extra?: Record<string, string>): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, Accept: 'application/json', ...extra };
  }

  private async request<T>(method: 'GET' | 'POST', path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.url(path, query), {
        method,
        headers: this.headers(method === 'POST' ? { 'Content-Type': 'application/json' } : undefined),
        body: method === 'POST' ? '{}' : undefined,
        signal,
        cache: 'no-store',
      });
    } catch (cause) {
      if (signal?.aborted) throw cause;
      throw networkError(cause);
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (response.status === 401) this.onUnauthorized?.(error);
      throw error;
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(response.status, 'bad_body', 'the engine answered with something that is not JSON');
    }
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, query, signal);
  }

  post<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, undefined, signal);
  }

  // ---- typed endpoints ----

  status(signal?: AbortSignal) {
    return this.get<Status>('status', undefined, signal);
  }
  account(signal?: AbortSignal) {
    return this.get<Account>('account', undefined, signal);
  }
  positions(signal?: AbortSignal) {
    return this.get<Position[]>('positions', undefined, signal);
  }
  trades(query: { symbol?: string; from?: string; to?: string; limit?: number; before?: number | null }, signal?: AbortSignal) {
    return this.get<Page<Trade>>('trades', query, signal);
  }
  /** One round trip with its fills; a 404 (`not_found`) for an unknown id. */
  trade(id: number, signal?: AbortSignal) {
    return this.get<TradeDetail>(`trades/${encodeURIComponent(String(id))}`, undefined, signal);
  }
  /** Every fill the ledger booked, newest first. */
  fills(query: { symbol?: string; from?: string; to?: string; limit?: number; before?: number | null }, signal?: AbortSignal) {
    return this.get<Page<FillRow>>('fills', query, signal);
  }
  signals(query: { symbol?: string; status?: string; limit?: number; before?: number | null }, signal?: AbortSignal) {
    return this.get<Page<Signal>>('signals', query, signal);
  }
  riskState(signal?: AbortSignal) {
    return this.get<RiskState>('risk/state', undefined, signal);
  }
  exposure(signal?: AbortSignal) {
    return this.get<Exposure>('risk/exposure', undefined, signal);
  }
  summary(signal?: AbortSignal) {
    return this.get<Summary>('metrics/summary', undefined, signal);
  }
  daily(limit: number, signal?: AbortSignal) {
    return this.get<DailyMetrics[]>('metrics/daily', { limit }, signal);
  }
  equity(limit: number, signal?: AbortSignal) {
    return this.get<EquitySnapshot[]>('metrics/equity', { limit }, signal);
  }
  audit(query: { limit?: number; before?: number | null; event_type?: string }, signal?: AbortSignal) {
    return this.get<Page<AuditEntry>>('audit', query, signal);
  }
  backtests(query: { limit?: number; before?: number | null }, signal?: AbortSignal) {
    return this.get<Page<BacktestSummary>>('metrics/backtests', query, signal);
  }
  backtest(id: number, signal?: AbortSignal) {
    return this.get<BacktestRun>(`metrics/backtests/${id}`, undefined, signal);
  }
  backtestTrades(id: number, query: { limit?: number; offset?: number }, signal?: AbortSignal) {
    return this.get<OffsetPage<BacktestTrade>>(`metrics/backtests/${id}/trades`, query, signal);
  }

  // ---- controls ----
  control(path: ControlPath, signal?: AbortSignal) {
    return this.post<ControlOutcome>(path, signal);
  }
}

export type ControlPath =
  | 'trading/pause'
  | 'trading/resume'
  | 'risk/reset-circuit-breaker'
  | 'positions/sync'
  | 'trading/flatten';

/** Checks a token against GET /api/status without side effects on the session. */
export async function validateToken(token: string, baseUrl = ''): Promise<Status> {
  const client = new ApiClient(token, { baseUrl });
  return client.status();
}
