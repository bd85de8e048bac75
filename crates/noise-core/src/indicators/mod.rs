//! Streaming technical indicators, equal to TA-Lib's defaults.
//!
//! Every indicator is an incremental state machine: [`Indicator::update`]
//! takes one input in O(1) (O(window) for the Bollinger σ and the ATR
//! percentile: bounded by their period, never by history) and returns `None`
//! during its warm-up, then
//! a value. [`Indicator::lookback`] is TA-Lib's lookback: the number of
//! inputs consumed before the first value, so the first value appears at
//! index `lookback()`, exactly where TA-Lib's first non-NaN value is.
//! Operations are performed in TA-Lib's order so results agree to the last
//! few bits (the golden tests hold them to 1e-9 relative).
//!
//! The batch helpers, [`batch`] (one `Option` per input) and [`series`]
//! (dense, TA-Lib's layout, for indicators that never skip once warm), run
//! the streaming state machines, so the two paths cannot disagree.

use crate::market::{Candle, CandleColumns};

mod adx;
mod atr;
mod atr_percentile;
mod bbands;
mod ema;
mod macd;
mod obv;
mod ring;
mod rsi;
mod set;
mod sma;
mod volume_ratio;

pub use adx::{Adx, DirectionalIndex, Dmi};
pub use atr::{Atr, TrueRange};
pub use atr_percentile::AtrPercentile;
pub use bbands::{Bands, BollingerBands};
pub use ema::Ema;
pub use macd::{Macd, MacdValue};
pub use obv::Obv;
pub use rsi::Rsi;
pub use set::{IndicatorParams, IndicatorSet, IndicatorSnapshot};
pub use sma::Sma;
pub use volume_ratio::VolumeRatio;

/// An incremental indicator over inputs of type `In` (`f64` prices or `&Candle`).
pub trait Indicator<In> {
    type Output: Copy;

    /// Consumes the next input; `None` while warming up.
    fn update(&mut self, input: In) -> Option<Self::Output>;

    /// Inputs consumed before the first output (TA-Lib's lookback).
    fn lookback(&self) -> usize;
}

// The batch helpers write into capacity reserved up front: with `Vec::push`
// in the loop, its (cold) grow call makes LLVM spill the indicator's `f64`
// state to the stack around it on every bar, which costs 2-3x on the cheap
// indicators; and pre-filling with defaults costs a full extra pass.

/// Runs `f` over `inputs`, writing each result into `out`'s spare capacity.
fn fill<In, T>(out: &mut Vec<T>, inputs: impl ExactSizeIterator<Item = In>, mut f: impl FnMut(In) -> T) {
    out.reserve(inputs.len());
    let spare = out.spare_capacity_mut();
    let mut written = 0;
    for (slot, input) in spare.iter_mut().zip(inputs) {
        slot.write(f(input));
        written += 1;
    }
    let len = out.len() + written;
    // SAFETY: the `written` slots after the old length were initialised just above.
    unsafe { out.set_len(len) }
}

/// Runs `indicator` over `inputs`, one output slot per input.
pub fn batch<In, I: Indicator<In>>(
    mut indicator: I,
    inputs: impl IntoIterator<Item = In, IntoIter: ExactSizeIterator>,
) -> Vec<Option<I::Output>> {
    let mut out = Vec::new();
    fill(&mut out, inputs.into_iter(), |input| indicator.update(input));
    out
}

/// The batch result of an indicator that, once warm, yields a value for
/// every input: TA-Lib's layout, dense from the first value on.
#[derive(Debug, Clone, PartialEq)]
pub struct Series<T> {
    /// Index of the input that produced `values[0]` (the warm-up length).
    pub start: usize,
    pub values: Vec<T>,
}

impl<T> Series<T> {
    /// The value for input `index`; `None` during the warm-up.
    pub fn get(&self, index: usize) -> Option<&T> {
        index.checked_sub(self.start).and_then(|i| self.values.get(i))
    }
}

/// Marks indicators that return a value for every input once warm, so
/// their batch output can be stored densely ([`series`]).
pub trait Continuous {}

/// Runs a [`Continuous`] indicator over `inputs` (the fast batch path).
pub fn series<In, I>(
    mut indicator: I,
    inputs: impl IntoIterator<Item = In, IntoIter: ExactSizeIterator>,
) -> Series<I::Output>
where
    I: Indicator<In> + Continuous,
{
    let mut inputs = inputs.into_iter();
    let mut start = 0;
    let first = loop {
        match inputs.next() {
            None => return Series { start, values: Vec::new() },
            Some(input) => match indicator.update(input) {
                Some(value) => break value,
                None => start += 1,
            },
        }
    };
    let mut values = Vec::with_capacity(inputs.len() + 1);
    values.push(first);
    fill(&mut values, inputs, |input| {
        indicator.update(input).unwrap_or_else(|| unreachable!("Continuous indicators never skip once warm"))
    });
    Series { start, values }
}

/// [`series`] for a bar indicator over columnar bars: reads only the
/// columns the indicator uses (as TA-Lib's separate arrays do), which at a
/// million bars saves most of the memory traffic of 40-byte candles.
pub fn series_of_columns<I, O>(indicator: I, columns: &CandleColumns) -> Series<O>
where
    I: for<'a> Indicator<&'a Candle, Output = O> + Continuous,
{
    let mut indicator = indicator;
    let mut start = 0;
    let n = columns.len();
    let candle = |i: usize| Candle {
        open: columns.open[i],
        high: columns.high[i],
        low: columns.low[i],
        close: columns.close[i],
        volume: columns.volume[i],
    };
    let mut i = 0;
    let first = loop {
        if i == n {
            return Series { start, values: Vec::new() };
        }
        let value = indicator.update(&candle(i));
        i += 1;
        match value {
            Some(value) => break value,
            None => start += 1,
        }
    };
    let mut values = Vec::with_capacity(n - i + 1);
    values.push(first);
    fill(&mut values, i..n, |j| {
        indicator.update(&candle(j)).unwrap_or_else(|| unreachable!("Continuous indicators never skip once warm"))
    });
    Series { start, values }
}

/// Wilder's smoothing `(avg * (n - 1) + x) / n`, written as
/// `avg * ((n - 1) / n) + x * (1 / n)` so the loop-carried chain is one
/// fused multiply-add instead of a division: TA-Lib's speed at the same
/// values (to ~1e-15 relative; the golden tests hold 1e-9).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wilder {
    keep: f64,
    take: f64,
}

impl Wilder {
    pub fn new(period: usize) -> Self {
        let n = period as f64;
        Self { keep: (n - 1.0) / n, take: 1.0 / n }
    }

    /// The smoothed average after `x`.
    #[inline]
    pub fn average(self, avg: f64, x: f64) -> f64 {
        avg.mul_add(self.keep, x * self.take)
    }

    /// Wilder's running *sum* form, `sum - sum / n + x`.
    #[inline]
    pub fn sum(self, sum: f64, x: f64) -> f64 {
        sum.mul_add(self.keep, x)
    }
}

/// A parameter an indicator cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndicatorError {
    #[error("{indicator} period {period} is below the minimum {min}")]
    PeriodTooSmall { indicator: &'static str, period: usize, min: usize },
    #[error("{indicator} {what} must be a positive finite number, got {value}")]
    NotPositive { indicator: &'static str, what: &'static str, value: f64 },
}

pub(crate) fn check_period(indicator: &'static str, period: usize, min: usize) -> Result<usize, IndicatorError> {
    if period < min {
        return Err(IndicatorError::PeriodTooSmall { indicator, period, min });
    }
    Ok(period)
}

/// TA-Lib's `TA_EPSILON` since 0.6 (the PyPI package bundles TA-Lib 0.8):
/// its zero tests treat |v| < 1e-14 as zero. (TA-Lib 0.4 used 1e-8.)
pub(crate) const TA_EPSILON: f64 = 1e-14;

/// TA-Lib's `TA_IS_ZERO`.
#[inline]
pub(crate) fn ta_is_zero(v: f64) -> bool {
    -TA_EPSILON < v && v < TA_EPSILON
}

/// TA-Lib's `PER_TO_K`: the EMA smoothing factor for a period.
#[inline]
pub(crate) fn per_to_k(period: usize) -> f64 {
    2.0 / ((period + 1) as f64)
}
