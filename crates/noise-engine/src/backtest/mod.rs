//! Backtests on the live code path.
//!
//! Historical bars drive what `noise run` runs, on a virtual clock: each
//! bar at its close goes through the symbol's [`SymbolPipeline`], every
//! signal through [`crate::decide`] (the risk chain and the order it approves,
//! the very function the engine calls), and every order into the sim
//! broker's book ([`SimState`]), which fills it with its documented model:
//! a market order at the open of the next bar, `slippage_ticks` against it,
//! plus commission. All of it is the engine core `noise run` drives
//! ([`EngineCore`]): the same decisions, the same ledger of fills, the same
//! risk state and scheduled resets; this module is only its shell over the
//! simulator's book. What is skipped is persistence: nothing is written
//! per bar, the results are stored once at the end by the caller.
//!
//! Rules a trader can check: a fill's time is the open time of the bar it
//! filled in; an order placed on the last bar never fills; a position open
//! when the data ends is reported open, marked to the last close (no
//! fictitious closing trade); a strategy sees a bar only once it has closed
//! and trades at the next open at the earliest (no look-ahead).

mod gaps;
mod spec;
mod sweep;
mod walk;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use noise_broker::FillReport;
use noise_broker::sim::{SimConfig, SimState};
use noise_core::config::NoiseConfig;
use noise_core::instrument::{BrokerKind, Instrument};
use noise_core::ledger::RoundTrip;
use noise_core::market::Bar;
use noise_core::metrics::{self, PerformanceMetrics, TradeOutcome};
use noise_core::num::decimal_to_f64;
use noise_core::risk::{AccountSnapshot, RiskState};
use noise_core::signal::{Direction, SignalError, SymbolPipeline};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::core::{AccountSource, CoreOptions, Effect, EngineCore};
use crate::decide::RiskMode;

pub use gaps::{Gap, find_gaps};
pub use spec::{StrategySpec, SweepAxis, apply_params, checked_grid, grid};
pub use sweep::{Params, SweepOutcome, SweepRow, sweep};
pub use walk::{PEERS_SEED, random_walk};

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0}")]
    Strategy(String),
    #[error("the data has no bars")]
    NoBars,
    #[error("signal pipeline: {0}")]
    Signal(#[from] SignalError),
    #[error("schedule: {0}")]
    Schedule(String),
}

/// One symbol's bars (1-minute, in time order) and its instrument.
#[derive(Debug, Clone)]
pub struct Series {
    pub instrument: Instrument,
    pub bars: Vec<Bar>,
}

/// How a backtest trades.
#[derive(Debug, Clone)]
pub struct BacktestOptions {
    /// One registered strategy instead of the weighted pipeline.
    pub strategy: Option<String>,
    pub risk: RiskMode,
    /// Short signals only close longs; they never open a short.
    pub long_only: bool,
    /// Starting cash, slippage and commission.
    pub sim: SimConfig,
    /// Annual risk-free rate for Sharpe and Sortino.
    pub risk_free_rate: f64,
}

/// A position still open when the data ended: one open lot, marked to the last close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenPosition {
    pub symbol: String,
    pub side: Direction,
    #[serde(rename = "qty")]
    pub quantity: Decimal,
    pub entry_time: DateTime<Utc>,
    pub entry_price: Decimal,
    pub mark_price: Decimal,
    /// At the mark, net of the entry's fees.
    pub unrealized_pnl: Decimal,
}

/// What a backtest found.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    pub bars: u64,
    pub signals: u64,
    pub orders: u64,
    /// Signals the risk manager blocked (or long-only skipped).
    pub not_traded: u64,
    /// Why, counted by reason (`long_only` for shorts skipped by that rule).
    pub not_traded_by: BTreeMap<&'static str, u64>,
    pub starting_equity: Decimal,
    pub final_equity: Decimal,
    pub metrics: PerformanceMetrics,
    /// The ledger's round trips, in the order they closed.
    pub trades: Vec<RoundTrip>,
    pub open_positions: Vec<OpenPosition>,
    /// The equity as a step curve, unrounded: at the first bar's open, at
    /// each bar's close where it changed, and at the last bar's close. (The
    /// metrics see every bar's close.)
    pub equity_curve: Vec<(DateTime<Utc>, Decimal)>,
}

/// Per symbol: where it is in its bars, and its index in the core.
struct SymbolRun<'a> {
    series: &'a Series,
    next: usize,
    index: usize,
}

/// Bars between progress reports.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// The simulator's book as the core's account.
struct BookAccount<'a> {
    book: &'a SimState,
    instruments: &'a BTreeMap<String, Instrument>,
    /// Unrounded: to the cent only when the core asks (with the risk checks on).
    equity: Decimal,
}

impl AccountSource for BookAccount<'_> {
    fn equity(&self) -> Decimal {
        self.equity.round_dp(2)
    }
    fn cash(&self) -> Decimal {
        self.book.cash
    }
    fn snapshot(&self) -> AccountSnapshot {
        crate::decide::account_snapshot(&self.book.account(self.instruments))
    }
}

/// Runs the backtest. `progress` hears the number of bars done every
/// [`PROGRESS_EVERY`] bars.
pub fn run(
    series: &[Series],
    config: &NoiseConfig,
    options: &BacktestOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<BacktestReport, BacktestError> {
    let first = series.iter().filter_map(|s| s.bars.first()).map(|b| b.time).min();
    let Some(first) = first else { return Err(BacktestError::NoBars) };
    // In symbol order: a minute's bars (and so its fills) reach the core as
    // `noise run --replay` hands them over.
    let mut ordered: Vec<&Series> = series.iter().collect();
    ordered.sort_by(|a, b| a.instrument.symbol.cmp(&b.instrument.symbol));
    let lean = matches!(options.risk, RiskMode::Off { .. });
    let mut symbols = Vec::with_capacity(ordered.len());
    for s in &ordered {
        let pipeline = match &options.strategy {
            Some(name) => {
                SymbolPipeline::single(s.instrument.clone(), name, &config.signals, &config.indicators, lean)?
            }
            None => SymbolPipeline::new(s.instrument.clone(), &config.signals, &config.indicators)?,
        };
        symbols.push((s.instrument.clone(), pipeline, BrokerKind::Sim));
    }
    let cash = options.sim.starting_cash;
    let core_options = CoreOptions { risk: options.risk, long_only: options.long_only, records: false };
    let mut core =
        EngineCore::new(config, symbols, core_options, RiskState::new(cash)).map_err(BacktestError::Schedule)?;
    core.start(first - TimeDelta::seconds(1));
    let mut runs: Vec<SymbolRun> = ordered
        .iter()
        .map(|s| SymbolRun { series: s, next: 0, index: core.symbol_index(&s.instrument.symbol).unwrap_or_default() })
        .collect();
    let instruments: BTreeMap<String, Instrument> =
        series.iter().map(|s| (s.instrument.symbol.clone(), s.instrument.clone())).collect();

    let mut book = SimState::for_backtest(cash);
    core.observe_account(&BookAccount { book: &book, instruments: &instruments, equity: cash });
    let total: usize = series.iter().map(|s| s.bars.len()).sum();
    // Room for a point per bar: reserved, not touched (pages are mapped as the curve grows),
    // so a curve that changes on most bars is never copied to a larger buffer.
    let mut curve = Vec::with_capacity(total + 2);
    curve.push((first, cash));
    let mut stats = metrics::CurveStats::new(periods_per_year(series), options.risk_free_rate);
    stats.push((first, decimal_to_f64(cash)));
    // The equity last converted for the statistics (most bars leave it unchanged).
    let mut last_equity = (cash, decimal_to_f64(cash));
    let mut last_close = first;
    let mut done = 0u64;
    let mut trades = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    // The batch being performed (swapped with `effects`, so both keep their capacity).
    let mut batch: Vec<Effect> = Vec::new();

    while let Some(time) = runs.iter().filter_map(|r| r.series.bars.get(r.next)).map(|b| b.time).min() {
        let now = noise_core::market::one_minute_after(time);
        core.begin_minute(time, &mut effects);
        for run in runs.iter_mut() {
            let Some(bar) = run.series.bars.get(run.next).filter(|b| b.time == time) else { continue };
            run.next += 1;
            let instrument = &run.series.instrument;
            let fills = book.on_bar_closed_at(instrument, bar, now, &options.sim);
            if !book.changed.is_empty() || !fills.is_empty() {
                hear_broker(&mut book, fills, &mut core, now, &mut effects);
            }
            core.on_bar(run.index, bar, now, &mut effects)?;
            done += 1;
            if done % PROGRESS_EVERY == 0 {
                progress(done);
            }
        }
        let equity = book.equity();
        if equity != last_equity.0 {
            last_equity = (equity, decimal_to_f64(equity));
            curve.push((now, equity));
        }
        stats.push((now, last_equity.1));
        last_close = now;
        let account = BookAccount { book: &book, instruments: &instruments, equity };
        core.close_minute(now, &account, &mut effects);
        if !effects.is_empty() {
            perform(&mut effects, &mut batch, &mut book, &mut core, &instruments, now, &mut trades);
        }
    }
    progress(done);

    let open_positions = open_positions(&core, &runs);
    let final_equity = last_equity.0;
    if curve.last().is_some_and(|p| p.0 < last_close) {
        curve.push((last_close, final_equity));
    }
    let metrics = performance(stats, &trades, &open_positions, last_close);
    let decided = core.stats().clone();
    Ok(BacktestReport {
        bars: done,
        signals: decided.signals,
        orders: decided.orders,
        not_traded: decided.not_traded,
        not_traded_by: decided.not_traded_by,
        starting_equity: cash,
        final_equity: final_equity.round_dp(2).normalize(),
        metrics,
        trades,
        open_positions,
        equity_curve: curve,
    })
}

/// The broker's news of a bar in the order a live engine hears it: order
/// states, then fills. (Out of line: most bars have none, and the loop over
/// bars stays small.)
#[inline(never)]
fn hear_broker(
    book: &mut SimState,
    fills: Vec<FillReport>,
    core: &mut EngineCore,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    // Taken and given back (emptied), so the list keeps its capacity.
    let mut changed = std::mem::take(&mut book.changed);
    for id in changed.drain(..) {
        match book.orders.get(&id) {
            // An order without a bracket is read in place (no legs to attach),
            // and once final and heard, forgotten.
            Some(o) if o.stop_loss.is_none() && o.take_profit.is_none() => {
                core.on_order_state(&o.state, effects);
                book.forget_heard(&id);
            }
            Some(_) => {
                if let Some(state) = book.order(&id) {
                    core.on_order_state(&state, effects);
                }
            }
            None => {}
        }
    }
    book.changed = changed;
    for fill in fills {
        core.on_fill(fill, now, effects);
    }
}

/// What the backtest's shell does with the core's effects: orders go into
/// the simulator's book (its answers back to the core), round trips into
/// the trade list; nothing is stored per bar.
#[inline(never)]
fn perform(
    effects: &mut Vec<Effect>,
    batch: &mut Vec<Effect>,
    book: &mut SimState,
    core: &mut EngineCore,
    instruments: &BTreeMap<String, Instrument>,
    now: DateTime<Utc>,
    trades: &mut Vec<RoundTrip>,
) {
    while !effects.is_empty() {
        std::mem::swap(effects, batch);
        for effect in batch.drain(..) {
            match effect {
                Effect::Place { request, .. } => {
                    let Some(instrument) = instruments.get(request.symbol()) else { continue };
                    let state = book.accept_in_place(&request, instrument, now);
                    core.on_order_placed(state, effects);
                }
                Effect::Cancel { client_order_id } => {
                    if let Some(state) = book.cancel(&client_order_id) {
                        core.on_order_state(&state, effects);
                    }
                }
                Effect::Filled { round_trips, .. } => trades.extend(round_trips),
                _ => {}
            }
        }
    }
    // The core heard these answers already.
    book.changed.clear();
}

/// The lots still open, one row each, marked to their symbol's last close.
fn open_positions(core: &EngineCore, runs: &[SymbolRun]) -> Vec<OpenPosition> {
    let mut open = Vec::new();
    for (symbol, book) in core.ledger().open_positions() {
        let Some(run) = runs.iter().find(|r| r.series.instrument.symbol == symbol) else { continue };
        let Some(mark) = run.series.bars.last().map(|b| b.close) else { continue };
        let point_value = run.series.instrument.point_value;
        open.extend(book.lots().map(|lot| OpenPosition {
            symbol: symbol.to_string(),
            side: lot.direction,
            quantity: lot.quantity,
            entry_time: lot.time,
            entry_price: lot.price,
            mark_price: mark,
            unrealized_pnl: lot.unrealized_pnl(mark, point_value).normalize(),
        }));
    }
    open
}

/// At most about `max_points` of `curve` for a chart: per bucket its lowest
/// and highest point in time order (so peaks and troughs, and with them the
/// drawdowns, survive), plus the first and last points.
pub fn downsample(curve: &[(DateTime<Utc>, Decimal)], max_points: usize) -> Vec<(DateTime<Utc>, Decimal)> {
    if curve.len() <= max_points.max(4) {
        return curve.to_vec();
    }
    let bucket = curve.len().div_ceil(max_points.max(4) / 2);
    let mut out = Vec::with_capacity(max_points + 2);
    out.push(curve[0]);
    for chunk in curve[1..curve.len() - 1].chunks(bucket) {
        let low = chunk.iter().min_by_key(|p| p.1).copied();
        let high = chunk.iter().max_by_key(|p| p.1).copied();
        if let (Some(low), Some(high)) = (low, high) {
            let (a, b) = if low.0 <= high.0 { (low, high) } else { (high, low) };
            out.push(a);
            if b.0 != a.0 {
                out.push(b);
            }
        }
    }
    out.push(curve[curve.len() - 1]);
    out
}

/// The metrics of a run from its curve statistics, its trades and the
/// positions still open at `end`.
fn performance(
    stats: metrics::CurveStats,
    trades: &[RoundTrip],
    open: &[OpenPosition],
    end: DateTime<Utc>,
) -> PerformanceMetrics {
    let outcomes: Vec<TradeOutcome> = trades
        .iter()
        .map(|t| TradeOutcome { entry: t.entry_time, exit: t.exit_time, pnl: decimal_to_f64(t.net_pnl) })
        .collect();
    let held_to_end: Vec<(DateTime<Utc>, DateTime<Utc>)> = open.iter().map(|p| (p.entry_time, end)).collect();
    stats.finish(&outcomes, &held_to_end)
}

/// Periods per year for annualising: as many as the data has bars (distinct
/// bar times) per year of its span, so 24-hour data and session-only data
/// are both annualised by what they are. Under four weeks of data the span
/// would over-weight its own nights and weekends, so a session year of
/// minutes (252 × 390) is used instead.
fn periods_per_year(series: &[Series]) -> f64 {
    let first = series.iter().filter_map(|s| s.bars.first()).map(|b| b.time).min();
    let last = series.iter().filter_map(|s| s.bars.last()).map(|b| b.time).max();
    let span = match (first, last) {
        (Some(a), Some(b)) => b + TimeDelta::minutes(1) - a,
        _ => TimeDelta::zero(),
    };
    if span < TimeDelta::days(28) {
        return metrics::periods_per_year(noise_core::market::Timeframe::M1, noise_core::calendar::Venue::UsEquities);
    }
    let distinct = if series.len() == 1 {
        series[0].bars.len()
    } else {
        let mut times: Vec<DateTime<Utc>> = series.iter().flat_map(|s| s.bars.iter().map(|b| b.time)).collect();
        times.sort_unstable();
        times.dedup();
        times.len()
    };
    distinct as f64 / (span.num_seconds() as f64 / (365.25 * 86_400.0))
}

#[cfg(test)]
mod tests;
