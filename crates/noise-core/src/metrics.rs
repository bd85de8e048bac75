//! Performance metrics of an equity curve and its closed trades.
//!
//! Definitions (all documented here so a number can be checked by hand):
//! - **total return** = last equity / first equity − 1.
//! - **CAGR** = (last / first)^(1 / years) − 1, years = elapsed time / 365.25 days.
//! - per-period returns rᵢ = eᵢ / eᵢ₋₁ − 1 between consecutive equity points;
//!   the risk-free rate per period is (1 + rf)^(1 / periods_per_year) − 1.
//! - **Sharpe** = mean(rᵢ − rf) / stdev(rᵢ) × √periods_per_year, with the
//!   sample standard deviation (n − 1); undefined when it is 0.
//! - **Sortino** = mean(rᵢ − rf) / downside deviation × √periods_per_year, the
//!   downside deviation being √(mean over all periods of min(0, rᵢ − rf)²).
//! - **max drawdown** = the largest (peak − equity) / peak; its **duration** is
//!   the longest time from the last point at a peak before the equity fell
//!   below it to the first point back at or above it (or to the end, when it
//!   never recovers). Time between points at the peak is not under water.
//! - **win rate** = winning trades / trades (a zero P&L is not a win);
//!   **profit factor** = gross profit / gross loss (undefined without losses);
//!   **expectancy** = mean P&L per trade; **average trade duration** = mean of
//!   exit − entry; **exposure** = the share of the curve's time with at least
//!   one position open (overlapping trades counted once).
//!
//! `periods_per_year` comes from the bar frequency: [`periods_per_year`].

use crate::num::decimal_to_f64;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::calendar::Venue;
use crate::market::Timeframe;

/// A closed trade as the metrics need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeOutcome {
    pub entry: DateTime<Utc>,
    pub exit: DateTime<Utc>,
    pub pnl: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerformanceMetrics {
    pub total_return: f64,
    pub cagr: Option<f64>,
    pub sharpe: Option<f64>,
    pub sortino: Option<f64>,
    pub max_drawdown: f64,
    /// Seconds.
    pub max_drawdown_duration: i64,
    pub trades: usize,
    pub win_rate: Option<f64>,
    pub profit_factor: Option<f64>,
    pub expectancy: Option<f64>,
    /// Seconds.
    pub average_trade_duration: Option<i64>,
    /// Share of the time with a position open, in [0, 1].
    pub exposure: f64,
}

/// Running totals of closed trades in exact money: what the live account's
/// summary shows. Add trades as they close; nothing is ever re-read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TradeTally {
    pub trades: u64,
    pub wins: u64,
    pub losses: u64,
    /// Net of fees.
    pub realized_pnl: Decimal,
    pub gross_profit: Decimal,
    /// Positive: the sum of the losing trades' losses.
    pub gross_loss: Decimal,
    pub fees: Decimal,
}

impl TradeTally {
    /// One closed trade: its realized P&L (after fees) and its fees.
    pub fn add(&mut self, pnl: Decimal, fees: Decimal) {
        self.trades += 1;
        self.realized_pnl += pnl;
        self.fees += fees;
        if pnl > Decimal::ZERO {
            self.wins += 1;
            self.gross_profit += pnl;
        } else if pnl < Decimal::ZERO {
            self.losses += 1;
            self.gross_loss -= pnl;
        }
    }

    /// Winners over all trades (a break-even trade is neither a win nor a loss but counts).
    pub fn win_rate(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.wins as f64 / self.trades as f64)
    }

    /// Gross profit over gross loss; undefined without a losing trade.
    pub fn profit_factor(&self) -> Option<f64> {
        (self.gross_loss > Decimal::ZERO).then(|| decimal_to_f64(self.gross_profit / self.gross_loss))
    }
}

/// The deepest fall from a running peak, fed point by point (exact money).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeakToTrough {
    peak: Option<Decimal>,
    deepest_pct: f64,
}

impl PeakToTrough {
    pub fn push(&mut self, equity: Decimal) {
        let peak = *self.peak.get_or_insert(equity);
        if equity > peak {
            self.peak = Some(equity);
        } else if peak > Decimal::ZERO {
            let fall = decimal_to_f64((peak - equity) / peak * Decimal::ONE_HUNDRED);
            self.deepest_pct = self.deepest_pct.max(fall);
        }
    }

    /// The deepest drawdown so far in % (none before the first point).
    pub fn deepest_pct(&self) -> Option<f64> {
        self.peak.map(|_| self.deepest_pct)
    }
}

/// Bars per year for annualising: 252 trading days of the venue's session
/// length (390 minutes for US equities, 1,380 for CME Globex), per bar.
pub fn periods_per_year(timeframe: Timeframe, venue: Venue) -> f64 {
    let minutes_per_day = match venue {
        Venue::UsEquities => 390.0,
        Venue::CmeGlobex => 1380.0,
    };
    let per_day = match timeframe {
        Timeframe::D1 => 1.0,
        tf => minutes_per_day / (tf.seconds() as f64 / 60.0),
    };
    252.0 * per_day
}

/// Computes every metric. `equity` is in time order; `risk_free` is annual.
pub fn compute(
    equity: &[(DateTime<Utc>, f64)],
    trades: &[TradeOutcome],
    periods_per_year: f64,
    risk_free: f64,
) -> PerformanceMetrics {
    compute_with_open(equity, trades, &[], periods_per_year, risk_free)
}

/// [`compute`] with positions still open at the end: their time in the
/// market (from, to) counts towards exposure; they are not trades.
pub fn compute_with_open(
    equity: &[(DateTime<Utc>, f64)],
    trades: &[TradeOutcome],
    open: &[(DateTime<Utc>, DateTime<Utc>)],
    periods_per_year: f64,
    risk_free: f64,
) -> PerformanceMetrics {
    let mut stats = CurveStats::new(periods_per_year, risk_free);
    for &point in equity {
        stats.push(point);
    }
    stats.finish(trades, open)
}

/// The curve's statistics, fed one point per period as the curve is made
/// (a backtest's million bars need no second pass and no copy): Welford's
/// running mean and variance of the per-period returns, the downside sum,
/// the drawdown, the first and last points.
#[derive(Debug, Clone)]
pub struct CurveStats {
    periods_per_year: f64,
    /// The risk-free rate per period.
    rf: f64,
    first: Option<(DateTime<Utc>, f64)>,
    last: (DateTime<Utc>, f64),
    n: f64,
    /// The returns are summed shifted by the first one (`shift`), which
    /// keeps the variance exact for a constant series and free of
    /// cancellation, with no division per point.
    shift: Option<f64>,
    sum: f64,
    sum_squares: f64,
    downside_squares: f64,
    /// Zero returns not yet folded in (a flat stretch costs nothing per point).
    zeros: f64,
    drawdown: Drawdown,
}

impl CurveStats {
    pub fn new(periods_per_year: f64, risk_free: f64) -> Self {
        Self {
            periods_per_year,
            rf: (1.0 + risk_free).powf(1.0 / periods_per_year) - 1.0,
            first: None,
            last: (DateTime::UNIX_EPOCH, 0.0),
            n: 0.0,
            shift: None,
            sum: 0.0,
            sum_squares: 0.0,
            downside_squares: 0.0,
            zeros: 0.0,
            drawdown: Drawdown::new((DateTime::UNIX_EPOCH, 0.0)),
        }
    }

    /// The next point. Its return rᵢ = eᵢ / eᵢ₋₁ − 1 counts unless the
    /// previous equity was at or below zero.
    #[inline(always)]
    pub fn push(&mut self, point: (DateTime<Utc>, f64)) {
        if self.first.is_none() {
            self.first = Some(point);
            self.drawdown = Drawdown::new(point);
        } else if self.last.1 > 0.0 {
            if point.1 == self.last.1 {
                // A zero return: counted now, folded in with the next change.
                self.zeros += 1.0;
                self.last.0 = point.0;
                self.drawdown.push(point);
                return;
            }
            self.fold_zeros();
            self.add_return(point.1 / self.last.1 - 1.0);
        }
        self.last = point;
        self.drawdown.push(point);
    }

    #[inline(always)]
    fn add_return(&mut self, r: f64) {
        let d = r - *self.shift.get_or_insert(r);
        self.n += 1.0;
        self.sum += d;
        self.sum_squares += d * d;
        self.downside_squares += (r - self.rf).min(0.0).powi(2);
    }

    /// Folds in the pending zero returns at once.
    fn fold_zeros(&mut self) {
        let k = self.zeros;
        if k == 0.0 {
            return;
        }
        let d = -*self.shift.get_or_insert(0.0);
        self.n += k;
        self.sum += k * d;
        self.sum_squares += k * d * d;
        self.downside_squares += k * (-self.rf).min(0.0).powi(2);
        self.zeros = 0.0;
    }

    /// Mean and sample variance of the returns.
    fn moments(&self) -> (f64, f64) {
        let n = self.n;
        if n == 0.0 {
            return (0.0, 0.0);
        }
        let mean_shifted = self.sum / n;
        let variance = if n > 1.0 { ((self.sum_squares - self.sum * mean_shifted) / (n - 1.0)).max(0.0) } else { 0.0 };
        (self.shift.unwrap_or(0.0) + mean_shifted, variance)
    }

    /// Every metric, with the closed trades and the positions still open.
    pub fn finish(mut self, trades: &[TradeOutcome], open: &[(DateTime<Utc>, DateTime<Utc>)]) -> PerformanceMetrics {
        self.fold_zeros();
        // An empty curve has a single "point" at zero: every ratio comes out undefined.
        let first = self.first.unwrap_or((DateTime::UNIX_EPOCH, 0.0));
        let last = self.last;
        let total_return = if first.1 > 0.0 { last.1 / first.1 - 1.0 } else { 0.0 };
        let years = (last.0 - first.0).num_seconds() as f64 / (365.25 * 86_400.0);
        let cagr = (years > 0.0 && first.1 > 0.0 && last.1 > 0.0).then(|| (last.1 / first.1).powf(1.0 / years) - 1.0);
        let (n, annual) = (self.n, self.periods_per_year.sqrt());
        let (raw_mean, variance) = self.moments();
        let mean = raw_mean - self.rf; // the mean excess return
        let sharpe = (n > 1.0).then(|| variance.sqrt()).filter(|sd| *sd > 0.0).map(|sd| mean / sd * annual);
        let downside = (n > 0.0).then(|| (self.downside_squares / n).sqrt());
        let sortino = downside.filter(|d| *d > 0.0).map(|d| mean / d * annual);
        let (max_drawdown, max_drawdown_duration) = self.drawdown.finish(last);

        let wins: Vec<f64> = trades.iter().map(|t| t.pnl).filter(|p| *p > 0.0).collect();
        let losses: Vec<f64> = trades.iter().map(|t| t.pnl).filter(|p| *p < 0.0).collect();
        let count = trades.len();
        let gross_loss: f64 = -losses.iter().sum::<f64>();
        PerformanceMetrics {
            total_return,
            cagr,
            sharpe,
            sortino,
            max_drawdown,
            max_drawdown_duration,
            trades: count,
            win_rate: (count > 0).then(|| wins.len() as f64 / count as f64),
            profit_factor: (gross_loss > 0.0).then(|| wins.iter().sum::<f64>() / gross_loss),
            expectancy: (count > 0).then(|| trades.iter().map(|t| t.pnl).sum::<f64>() / count as f64),
            average_trade_duration: (count > 0)
                .then(|| trades.iter().map(|t| (t.exit - t.entry).num_seconds()).sum::<i64>() / count as i64),
            exposure: exposure(trades.iter().map(|t| (t.entry, t.exit)).chain(open.iter().copied()), first.0, last.0),
        }
    }
}

/// The deepest drawdown and the longest time (seconds) under a previous
/// peak, point by point.
#[derive(Debug, Clone)]
struct Drawdown {
    peak: f64,
    peak_time: i64,
    deepest: f64,
    longest: i64,
    /// The last equity measured under the current peak.
    last_under: f64,
    /// 1 / peak: a multiplication per point instead of a division.
    inverse_peak: f64,
    /// Whether the curve has been below the peak since it was set.
    under: bool,
}

impl Drawdown {
    fn new(first: (DateTime<Utc>, f64)) -> Self {
        Self {
            peak: first.1,
            inverse_peak: 1.0 / first.1,
            peak_time: first.0.timestamp(),
            deepest: 0.0,
            longest: 0,
            last_under: f64::NAN,
            under: false,
        }
    }

    #[inline(always)]
    fn push(&mut self, (t, e): (DateTime<Utc>, f64)) {
        if e >= self.peak {
            let t = t.timestamp();
            // Only time spent below the peak counts: a gap between two points
            // at the peak (a night, a weekend) is not a drawdown.
            if self.under {
                self.longest = self.longest.max(t - self.peak_time);
                self.under = false;
            }
            self.peak = e;
            self.inverse_peak = 1.0 / e;
            self.peak_time = t;
            self.last_under = f64::NAN;
        } else if self.peak > 0.0 && e != self.last_under {
            self.under = true;
            self.deepest = self.deepest.max((self.peak - e) * self.inverse_peak);
            self.last_under = e; // the same equity under the same peak measures the same
        }
    }

    /// A curve that ends under water has been under since its last peak.
    fn finish(self, (end, e): (DateTime<Utc>, f64)) -> (f64, i64) {
        let longest = if e < self.peak { self.longest.max(end.timestamp() - self.peak_time) } else { self.longest };
        (self.deepest, longest)
    }
}

/// Share of [start, end] covered by at least one open trade.
fn exposure(
    held: impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> f64 {
    let total = (end - start).num_seconds();
    if total <= 0 {
        return 0.0;
    }
    type Span = (DateTime<Utc>, DateTime<Utc>);
    let mut spans: Vec<Span> = held.map(|(a, b)| (a.max(start), b.min(end))).filter(|(a, b)| a < b).collect();
    spans.sort();
    let (mut covered, mut current): (i64, Option<Span>) = (0, None);
    for (a, b) in spans {
        current = match current {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                covered += (cb - ca).num_seconds();
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((a, b)) = current {
        covered += (b - a).num_seconds();
    }
    covered as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn day(d: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(d)
    }

    #[test]
    fn tally_counts_exact_money() {
        use rust_decimal_macros::dec;
        let mut tally = TradeTally::default();
        for (pnl, fees) in [(dec!(100.10), dec!(1.24)), (dec!(-40.05), dec!(1.24)), (dec!(0), dec!(0.62))] {
            tally.add(pnl, fees);
        }
        assert_eq!((tally.trades, tally.wins, tally.losses), (3, 1, 1));
        assert_eq!(tally.realized_pnl, dec!(60.05));
        assert_eq!(tally.fees, dec!(3.10));
        assert_eq!(tally.win_rate(), Some(1.0 / 3.0));
        assert!((tally.profit_factor().unwrap() - 100.10 / 40.05).abs() < 1e-12);
        assert_eq!(TradeTally::default().profit_factor(), None);
    }

    #[test]
    fn peak_to_trough_measures_from_the_running_peak() {
        use rust_decimal_macros::dec;
        let mut dd = PeakToTrough::default();
        assert_eq!(dd.deepest_pct(), None);
        for e in [dec!(100), dec!(90), dec!(120), dec!(108), dec!(130)] {
            dd.push(e);
        }
        assert_eq!(dd.deepest_pct(), Some(10.0));
    }

    #[test]
    fn hand_computed_curve() {
        // 100 → 110 → 99 → 121: returns +10 %, −10 %, +22.2…%.
        let equity = [(day(0), 100.0), (day(1), 110.0), (day(2), 99.0), (day(3), 121.0)];
        let m = compute(&equity, &[], 252.0, 0.0);
        assert!((m.total_return - 0.21).abs() < 1e-12);
        let r = [0.1, -0.1, 121.0 / 99.0 - 1.0];
        let mean = r.iter().sum::<f64>() / 3.0;
        let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((m.sharpe.unwrap() - mean / sd * 252f64.sqrt()).abs() < 1e-12);
        let downside = (0.01f64 / 3.0).sqrt(); // only −10 % counts: √(0.01 / 3)
        assert!((m.sortino.unwrap() - mean / downside * 252f64.sqrt()).abs() < 1e-12);
        // Peak 110 on day 1, down to 99 (−10 %), back above on day 3: two days under water.
        assert!((m.max_drawdown - 0.1).abs() < 1e-12);
        assert_eq!(m.max_drawdown_duration, 2 * 86_400);
        // Three days of a year: (1.21)^(365.25 / 3) − 1.
        assert!((m.cagr.unwrap() - (1.21f64.powf(365.25 / 3.0) - 1.0)).abs() < 1e-9);
    }

    #[test]
    fn time_at_the_peak_is_not_under_water() {
        // New highs on Friday and Monday with a weekend between, never below: no drawdown, no duration.
        let equity = [(day(0), 100.0), (day(3), 101.0), (day(4), 101.0), (day(5), 102.0)];
        let m = compute(&equity, &[], 252.0, 0.0);
        assert_eq!((m.max_drawdown, m.max_drawdown_duration), (0.0, 0));
        // At the peak from day 0 to day 3, under on day 4, back on day 6: under water from day 3.
        let equity = [(day(0), 100.0), (day(3), 100.0), (day(4), 95.0), (day(6), 100.0)];
        assert_eq!(compute(&equity, &[], 252.0, 0.0).max_drawdown_duration, 3 * 86_400);
    }

    #[test]
    fn risk_free_rate_lowers_sharpe() {
        let equity = [(day(0), 100.0), (day(1), 101.0), (day(2), 101.5), (day(3), 103.0)];
        let free = compute(&equity, &[], 252.0, 0.0).sharpe.unwrap();
        let with_rf = compute(&equity, &[], 252.0, 0.05).sharpe.unwrap();
        assert!(with_rf < free);
    }

    #[test]
    fn hand_computed_trades() {
        let t = |entry: i64, exit: i64, pnl: f64| TradeOutcome { entry: day(entry), exit: day(exit), pnl };
        let trades = [t(0, 2, 300.0), t(1, 3, -100.0), t(5, 6, -100.0), t(8, 10, 0.0)];
        let equity = [(day(0), 1000.0), (day(10), 1100.0)];
        let m = compute(&equity, &trades, 252.0, 0.0);
        assert_eq!(m.trades, 4);
        assert_eq!(m.win_rate, Some(0.25));
        assert_eq!(m.profit_factor, Some(1.5)); // 300 / 200
        assert_eq!(m.expectancy, Some(25.0)); // 100 / 4
        assert_eq!(m.average_trade_duration, Some((2 + 2 + 1 + 2) * 86_400 / 4));
        // Open days: [0, 3] (the first two overlap), [5, 6], [8, 10]: 6 of 10.
        assert!((m.exposure - 0.6).abs() < 1e-12);
        // A position open from day 4 to the end covers [4, 5] and [6, 8] more: 9 of 10.
        let m = compute_with_open(&equity, &trades, &[(day(4), day(10))], 252.0, 0.0);
        assert!((m.exposure - 0.9).abs() < 1e-12);
        assert_eq!(m.trades, 4);
    }

    #[test]
    fn degenerate_inputs_give_no_numbers_not_nan() {
        let m = compute(&[], &[], 252.0, 0.0);
        assert_eq!((m.sharpe, m.sortino, m.cagr, m.win_rate, m.profit_factor), (None, None, None, None, None));
        let flat = [(day(0), 100.0), (day(1), 100.0), (day(2), 100.0)];
        let m = compute(&flat, &[], 252.0, 0.0);
        assert_eq!((m.sharpe, m.sortino, m.max_drawdown), (None, None, 0.0));
    }

    #[test]
    fn annualisation_follows_the_bar_frequency() {
        assert_eq!(periods_per_year(Timeframe::M1, Venue::UsEquities), 252.0 * 390.0);
        assert_eq!(periods_per_year(Timeframe::M5, Venue::CmeGlobex), 252.0 * 276.0);
        assert_eq!(periods_per_year(Timeframe::D1, Venue::UsEquities), 252.0);
    }
}
