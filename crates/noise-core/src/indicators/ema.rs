use super::{Indicator, IndicatorError, check_period, per_to_k};

/// Exponential moving average (TA-Lib `EMA`, default compatibility): seeded
/// with the SMA of the first `period` inputs, first value at `period - 1`,
/// then `ema += (x - ema) * 2 / (period + 1)`.
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    seen: usize,
    /// The seed sum while warming up, then the current average.
    value: f64,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("EMA", period, 1)?;
        Ok(Self { period, k: per_to_k(period), seen: 0, value: 0.0 })
    }

    /// The EMA step, shared with MACD: TA-Lib's `((x - prev) * k) + prev`,
    /// which its compiler fuses into one multiply-add as we do. MACD
    /// subtracts two EMAs of nearly equal size, so the operation order
    /// matters: a one-ulp difference in either shows near its zero crossings.
    #[inline]
    pub(crate) fn step(previous: f64, x: f64, k: f64) -> f64 {
        (x - previous).mul_add(k, previous)
    }
}

impl Indicator<f64> for Ema {
    type Output = f64;

    #[inline]
    fn update(&mut self, x: f64) -> Option<f64> {
        if self.seen >= self.period {
            self.value = Self::step(self.value, x, self.k);
            return Some(self.value);
        }
        self.seen += 1;
        self.value += x;
        if self.seen < self.period {
            return None;
        }
        self.value /= self.period as f64;
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

impl super::Continuous for Ema {}
