use crate::market::Candle;

use super::atr::Atr;
use super::ring::Ring;
use super::{Indicator, IndicatorError, check_period};

/// Where the current ATR ranks among the last `lookback` ATR values
/// (current included), as a mid-rank percentile in [0, 100]:
/// `100 * (below + equal / 2) / lookback`. Mid-rank makes a constant ATR sit
/// at 50 (normal), not at an extreme. Cost per bar is O(lookback), bounded
/// and independent of history length.
#[derive(Debug, Clone)]
pub struct AtrPercentile {
    atr: Atr,
    window: Ring,
}

impl AtrPercentile {
    pub fn new(atr_period: usize, lookback: usize) -> Result<Self, IndicatorError> {
        let lookback = check_period("ATR percentile lookback", lookback, 2)?;
        Ok(Self { atr: Atr::new(atr_period)?, window: Ring::new(lookback) })
    }
}

impl Indicator<&Candle> for AtrPercentile {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        let atr = self.atr.update(c)?;
        self.window.push(atr);
        if !self.window.is_full() {
            return None;
        }
        let (mut below, mut equal) = (0u32, 0u32);
        for &v in self.window.as_slice() {
            below += u32::from(v < atr);
            equal += u32::from(v == atr);
        }
        Some(100.0 * (f64::from(below) + f64::from(equal) / 2.0) / self.window.len() as f64)
    }

    fn lookback(&self) -> usize {
        self.atr.lookback() + self.window.capacity() - 1
    }
}

impl super::Continuous for AtrPercentile {}
