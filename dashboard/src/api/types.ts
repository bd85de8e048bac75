// Response shapes of the NOISE API (crates/noise-api). Decimals arrive as JSON
// strings (exact); they are parsed with Number() for display only.

/** A decimal as the API sends it: a string (sometimes a number). */
export type Dec = string | number;
/** An RFC 3339 instant (UTC). */
export type Instant = string;

export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED';
export type Side = 'BUY' | 'SELL';
export type Direction = 'LONG' | 'SHORT' | 'FLAT';

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export interface Status {
  status: 'healthy' | 'degraded' | string;
  brokers: Record<string, 'connected' | 'disconnected' | string>;
  database: 'connected' | 'error' | string;
  circuitBreaker: 'on' | 'off';
  tradingState: TradingState | null;
  lastSignalTime: Instant | null;
  mode: 'paper' | 'live' | string;
  version: string;
}

export interface Account {
  broker: string;
  equity: Dec;
  cash: Dec;
  buying_power: Dec;
  available_margin: Dec;
}

export interface Position {
  symbol: string;
  broker: string;
  /** Added with the exposure API; absent on older engines. */
  asset_class?: 'equity' | 'future' | string | null;
  correlation_group?: string | null;
  quantity: Dec;
  average_price: Dec;
  market_price?: Dec | null;
  point_value?: Dec | null;
  notional?: Dec | null;
  unrealized_pnl?: Dec | null;
  opened_at: Instant;
  updated_at: Instant;
  /** The entry fills it is made of, oldest first (absent on engines before the ledger). */
  lots?: Lot[];
}

export type BrokerName = 'sim' | 'alpaca' | 'tradovate' | string;

/** An open lot: one entry fill still (partly) held. */
export interface Lot {
  symbol: string;
  direction: 'LONG' | 'SHORT' | string;
  broker: BrokerName;
  fill_id: string;
  client_order_id: string | null;
  /** Units still open (positive; the direction says which way). */
  quantity: Dec;
  price: Dec;
  time: Instant;
  /** The part of the entry fill's fee not yet charged to a round trip. */
  fees: Dec;
  reconciled: boolean;
  /** (market − price) × quantity × point value (± by direction) less `fees`; null without a market price. */
  unrealized_pnl?: Dec | null;
}

/** One execution as the ledger books it (the `fill` stream event's data). */
export interface Fill {
  broker: BrokerName;
  /** The broker's id of this execution. */
  fill_id: string;
  /** The order that filled (null for a reconciliation fill). */
  client_order_id: string | null;
  /** For a bracket leg's fill: the entry order it protects. */
  protects: string | null;
  symbol: string;
  side: Side | string;
  quantity: Dec;
  price: Dec;
  fee: Dec;
  time: Instant;
  /** Booked by reconciliation to agree with the broker, not an execution. */
  reconciled: boolean;
}

/** A stored fill (GET /api/fills), `id` being the cursor. */
export interface FillRow extends Fill {
  id: number;
  recorded_at: Instant;
}

/** A fill in a round trip's detail: `role` marks the two it took its units from. */
export interface TradeFill extends FillRow {
  role: 'entry' | 'exit' | null;
}

export interface Page<T> {
  items: T[];
  next_before: number | null;
}

/** A closed round trip, live or in a backtest (the P&L field is named differently). */
export interface RoundTrip {
  symbol: string;
  side: Direction | string;
  quantity: Dec;
  entry_price: Dec;
  exit_price: Dec;
  entry_time: Instant;
  exit_time: Instant;
  fees: Dec;
}

/** A round trip the ledger closed (the `closed` stream event's data; stored ones have an `id`). */
export interface LedgerRoundTrip extends RoundTrip {
  asset_class?: 'equity' | 'future' | string;
  side: 'LONG' | 'SHORT' | string;
  /** Before fees. */
  gross_pnl: Dec;
  /** Its share of the entry fill's fee plus its share of the exit fill's. */
  fees: Dec;
  /** Gross less fees: the realized P&L. */
  net_pnl: Dec;
  broker?: BrokerName;
  entry_fill_id?: string;
  exit_fill_id?: string;
  entry_order?: string | null;
  exit_order?: string | null;
  /** Either side was a reconciliation fill (its price is the broker's or the market's). */
  reconciled?: boolean;
}

/** GET /api/trades: a closed round trip with its id (the cursor). */
export interface Trade extends LedgerRoundTrip {
  id: number;
}

/** GET /api/trades/{id}: a round trip with every fill of its entry and exit orders, oldest first. */
export interface TradeDetail extends Trade {
  fills: TradeFill[];
}

export interface Regime {
  adx?: number;
  atr_percentile?: number;
  minus_di?: number;
  plus_di?: number;
  trend?: string;
  volatility?: string;
  [key: string]: unknown;
}

export interface SignalComponent {
  strategy: string;
  direction: Direction | string;
  strength: number;
  weight: number;
  base_weight: number;
  contribution: number;
  reasons: string[];
}

export interface SignalFilter {
  name: string;
  passed: boolean;
  detail: string;
}

export interface Signal {
  id: number;
  time: Instant;
  symbol: string;
  timeframe: string;
  direction: Direction | string;
  strength: number;
  entry: Dec;
  stop_loss: Dec;
  take_profit: Dec;
  status: 'signal' | 'rejected' | string;
  reason: string | null;
  /** For a signal: the risk manager's verdict, absent until it decided. */
  risk_verdict?: 'allow' | 'reduce' | 'block' | string | null;
  /** For a blocked signal: `code: sentence`. */
  risk_reason?: string | null;
  regime?: Regime | null;
  components: SignalComponent[];
  filters?: SignalFilter[];
}

export type BreakerKind = 'daily_loss' | 'weekly_loss' | 'drawdown';

export interface Trip {
  kind: BreakerKind;
  at: Instant;
  measured_pct: number;
  limit_pct: number;
  equity: Dec;
  reference_equity: Dec;
}

export interface RiskLimits {
  daily_loss_pct: number;
  weekly_loss_pct: number;
  max_drawdown_pct: number;
  max_consecutive_losses: number;
  cooldown_minutes: number;
  pdt: { enforce?: boolean; min_equity?: Dec; max_day_trades?: number };
}

export interface RiskFigures {
  equity: Dec;
  daily_loss_pct: number;
  weekly_loss_pct: number;
  drawdown_pct: number;
  day_trades_in_window: number;
  in_cooldown?: boolean;
}

/**
 * GET /api/risk/state: the risk state (its fields absent before the engine's
 * first minute) with the limits and today's figures (absent on older engines).
 */
export interface RiskState {
  trading_state?: TradingState;
  halted_manually?: boolean;
  breakers?: Trip[];
  high_water_mark?: Dec;
  day_start_equity?: Dec;
  week_start_equity?: Dec;
  losses_in_a_row?: number;
  cooldown_until?: Instant | null;
  cooldown_after_losses?: number;
  day_trades?: [string, string][];
  recent_results?: Dec[];
  limits?: RiskLimits;
  figures?: RiskFigures | null;
}

export interface ExposureLine {
  name: string;
  notional: Dec;
  /** Notional in % of equity (null when equity is not positive). */
  pct?: number | string | null;
  /** The cap in % of equity, where one applies. */
  cap_pct?: number | string | null;
}

export interface Exposure {
  equity: Dec;
  gross: ExposureLine;
  by_asset_class: ExposureLine[];
  by_group: ExposureLine[];
  by_symbol: ExposureLine[];
  open_positions: { count: number; max?: number | null };
}

export interface Summary {
  equity: Dec | null;
  day_pnl: Dec | null;
  realized_pnl: Dec;
  gross_profit?: Dec;
  gross_loss?: Dec;
  trades: number;
  wins: number;
  losses: number;
  win_rate: number | null;
  profit_factor: number | null;
  fees: Dec;
  /** Deepest fall from a peak of the equity snapshots, in percent. */
  max_drawdown_pct: number | null;
}

export interface DailyMetrics {
  date: string;
  starting_equity: Dec;
  ending_equity: Dec;
  realized_pnl: Dec;
  trades: number;
  wins: number;
  losses: number;
  fees: Dec;
}

export interface EquitySnapshot {
  time: Instant;
  equity: Dec;
  cash: Dec;
  unrealized_pnl: Dec;
}

export interface AuditEntry {
  id: number;
  time: Instant;
  event_type: string;
  actor: string;
  details: unknown;
}

export interface BacktestMetrics {
  total_return?: number;
  cagr?: number;
  sharpe?: number;
  sortino?: number;
  max_drawdown?: number;
  max_drawdown_duration?: number;
  win_rate?: number;
  profit_factor?: number;
  expectancy?: number;
  average_trade_duration?: number;
  exposure?: number;
  trades?: number;
  starting_equity?: Dec;
  final_equity?: Dec;
  [key: string]: unknown;
}

export interface BacktestSummary {
  id: number;
  created_at: Instant;
  data_source: string;
  symbols: string;
  strategy: string;
  period_start: Instant;
  period_end: Instant;
  bars: number;
  starting_equity: Dec;
  final_equity: Dec;
  metrics: BacktestMetrics | null;
}

/** One point of a stored run's curve: `[time, equity]`. */
export type CurvePoint = [Instant, Dec];

export interface BacktestRun extends BacktestSummary {
  elapsed_ms?: number;
  options: Record<string, unknown> | null;
  equity_curve: CurvePoint[] | null;
  open_positions: unknown[] | null;
}

export interface BacktestTrade extends RoundTrip {
  pnl: Dec;
}

export interface OffsetPage<T> {
  items: T[];
  next_offset: number | null;
}

/** What a control (pause, resume, ...) answers with. */
export interface ControlOutcome {
  control: string;
  trading_state: TradingState;
  breakers: Trip[];
  events: number;
  [key: string]: unknown;
}

// ---- the event stream -----------------------------------------------------

export type StreamKind =
  | 'signal'
  | 'decision'
  | 'order_placed'
  | 'order_rejected'
  | 'fill'
  | 'closed'
  | 'position_mismatch'
  | 'equity'
  | 'daily'
  | 'risk'
  | 'lagged';

/** The `data:` of one stream event. */
export interface StreamEnvelope<T = unknown> {
  event: { type: string; data: T };
  time: Instant;
}

/** `position_mismatch`: reconciliation booked fills (side, quantity, price) so the ledger agrees with the broker. */
export interface PositionMismatch {
  symbol: string;
  /** The ledger's signed quantity before. */
  ledger: Dec;
  /** The broker's signed quantity. */
  broker: Dec;
  booked: [Side | string, Dec, Dec][];
}

export interface StreamEvent {
  kind: string;
  /** The parsed `data:` JSON (null when it did not parse). */
  data: StreamEnvelope | { missed: number } | null;
  /** The engine's (simulated) time of the event, when it has one. */
  time: Instant | null;
}
