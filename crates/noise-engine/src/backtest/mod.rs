//! Backtests on the live code path.
//!
//! Historical bars drive what `noise run` runs, on a virtual clock: each
//! bar at its close goes through the symbol's [`SymbolPipeline`], every
//! signal through [`decide`] (the risk chain and the order it approves,
//! the very function the engine calls), and every order into the sim
//! broker's book ([`SimState`]), which fills it with its documented model:
//! a market order at the open of the next bar, `slippage_ticks` against it,
//! plus commission. What is skipped is only persistence: nothing is written
//! per bar, the results are stored once at the end by the caller.
//!
//! Rules a trader can check: a fill's time is the open time of the bar it
//! filled in; an order placed on the last bar never fills; a position open
//! when the data ends is reported open, marked to the last close (no
//! fictitious closing trade); a strategy sees a bar only once it has closed
//! and trades at the next open at the earliest (no look-ahead).

mod gaps;
mod ledger;
mod spec;
mod sweep;
mod walk;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use noise_broker::sim::{SimConfig, SimState};
use noise_core::config::NoiseConfig;
use noise_core::instrument::Instrument;
use noise_core::market::Bar;
use noise_core::metrics::{self, PerformanceMetrics, TradeOutcome};
use noise_core::num::decimal_to_f64;
use noise_core::order::OrderStatus;
use noise_core::risk::{AccountSnapshot, ClosedTrade, PositionSnapshot, RiskState, Side, Verdict};
use noise_core::schedule::{Job, Schedule};
use noise_core::signal::{Direction, Evaluation, Signal, SignalError, SymbolPipeline};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::decide::{RiskMode, decide, reserve};

pub use gaps::{Gap, find_gaps};
pub use ledger::{Fill, OpenPosition, OpenTrade, TradeRecord, apply_fill};
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
    pub trades: Vec<TradeRecord>,
    pub open_positions: Vec<OpenPosition>,
    /// The equity as a step curve, unrounded: at the first bar's open, at
    /// each bar's close where it changed, and at the last bar's close. (The
    /// metrics see every bar's close.)
    pub equity_curve: Vec<(DateTime<Utc>, Decimal)>,
}

/// Per symbol: where it is in its bars, its pipeline and its open trade.
struct SymbolRun<'a> {
    series: &'a Series,
    next: usize,
    pipeline: SymbolPipeline,
    open: OpenTrade,
}

/// Bars between progress reports.
pub const PROGRESS_EVERY: u64 = 1 << 16;

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
    let lean = matches!(options.risk, RiskMode::Off { .. });
    let mut runs = series
        .iter()
        .map(|s| {
            let pipeline = match &options.strategy {
                Some(name) => {
                    SymbolPipeline::single(s.instrument.clone(), name, &config.signals, &config.indicators, lean)?
                }
                None => SymbolPipeline::new(s.instrument.clone(), &config.signals, &config.indicators)?,
            };
            Ok(SymbolRun { series: s, next: 0, pipeline, open: OpenTrade::default() })
        })
        .collect::<Result<Vec<_>, BacktestError>>()?;
    let instruments: BTreeMap<String, Instrument> =
        series.iter().map(|s| (s.instrument.symbol.clone(), s.instrument.clone())).collect();

    let cash = options.sim.starting_cash;
    let mut book = SimState::for_backtest(cash);
    let mut risk = RiskState::new(cash);
    let checked = options.risk == RiskMode::Checked;
    let total: usize = series.iter().map(|s| s.bars.len()).sum();
    let mut curve = Vec::with_capacity(total / 2 + 2);
    curve.push((first, cash));
    let mut stats = metrics::CurveStats::new(periods_per_year(series), options.risk_free_rate);
    stats.push((first, decimal_to_f64(cash)));
    // The equity last converted for the statistics (most bars leave it unchanged).
    let mut last_equity = (cash, decimal_to_f64(cash));
    let mut last_close = first;
    let (mut done, mut signals, mut orders, mut not_traded) = (0u64, 0u64, 0u64, 0u64);
    let mut not_traded_by: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut trades = Vec::new();
    let mut pending: Vec<(usize, Signal)> = Vec::new();
    let mut resets = Resets::new(config, first)?;
    // Entry orders sent and not yet filled, with their symbol's last close (risk on only).
    let mut pending_entries: BTreeMap<String, Decimal> = BTreeMap::new();
    // The equity last marked on the risk state: unchanged equity cannot trip a breaker.
    let mut marked: Option<Decimal> = None;

    while let Some(time) = runs.iter().filter_map(|r| r.series.bars.get(r.next)).map(|b| b.time).min() {
        let now = noise_core::market::one_minute_after(time);
        if checked && resets.due(time) {
            resets.fire(&mut risk, book.equity().round_dp(2), time);
            marked = None; // the references moved: mark again
        }
        for (index, run) in runs.iter_mut().enumerate() {
            let Some(bar) = run.series.bars.get(run.next).filter(|b| b.time == time) else { continue };
            run.next += 1;
            let instrument = &run.series.instrument;
            for id in book.on_bar_closed_at(instrument, bar, now, &options.sim) {
                if !pending_entries.is_empty() {
                    pending_entries.remove(&id);
                }
                let Some(fill) = filled(&book, &id, bar.time) else { continue };
                let closed = apply_fill(&mut run.open, fill, instrument);
                // The risk state hears one close per fill, as the live engine's
                // position sync reports it (the lots are the trade list's detail).
                if checked && let Some(first) = closed.first() {
                    let trade = ClosedTrade {
                        symbol: first.symbol.clone(),
                        asset_class: instrument.asset_class,
                        opened_at: closed.iter().map(|t| t.entry_time).min().unwrap_or(first.entry_time),
                        closed_at: first.exit_time,
                        pnl: closed.iter().map(|t| t.pnl).sum(),
                    };
                    risk.update_on_close(&trade, now, &config.risk);
                }
                trades.extend(closed);
            }
            // Matched in place, not through `?`: the result is large and most
            // bars have none, so only its tag should be read.
            match run.pipeline.on_bar(bar, now) {
                Ok(None) | Ok(Some(Evaluation::Rejected(_))) => {}
                Ok(Some(Evaluation::Signal(signal))) => pending.push((index, signal)),
                Err(error) => return Err(error.into()),
            }
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
        if checked && marked != Some(equity) {
            risk.mark_equity(equity.round_dp(2), now, &config.risk);
            marked = Some(equity);
        }
        if pending.is_empty() {
            continue;
        }
        signals += pending.len() as u64;
        let (mut account, mut positions) = snapshots(&book, &instruments, checked, &pending_entries);
        for (index, signal) in pending.drain(..) {
            let run = &runs[index];
            let holds_long = run.open.is_long();
            if options.long_only && signal.direction == Direction::Short && !holds_long {
                not_traded += 1;
                *not_traded_by.entry("long_only").or_default() += 1;
                continue;
            }
            let instrument = &run.series.instrument;
            let (decision, order) =
                decide(&signal, instrument, &account, &positions, &risk, &config.risk, options.risk, now);
            match order {
                Some(order) => {
                    book.accept(&order, instrument, now);
                    orders += 1;
                    if checked && order.intent() == noise_core::risk::Intent::Entry {
                        // The signal's entry is its bar's close, on the tick grid.
                        pending_entries.insert(order.client_order_id().to_string(), signal.entry);
                    }
                    if let (true, Some(approval)) = (checked, decision.approval()) {
                        reserve(approval, instrument, &mut account, &mut positions);
                    }
                }
                None => {
                    not_traded += 1;
                    if let Verdict::Block { reason } = &decision.verdict {
                        *not_traded_by.entry(reason.code()).or_default() += 1;
                    }
                }
            }
        }
    }
    progress(done);

    let open_positions: Vec<OpenPosition> = runs
        .iter()
        .filter_map(|r| Some(r.open.marked(&r.series.instrument, r.series.bars.last()?.close)))
        .flatten()
        .collect();
    let final_equity = last_equity.0;
    if curve.last().is_some_and(|p| p.0 < last_close) {
        curve.push((last_close, final_equity));
    }
    let metrics = performance(stats, &trades, &open_positions, last_close);
    Ok(BacktestReport {
        bars: done,
        signals,
        orders,
        not_traded,
        not_traded_by,
        starting_equity: cash,
        final_equity: final_equity.round_dp(2).normalize(),
        metrics,
        trades,
        open_positions,
        equity_curve: curve,
    })
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

/// The fill of a just-filled order, at the open time of its bar.
fn filled(book: &SimState, id: &str, bar_time: DateTime<Utc>) -> Option<Fill> {
    let state = &book.orders.get(id)?.state;
    if state.status != OrderStatus::Filled {
        return None;
    }
    Some(Fill {
        side: state.side,
        quantity: state.filled_quantity,
        price: state.average_fill_price?,
        fees: state.fees,
        time: bar_time,
    })
}

/// The daily and weekly breaker resets of `[schedule]` on the virtual
/// clock: a job whose time has come fires at the first bar at or after it,
/// as `noise run`'s scheduler fires it at that minute.
struct Resets {
    schedule: Schedule,
    next_daily: Option<DateTime<Utc>>,
    next_weekly: Option<DateTime<Utc>>,
}

impl Resets {
    fn new(config: &NoiseConfig, start: DateTime<Utc>) -> Result<Self, BacktestError> {
        let schedule = Schedule::new(&config.schedule).map_err(BacktestError::Schedule)?;
        let before = start - TimeDelta::seconds(1);
        Ok(Self {
            next_daily: schedule.next(Job::DailyReset, before),
            next_weekly: schedule.next(Job::WeeklyReset, before),
            schedule,
        })
    }

    #[inline]
    fn due(&self, time: DateTime<Utc>) -> bool {
        self.next_daily.is_some_and(|t| t <= time) || self.next_weekly.is_some_and(|t| t <= time)
    }

    /// Runs the jobs that are due (once each, however many firings a gap in
    /// the data skipped) and schedules their next firings.
    fn fire(&mut self, risk: &mut RiskState, equity: Decimal, time: DateTime<Utc>) {
        if let Some(at) = self.next_weekly.filter(|t| *t <= time) {
            risk.weekly_reset(equity, at);
            self.next_weekly = self.schedule.next(Job::WeeklyReset, time);
        }
        if let Some(at) = self.next_daily.filter(|t| *t <= time) {
            risk.daily_reset(equity, at);
            self.next_daily = self.schedule.next(Job::DailyReset, time);
        }
    }
}

/// The account and positions as the risk chain sees them, with orders not
/// yet filled counted as positions (exposure the chain must not miss).
/// Without the checks only the positions matter (an exit closes them).
fn snapshots(
    book: &SimState,
    instruments: &BTreeMap<String, Instrument>,
    checked: bool,
    pending_entries: &BTreeMap<String, Decimal>,
) -> (AccountSnapshot, Vec<PositionSnapshot>) {
    let snapshot = if checked {
        crate::decide::account_snapshot(&book.account(instruments))
    } else {
        let zero = Decimal::ZERO;
        AccountSnapshot {
            equity: zero,
            cash: zero,
            buying_power: zero,
            available_margin: zero,
            margin_account: true,
            broker_day_trades: None,
        }
    };
    let mut positions: Vec<PositionSnapshot> = book
        .positions
        .iter()
        .filter_map(|(symbol, p)| {
            Some(PositionSnapshot::new(instruments.get(symbol)?, p.quantity, p.average_price, p.last_price))
        })
        .collect();
    // Entry orders not filled yet (a symbol whose next bar has not come),
    // priced at the symbol's last close, as the live engine counts them.
    for (id, last_close) in pending_entries {
        let Some(order) = book.orders.get(id).filter(|o| o.state.status == OrderStatus::Submitted) else { continue };
        let Some(instrument) = instruments.get(&order.state.symbol) else { continue };
        let signed = if order.state.side == Side::Buy { order.state.quantity } else { -order.state.quantity };
        positions.push(PositionSnapshot::new(instrument, signed, *last_close, *last_close));
    }
    (snapshot, positions)
}

/// The metrics of a run from its curve statistics, its trades and the
/// positions still open at `end`.
fn performance(
    stats: metrics::CurveStats,
    trades: &[TradeRecord],
    open: &[OpenPosition],
    end: DateTime<Utc>,
) -> PerformanceMetrics {
    let outcomes: Vec<TradeOutcome> = trades
        .iter()
        .map(|t| TradeOutcome { entry: t.entry_time, exit: t.exit_time, pnl: decimal_to_f64(t.pnl) })
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
