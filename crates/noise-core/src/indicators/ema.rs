use super::{Indicator, IndicatorError, check_period, per_to_k};

/// Exponential moving average (TA-Lib `EMA`, default compatibility): seeded
/// with the SMA of the first `period` inputs, first value at `period - 1`,
/// then `ema += (x - ema) * 2 / (period + 1)`, computed as
/// `ema * (1 - k) + x * k`: one fused multiply-add on the loop-carried chain
/// where TA-Lib's form has a subtraction before it (equal to a few ulps; the
/// golden tests hold 1e-9).
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    keep: f64,
    seen: usize,
    /// The seed sum while warming up, then the current average.
    value: f64,
}

impl Ema {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("EMA", period, 1)?;
        let k = per_to_k(period);
        Ok(Self { period, k, keep: 1.0 - k, seen: 0, value: 0.0 })
    }

    /// TA-Lib's EMA step `((x - prev) * k) + prev` (its compiler fuses it into
    /// one multiply-add, as here), for MACD's fast and slow lines: MACD
    /// subtracts two EMAs of nearly equal size, so the operation order
    /// matters there (a one-ulp difference shows near its zero crossings).
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
            self.value = self.value.mul_add(self.keep, x * self.k);
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
