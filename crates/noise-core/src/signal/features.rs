//! Everything strategies look at for one bar, computed incrementally.

use std::collections::VecDeque;

use crate::indicators::{Indicator, IndicatorError, IndicatorParams, IndicatorSet, IndicatorSnapshot, Sma};
use crate::market::Candle;

use super::config::SignalConfig;
use super::strategy::Inputs;

/// One bar's features: the bar, every indicator now and one bar ago, and
/// the recent extremes the breakout strategy needs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    pub candle: Candle,
    pub ind: IndicatorSnapshot,
    pub prev: IndicatorSnapshot,
    /// Highest high / lowest low of the `breakout.lookback` bars before this one.
    pub prior_high: Option<f64>,
    pub prior_low: Option<f64>,
    /// ATR `breakout.lookback` bars ago.
    pub atr_before: Option<f64>,
    pub sma_fast: Option<f64>,
    pub sma_slow: Option<f64>,
    pub prev_sma_fast: Option<f64>,
    pub prev_sma_slow: Option<f64>,
}

/// The rolling maximum of the last `len` values pushed, O(1) amortized
/// (a monotonic deque of candidates).
#[derive(Debug, Clone)]
struct RollingMax {
    len: usize,
    pushed: u64,
    candidates: VecDeque<(u64, f64)>,
}

impl RollingMax {
    fn new(len: usize) -> Self {
        Self { len, pushed: 0, candidates: VecDeque::with_capacity(len + 1) }
    }

    /// The maximum of the last `len` values, once that many were pushed.
    fn max(&self) -> Option<f64> {
        (self.pushed >= self.len as u64).then(|| self.candidates.front().map(|c| c.1)).flatten()
    }

    fn push(&mut self, x: f64) {
        while self.candidates.back().is_some_and(|&(_, v)| v <= x) {
            self.candidates.pop_back();
        }
        self.candidates.push_back((self.pushed, x));
        self.pushed += 1;
        let oldest_kept = self.pushed.saturating_sub(self.len as u64);
        while self.candidates.front().is_some_and(|&(i, _)| i < oldest_kept) {
            self.candidates.pop_front();
        }
    }
}

/// Builds [`Features`] bar by bar for one symbol and timeframe.
#[derive(Debug, Clone)]
pub struct FeatureBuilder {
    set: IndicatorSet,
    prev: IndicatorSnapshot,
    highs: RollingMax,
    /// Lows are kept negated so one rolling maximum serves both.
    negated_lows: RollingMax,
    atr_history: VecDeque<f64>,
    lookback: usize,
    sma_fast: Sma,
    sma_slow: Sma,
    prev_fast: Option<f64>,
    prev_slow: Option<f64>,
    inputs: Inputs,
    /// The latest features, updated in place (they are a few hundred bytes:
    /// rebuilding and moving them every bar costs more than the SMAs).
    latest: Features,
}

impl FeatureBuilder {
    pub fn new(params: &IndicatorParams, config: &SignalConfig) -> Result<Self, IndicatorError> {
        Self::with_inputs(params, config, Inputs::All)
    }

    /// A builder that computes only `inputs` (the rest stays `None`).
    pub fn with_inputs(
        params: &IndicatorParams,
        config: &SignalConfig,
        inputs: Inputs,
    ) -> Result<Self, IndicatorError> {
        let lookback = config.breakout.lookback.max(1);
        Ok(Self {
            set: IndicatorSet::new(params)?,
            prev: IndicatorSnapshot::default(),
            highs: RollingMax::new(lookback),
            negated_lows: RollingMax::new(lookback),
            atr_history: VecDeque::with_capacity(lookback + 1),
            lookback,
            sma_fast: Sma::new(config.sma_cross.fast)?,
            sma_slow: Sma::new(config.sma_cross.slow)?,
            prev_fast: None,
            prev_slow: None,
            inputs,
            latest: Features::default(),
        })
    }

    /// Consumes the next completed bar.
    #[inline]
    pub fn update(&mut self, candle: &Candle) -> &Features {
        if self.inputs == Inputs::SmaPair {
            return self.update_sma_pair(candle);
        }
        self.update_all(candle)
    }

    /// Every feature (the weighted pipeline's case).
    fn update_all(&mut self, candle: &Candle) -> &Features {
        let ind = self.set.update(candle);
        let prior_high = self.highs.max();
        let prior_low = self.negated_lows.max().map(|v| -v);
        self.highs.push(candle.high);
        self.negated_lows.push(-candle.low);
        let atr_before = if self.atr_history.len() == self.lookback { self.atr_history.front().copied() } else { None };
        if let Some(atr) = ind.atr {
            if self.atr_history.len() == self.lookback {
                self.atr_history.pop_front();
            }
            self.atr_history.push_back(atr);
        }
        let sma_fast = self.sma_fast.update(candle.close);
        let sma_slow = self.sma_slow.update(candle.close);
        self.latest = Features {
            candle: *candle,
            ind,
            prev: self.prev,
            prior_high,
            prior_low,
            atr_before,
            sma_fast,
            sma_slow,
            prev_sma_fast: self.prev_fast,
            prev_sma_slow: self.prev_slow,
        };
        self.prev = ind;
        self.prev_fast = sma_fast;
        self.prev_slow = sma_slow;
        &self.latest
    }

    /// Only the two SMAs: what [`Inputs::SmaPair`] strategies read.
    #[inline]
    fn update_sma_pair(&mut self, candle: &Candle) -> &Features {
        let sma_fast = self.sma_fast.update(candle.close);
        let sma_slow = self.sma_slow.update(candle.close);
        let f = &mut self.latest;
        f.candle = *candle;
        (f.sma_fast, f.sma_slow) = (sma_fast, sma_slow);
        (f.prev_sma_fast, f.prev_sma_slow) = (self.prev_fast, self.prev_slow);
        self.prev_fast = sma_fast;
        self.prev_slow = sma_slow;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rolling_max_equals_a_scan(xs in proptest::collection::vec(-100i32..100, 0..200), len in 1usize..12) {
            let mut r = RollingMax::new(len);
            for (i, &x) in xs.iter().enumerate() {
                let want = (i >= len).then(|| xs[i - len..i].iter().copied().max().unwrap() as f64);
                prop_assert_eq!(r.max(), want);
                r.push(x as f64);
            }
        }
    }
}
